"""The one registry of players: every name makes a ``Player`` that plays legal moves and leaves the board
alone; unknown or incomplete requests are refused; the network players search with their own settings.
(``auto`` and the shipped networks: test_registry_defaults.py.)"""

from __future__ import annotations

import pytest

from tenuki.agents.go.networks.alphago import AlphaGoPolicyNet
from tenuki.agents.go.networks.checkpoint import save_checkpoint
from tenuki.agents.go.networks.resnet import AlphaZeroNet
from tenuki.envs.go.board import Board
from tenuki.play import registry
from tenuki.search.flat_mc import FlatMonteCarloPlayer
from tenuki.search.mcts import uniform_evaluator
from tenuki.search.player import Player
from tenuki.search.settings import MCTSConfig, SearchConfigError


@pytest.fixture
def weights(tmp_path, monkeypatch) -> dict[str, str]:
    """Tiny 5x5 networks by player name, and no shipped ones (the real nets stay unloaded)."""
    az = save_checkpoint(tmp_path / "az5", AlphaZeroNet(5, blocks=1, channels=8), step=0, config={})
    sl = save_checkpoint(tmp_path / "sl5", AlphaGoPolicyNet(5, filters=8, layers=2), step=0, config={})
    for table in ("SHIPPED_WEIGHTS", "SHIPPED_POLICY", "SHIPPED_VALUE", "SHIPPED_ROLLOUT"):
        monkeypatch.setattr(registry, table, {})
    return {"auto": str(az), "az-mcts": str(az), "policy": str(az), "alphago": str(sl)}


def _seen(board: Board) -> tuple:
    return board.hash, board.moves, board.to_play, board.stones().tolist()


@pytest.mark.parametrize("name", registry.PLAYER_NAMES)
def test_every_registered_player_is_a_player_and_plays_legal_moves(name, weights):
    player = registry.make(name, 5, weights=weights.get(name), visits=16, seed=1)
    assert isinstance(player, Player)
    board = Board(5)
    for vertex in ("C3", "B2"):
        board.play(vertex)
    for _ in range(3):
        seen = _seen(board)
        move = player.genmove(board)
        assert _seen(board) == seen  # genmove reads the board, never changes it (the GTP engine lends its own)
        assert not move.resigned and board.is_legal(move.action)
        board.play(move.action)
        player.notify_played(move.action)


def test_a_bot_without_the_protocols_hooks_is_not_a_player():
    # FlatMonteCarloPlayer answers a bare action and has no notify_played: the registry wraps it.
    assert not isinstance(FlatMonteCarloPlayer(), Player)
    assert isinstance(registry.build("flat-mc"), Player)


@pytest.mark.parametrize("name", ["mcts", "az-mcts", "alphago", "policy"])
def test_every_player_returns_a_legal_move(name):
    board = Board(7)
    board.play("D4")
    player = registry.build(name, evaluator=uniform_evaluator(7), size=7, visits=64)
    move = player.genmove(board)
    assert not move.resigned
    assert board.is_legal(move.action)
    assert move.analysis and move.analysis[0]["visits"] >= 1


def test_unknown_or_incomplete_players_are_refused():
    with pytest.raises(SearchConfigError):
        registry.build("gnugo")
    with pytest.raises(SearchConfigError):
        registry.build("az-mcts")
    with pytest.raises(SearchConfigError):
        registry.build("mcts", visits=0)
    with pytest.raises(SearchConfigError, match="unknown"):
        registry.make("gnugo", 9)


@pytest.mark.parametrize("name", ["random", "flat-mc", "mcts"])
def test_weights_for_a_player_without_a_network_are_refused(name, weights):
    with pytest.raises(SearchConfigError, match=f"--weights goes with a network player .*'{name}' uses no network"):
        registry.make(name, 5, weights=weights["az-mcts"])
    with pytest.raises(SearchConfigError, match="--value-weights goes with --player alphago"):
        registry.make(name, 5, value_weights=weights["alphago"])


def test_a_missing_weights_file_is_named_as_given(tmp_path):
    missing = tmp_path / "nonexist.safetensors"
    with pytest.raises(ValueError, match=f"checkpoint {missing} does not exist"):
        registry.make("az-mcts", 5, weights=str(missing))


def test_the_default_komi_follows_the_networks_training_komi():
    assert registry.default_komi(9) == 7.0 and registry.default_komi(19) == 7.5
    assert all(registry.default_komi(n) == (7.0 if n <= 9 else 7.5) for n in range(2, 20))


def test_network_players_search_with_their_own_settings():
    for size in (7, 19):  # the same settings on every board
        az = registry.build("az-mcts", uniform_evaluator(size), size=size, visits=96)
        alphago = registry.build("alphago", uniform_evaluator(size), size=size, visits=96)
        assert (az.name, alphago.name) == ("az-mcts", "alphago")
        assert az.searcher.config == MCTSConfig(num_simulations=96)  # AlphaZero's settings
        assert alphago.searcher.config == MCTSConfig(num_simulations=96, c_init=5.0, c_base=0.0, mix_lambda=0.5,
                                                     expand_threshold=1)  # AlphaGo's APV-MCTS
    custom = registry.build("alphago", uniform_evaluator(7), size=7, expand_threshold=3)
    assert custom.searcher.config == MCTSConfig(c_init=5.0, c_base=0.0, mix_lambda=0.5, expand_threshold=3)


def test_player_factory_takes_what_it_loaded_out_of_the_collectors_sight():
    """A full cyclic collection walks every tracked object (~0.15 s with torch and a network loaded): after
    the factory's first player, what was loaded is frozen (gc.freeze), so no collection pauses a move."""
    import gc

    from tenuki.play.registry import player_factory

    gc.unfreeze()
    try:
        factory = player_factory("mcts", visits=8)
        assert gc.get_freeze_count() == 0
        factory(5)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_alphago_mixes_half_and_half_only_with_a_value_network(weights, tmp_path):
    """AlphaGo's lambda = 0.5 needs a value net: without one the net's v is 0 and lambda 0.5 would halve the
    rollouts' values (an effective c_puct of 10); rollouts alone are lambda 1, and --mix-lambda chooses."""
    from tenuki.agents.go.networks.alphago import AlphaGoValueNet

    value = save_checkpoint(tmp_path / "v5", AlphaGoValueNet(5, filters=8, layers=2), step=0, config={})
    assert (registry.alphago_lambda(None, True), registry.alphago_lambda(None, False)) == (0.5, 1.0)
    alone = registry.make("alphago", size=5, weights=weights["alphago"], visits=8)
    assert alone.searcher.config.mix_lambda == 1.0
    mixed = registry.make("alphago", size=5, weights=weights["alphago"], value_weights=str(value), visits=8)
    assert mixed.searcher.config.mix_lambda == 0.5
    value_only = registry.make("alphago", size=5, weights=weights["alphago"], value_weights=str(value),
                               mix_lambda=0.0, visits=8)
    assert value_only.searcher.config.mix_lambda == 0.0
    with pytest.raises(SearchConfigError, match="needs a value network"):
        registry.make("alphago", size=5, weights=weights["alphago"], mix_lambda=0.5)
    with pytest.raises(SearchConfigError, match=r"\[0, 1\]"):
        registry.make("alphago", size=5, weights=weights["alphago"], value_weights=str(value), mix_lambda=1.5)


def test_alphago_without_a_policy_network_searches_from_equal_priors(weights, tmp_path):
    """--prior uniform (Fig. 4b's variants without p): the value net's answer with logits 0, or nothing but
    rollouts; every legal move of the root gets the same prior."""
    from tenuki.agents.go.networks.alphago import AlphaGoValueNet
    from tenuki.search.tree import EDGE_COUNT, EDGE_START, PRIOR, ROOT_INDEX

    value = save_checkpoint(tmp_path / "v5", AlphaGoValueNet(5, filters=8, layers=2), step=0, config={})
    for value_weights, mix in ((str(value), 0.0), (str(value), None), (None, None)):
        player = registry.make("alphago", size=5, prior="uniform", value_weights=value_weights, mix_lambda=mix,
                               visits=24)
        expected = {(str(value), 0.0): 0.0, (str(value), None): 0.5, (None, None): 1.0}[value_weights, mix]
        assert player.searcher.config.mix_lambda == expected
        board = Board(5, komi=0.5)
        board.play(12)
        before = _seen(board)
        move = player.genmove(board)
        assert _seen(board) == before and board.is_legal(move.action)
        tree = player.searcher.tree
        start, count = tree.nodes[ROOT_INDEX, EDGE_START], tree.nodes[ROOT_INDEX, EDGE_COUNT]
        priors = tree.stats[start:start + count, PRIOR]
        assert count == 25 and priors == pytest.approx(1.0 / count)  # 24 empty points + pass


def test_alphago_variant_options_are_refused_where_they_mean_nothing(weights):
    with pytest.raises(SearchConfigError, match="--prior 'flat' is unknown"):
        registry.make("alphago", size=5, prior="flat")
    with pytest.raises(SearchConfigError, match="go with --player alphago"):
        registry.make("az-mcts", size=5, weights=weights["az-mcts"], mix_lambda=0.0)
    with pytest.raises(SearchConfigError, match="go with --player alphago"):
        registry.make("mcts", size=5, prior="uniform")
    with pytest.raises(SearchConfigError, match="leave out --weights"):
        registry.make("alphago", size=5, weights=weights["alphago"], prior="uniform")
    with pytest.raises(SearchConfigError, match="needs a value network"):
        registry.make("alphago", size=5, prior="uniform", mix_lambda=0.0)


def test_alphago_rolls_out_with_a_learned_rollout_policy_when_given_one(weights, tmp_path):
    from tenuki.agents.go.rollout import RolloutPolicy

    RolloutPolicy.zeros().save(tmp_path / "r5")
    player = registry.make("alphago", size=5, weights=weights["alphago"], rollout_policy=str(tmp_path / "r5"),
                           visits=24)
    assert player.searcher.rollout is not None and player.searcher.config.mix_lambda == 1.0
    board = Board(5, komi=0.5)
    assert board.is_legal(player.genmove(board).action)
    assert registry.make("alphago", size=5, weights=weights["alphago"], visits=8).searcher.rollout is None
    with pytest.raises(SearchConfigError, match="--rollout-policy goes with --player alphago"):
        registry.make("mcts", size=5, rollout_policy=str(tmp_path / "r5"))
    with pytest.raises(SearchConfigError, match="--rollout-policy: .*no such sidecar"):
        registry.make("alphago", size=5, weights=weights["alphago"], rollout_policy=str(tmp_path / "missing"))
