"""Player ``auto`` and the shipped-network defaults of ``tenuki.play.registry``."""

from __future__ import annotations

import pytest

from tenuki.agents.go.networks.alphago import AlphaGoPolicyNet, AlphaGoPolicyValue, AlphaGoValueNet
from tenuki.agents.go.networks.checkpoint import save_checkpoint
from tenuki.agents.go.networks.resnet import AlphaZeroNet
from tenuki.envs.go.board import Board
from tenuki.play import registry
from tenuki.search.mcts import SearchConfigError


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "az5", AlphaZeroNet(5, blocks=1, channels=8), step=0, config={})
    monkeypatch.setattr(registry, "SHIPPED_WEIGHTS", {5: path})
    monkeypatch.setattr(registry, "AUTO_AZ_SIZES", frozenset({5}))
    monkeypatch.setattr(registry, "SHIPPED_POLICY", {})
    monkeypatch.setattr(registry, "SHIPPED_VALUE", {})
    monkeypatch.setattr(registry, "SHIPPED_ROLLOUT", {})
    return path


@pytest.fixture
def shipped_alphago(tmp_path, monkeypatch):
    policy = save_checkpoint(tmp_path / "sl7", AlphaGoPolicyNet(7, filters=8, layers=2), step=0, config={})
    value = save_checkpoint(tmp_path / "v7", AlphaGoValueNet(7, filters=8, layers=2), step=0, config={})
    monkeypatch.setattr(registry, "SHIPPED_WEIGHTS", {})
    monkeypatch.setattr(registry, "SHIPPED_POLICY", {7: policy})
    monkeypatch.setattr(registry, "SHIPPED_VALUE", {7: value})
    monkeypatch.setattr(registry, "SHIPPED_ROLLOUT", {})
    return policy, value


def test_auto_plays_alphago_with_every_shipped_network_where_it_is_the_strongest(shipped_alphago, tmp_path,
                                                                                  monkeypatch):
    """Where AUTO_ALPHAGO_SIZES says so, auto is alphago with the shipped policy, value net and rollout policy
    (p + v + r, lambda 0.5); a lambda that leaves one of them unused does not load it, `light` asks for the
    light playouts, and networks given by the user come without the shipped extras."""
    from tenuki.agents.go.rollout import RolloutPolicy

    policy, _ = shipped_alphago
    rollout = tmp_path / "r7"
    RolloutPolicy.zeros().save(rollout)
    monkeypatch.setattr(registry, "SHIPPED_ROLLOUT", {7: rollout.with_suffix(".safetensors")})
    assert registry.resolve("auto", 7) == ("policy", str(policy))
    monkeypatch.setattr(registry, "AUTO_ALPHAGO_SIZES", frozenset({7}))
    assert registry.resolve("auto", 7) == ("alphago", str(policy))
    auto = registry.make("auto", 7, visits=16)
    assert auto.name == "alphago" and isinstance(auto.searcher.evaluator.model, AlphaGoPolicyValue)
    assert auto.searcher.rollout is not None and auto.searcher.config.mix_lambda == 0.5
    assert Board(7).is_legal(auto.genmove(Board(7)).action)
    rollouts_alone = registry.make("alphago", 7, mix_lambda=1.0, visits=8)
    assert not isinstance(rollouts_alone.searcher.evaluator.model, AlphaGoPolicyValue)
    assert rollouts_alone.searcher.rollout is not None
    value_alone = registry.make("alphago", 7, mix_lambda=0.0, visits=8)
    assert isinstance(value_alone.searcher.evaluator.model, AlphaGoPolicyValue) and value_alone.searcher.rollout is None
    assert registry.make("alphago", 7, rollout_policy="light", visits=8).searcher.rollout is None
    monkeypatch.setattr(registry, "SHIPPED_ALPHAGO_VISITS", {7: 24})
    assert registry.make("auto", 7).visits == 24 and registry.make("auto", 7, visits=8).visits == 8
    own = registry.make("alphago", 7, weights=str(policy))  # the user's policy: nothing added
    assert own.searcher.rollout is None and own.searcher.config.mix_lambda == 1.0 and own.visits == 800
    factory = registry.player_factory("auto", warm_up=False, seed=3)  # what tenuki gtp and play build
    first, second = factory(7), factory(7)
    assert first.name == second.name == "alphago" and first.visits == 24 and first.searcher.rollout is not None
    assert first.searcher.evaluator is second.searcher.evaluator  # the networks loaded once per size
    assert registry.player_factory("auto", warm_up=False, visits=8)(7).visits == 8


def test_auto_is_az_mcts_with_the_shipped_network_where_there_is_one(shipped):
    assert registry.resolve("auto", 5) == ("az-mcts", str(shipped))
    assert registry.resolve("auto", 7) == ("mcts", None)
    assert registry.resolve("auto", 7, weights="x.safetensors") == ("az-mcts", "x.safetensors")
    assert registry.resolve("az-mcts", 5) == ("az-mcts", str(shipped))
    assert registry.resolve("policy", 5, weights="mine") == ("policy", "mine")
    assert registry.resolve("alphago", 5) == ("alphago", None)  # AlphaGo needs its own networks


def test_auto_players_move(shipped):
    player = registry.make("auto", 5, visits=8)
    assert player.name == "az-mcts"
    assert player.genmove(Board(5)).action >= 0
    assert registry.make("auto", 7, visits=16).name == "mcts"


def test_network_player_without_weights_on_another_size_is_a_clear_error(shipped):
    with pytest.raises(SearchConfigError, match="needs --weights.*ships one for 5x5 only"):
        registry.make("az-mcts", 7)


def test_shipped_alphago_policy_is_the_default_policy_and_alphago_player(shipped_alphago):
    policy, _ = shipped_alphago
    assert registry.resolve("auto", 7) == ("policy", str(policy))
    assert registry.resolve("policy", 7) == ("policy", str(policy))
    assert registry.resolve("alphago", 7) == ("alphago", str(policy))
    assert registry.resolve("az-mcts", 7) == ("az-mcts", None)  # an AlphaGo policy net has no value head
    assert registry.make("auto", 7).genmove(Board(7)).action >= 0
    player = registry.make("alphago", 7, visits=8)  # the shipped value net comes with the shipped policy
    assert player.name == "alphago" and isinstance(player.searcher.evaluator.model, AlphaGoPolicyValue)
    assert player.genmove(Board(7)).action >= 0
    with pytest.raises(SearchConfigError, match="az-mcts.*needs --weights.*ships one for no board size only"):
        registry.make("az-mcts", 7)


@pytest.mark.parametrize("table,architecture", [("SHIPPED_WEIGHTS", "alphazero_resnet"),
                                                ("SHIPPED_POLICY", "alphago_policy"),
                                                ("SHIPPED_VALUE", "alphago_value")])
def test_shipped_network_files_match_their_board_size_and_kind(table, architecture):
    from tenuki.agents.go.networks.checkpoint import read_checkpoint_meta

    for size, path in getattr(registry, table).items():
        assert path.exists(), f"{table}[{size}] names {path}, which is not shipped"
        meta = read_checkpoint_meta(path)
        assert meta.kwargs["board_size"] == size
        assert meta.architecture == architecture


def test_auto_keeps_mcts_where_the_shipped_az_net_does_not_beat_it(shipped, monkeypatch):
    monkeypatch.setattr(registry, "AUTO_AZ_SIZES", frozenset())
    assert registry.resolve("auto", 5) == ("mcts", None)
    assert registry.resolve("az-mcts", 5) == ("az-mcts", str(shipped))  # asked for by name: still the default net


def test_the_19x19_alphago_networks_are_shipped_and_auto_plays_them():
    # p + r: the strongest measured variant on 19x19 (docs/strength/alphago19/default-selection)
    assert registry.shipped_policy(19) is not None and registry.shipped_rollout(19) is not None
    assert registry.shipped_value(19) is None and 19 in registry.AUTO_ALPHAGO_SIZES
    assert registry.resolve("auto", 19) == ("alphago", str(registry.shipped_policy(19)))
    assert registry.SHIPPED_ALPHAGO_VISITS[19] < 800  # a default budget of about a second, not ten


def test_the_shipped_rollout_policies_load():
    from tenuki.agents.go.rollout import RolloutPolicy

    for size, path in registry.SHIPPED_ROLLOUT.items():
        assert path.exists(), f"SHIPPED_ROLLOUT[{size}] names {path}, which is not shipped"
        RolloutPolicy.load(path)


def test_the_9x9_az_net_is_shipped_and_auto_plays_it():
    # The shipped 9x9 net beats mcts at equal time (README), so auto plays az-mcts with it on 9x9.
    shipped = registry.shipped_weights(9)
    assert shipped is not None and 9 in registry.AUTO_AZ_SIZES
    assert registry.resolve("auto", 9) == ("az-mcts", str(shipped))
    assert registry.resolve("auto", 13) == ("mcts", None)


def test_tenuki_gtp_defaults_to_auto_and_follows_boardsize():
    import subprocess
    import sys
    from pathlib import Path

    from tenuki.commands.main import build_parser

    assert build_parser().parse_args(["gtp"]).player == "auto"
    script = "boardsize 9\ngenmove b\nboardsize 7\ngenmove w\nquit\n"
    done = subprocess.run([sys.executable, "-m", "tenuki", "gtp", "--visits", "16"], input=script, text=True,
                          capture_output=True, timeout=180, cwd=Path(__file__).resolve().parents[2], check=False)
    answers = [line for line in done.stdout.splitlines() if line.startswith(("=", "?"))]
    assert done.returncode == 0 and len(answers) == 5 and all(a.startswith("=") for a in answers), done.stderr
    assert answers[1] != "= " and answers[3] != "= "  # a move on 9x9 (az-mcts) and on 7x7 (mcts)


def test_the_gtp_command_plays_alphagos_variants_without_the_policy_network():
    """`tenuki gtp --player alphago --prior uniform --value-weights rl-value19 --mix-lambda 0` (Fig. 4b's value
    network alone) answers moves on 19x19 with the shipped value net; a lambda that needs a value net it does
    not have is one line on stderr and exit 2."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "tenuki", "gtp", "--player", "alphago", "--visits", "16"]
    done = subprocess.run([*command, "--prior", "uniform", "--value-weights", "rl-value19", "--mix-lambda", "0"],
                          input="genmove b\ngenmove w\nquit\n", text=True, capture_output=True, timeout=180,
                          cwd=root, check=False)
    answers = [line for line in done.stdout.splitlines() if line.startswith(("=", "?"))]
    assert done.returncode == 0 and len(answers) == 3 and answers[0] != answers[1], done.stderr
    refused = subprocess.run([*command, "--prior", "uniform", "--mix-lambda", "0.5"], input="quit\n", text=True,
                             capture_output=True, timeout=180, cwd=root, check=False)
    assert refused.returncode == 2 and refused.stderr.strip().count("\n") == 0
    assert "needs a value network" in refused.stderr
