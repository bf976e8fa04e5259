"""AlphaGo's self-play stages on the generic self-play actors (Silver et al. 2016, Methods):

- the ``STAGES`` check of tenuki.selfplay.config (a stage's game generator, architecture and loss go
  together, the az-mcts evaluator off);
- tenuki.selfplay.alphago.games without Ray: ``policy_pool`` samples checked against a replay of the
  game's SGF (planes, the chosen move, z for the current player; the pool opponent plays the
  other colour), ``value_data`` (one sample after the random move U, SL policy before it, RL
  policy after it);
- the ``reinforce`` and ``value_mse`` losses in closed form, and one SGD step that moves
  log p(a | s) the way z says;
- LearnerCore starting from ``network.init_checkpoint`` (and refusing one that does not fit);
- a tiny ``policy_pool`` run on Ray: versions go up, the opponent pool fills, games report the
  pool version they were played against.

9x9 boards, networks of 8 filters and 2 layers, games capped at 60 moves: about 30 s, most of it
the Ray run's actors starting.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tenuki.agents.go.evaluator import TorchEvaluator
from tenuki.agents.go.features import P_COLOUR, P_SENSIBLE, alphago_planes
from tenuki.agents.go.networks.alphago import AlphaGoPolicyNet, AlphaGoValueNet
from tenuki.agents.go.networks.checkpoint import CheckpointError, save_checkpoint
from tenuki.envs.go.board import Board
from tenuki.envs.go.layout import BLACK, WHITE
from tenuki.envs.go.sgf import read_sgf
from tenuki.selfplay.alphago.games import (
    policy_pool_fields,
    policy_pool_game,
    policy_pool_games,
    value_data_fields,
    value_data_game,
    value_data_games,
)
from tenuki.selfplay.config import ConfigError, config_from_dict
from tenuki.selfplay.games import (
    BATCH_GENERATORS,
    GAME_GENERATORS,
    GameContext,
    GameRecord,
    play_games,
    sample_fields,
)
from tenuki.selfplay.learner import LearnerCore
from tenuki.selfplay.losses import LOSSES, reinforce_loss, value_mse_loss
from tenuki.selfplay.replay import ReplayStore

N = 9
POINTS = N * N
PASS = POINTS
MAX_MOVES = 60
FILTERS, LAYERS = 8, 2

POLICY_STAGE = {"game_generator": "policy_pool", "architecture": "alphago_policy", "loss": "reinforce"}
VALUE_STAGE = {"game_generator": "value_data", "architecture": "alphago_value", "loss": "value_mse"}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _config(stage: dict = POLICY_STAGE, **sections):
    """A config of the stage (generator, architecture, loss), tiny networks; ``sections`` override."""
    base = {
        "run": {"seed": 5},
        "game": {"size": N, "max_moves": MAX_MOVES},
        "network": {"architecture": stage["architecture"], "filters": FILTERS, "layers": LAYERS},
        "workers": {"game_generator": stage["game_generator"]},
        "learner": {"loss": stage["loss"], "batch_size": 16},
        "evaluator": {"every_versions": 0, "gnugo_every_versions": 0},
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return config_from_dict(base)


def _policy_net(seed: int, size: int = N, filters: int = FILTERS) -> AlphaGoPolicyNet:
    torch.manual_seed(seed)
    return AlphaGoPolicyNet(size, filters=filters, layers=LAYERS)


def _ranking_net(ascending: bool) -> AlphaGoPolicyNet:
    """A policy net whose logits ignore the planes: the lowest (``ascending``) or the highest point
    first, 100 nats apart, so sampling from its softmax over the sensible points is deterministic."""
    net = _policy_net(0)
    with torch.no_grad():
        net.head.weight.zero_()
        order = torch.arange(POINTS, dtype=torch.float32)
        net.position_bias.copy_(-100.0 * (order if ascending else POINTS - 1 - order))
    return net


def _sensible_points(planes: np.ndarray) -> np.ndarray:
    return np.flatnonzero(planes[P_SENSIBLE].reshape(-1))


def _outcome(winner: int, colour: int) -> float:
    return 0.0 if winner == 0 else (1.0 if winner == colour else -1.0)


def _walk(record: GameRecord, komi: float) -> tuple[list[tuple[Board, int, int]], Board]:
    """The game replayed from its SGF: (board before the move, colour, action) for every move, and
    the final board."""
    moves = read_sgf(record.sgf).moves
    assert len(moves) == record.moves
    board = Board(N, komi=komi)
    positions = []
    for colour, action in moves:
        assert colour == board.to_play
        positions.append((board.copy(), colour, action))  # the copy keeps the history (turns-since planes)
        board.play(action)
    return positions, board


# ------------------------------------------------------------------------------- config


def test_the_stage_check_accepts_the_right_combinations():
    policy = _config(POLICY_STAGE, workers={"opponent_pool_every": 2})
    assert policy.workers.opponent_pool_every == 2
    assert sample_fields(policy) == policy_pool_fields(N)
    value = _config(VALUE_STAGE, workers={"sl_policy": "sl", "rl_policy": "rl"})
    assert sample_fields(value) == value_data_fields(N)
    assert policy_pool_fields(N)["planes"] == ((48, N, N), "bool")
    assert value_data_fields(N)["planes"] == ((49, N, N), "bool")


@pytest.mark.parametrize(("stage", "sections", "key"), [
    (POLICY_STAGE, {"network": {"architecture": "alphazero_resnet"}}, "network.architecture"),
    (POLICY_STAGE, {"network": {"architecture": "alphago_value"}}, "network.architecture"),
    (POLICY_STAGE, {"learner": {"loss": "alphazero"}}, "learner.loss"),
    (POLICY_STAGE, {"learner": {"loss": "value_mse"}}, "learner.loss"),
    (POLICY_STAGE, {"evaluator": {"every_versions": 5}}, "evaluator.every_versions"),
    (POLICY_STAGE, {"evaluator": {"gnugo_every_versions": 1}}, "evaluator.gnugo_every_versions"),
    (VALUE_STAGE, {"network": {"architecture": "alphago_policy"}}, "network.architecture"),
    (VALUE_STAGE, {"learner": {"loss": "reinforce"}}, "learner.loss"),
    (VALUE_STAGE, {"evaluator": {"every_versions": 1}}, "evaluator.every_versions"),
    # the AlphaZero stage keeps its dual-head network
    ({"game_generator": "alphazero", "architecture": "alphago_policy", "loss": "alphazero"}, {},
     "network.architecture"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_the_stage_check_rejects_a_mismatch_naming_the_key(stage, sections, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        _config(stage, **sections)


# ------------------------------------------------------------------------------- policy-pool games


def _pool_game(seed: int, opponent=None, opponent_version: int = -1, config=None) -> GameRecord:
    config = config or _config()
    context = GameContext(config, TorchEvaluator(_policy_net(1)), version=4, worker=1, keep_sgf=True,
                          opponent=opponent, opponent_version=opponent_version)
    return policy_pool_game(context, game_id=200 + seed, seed=seed)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_policy_pool_samples_match_a_replay_of_the_game(seed):
    config = _config()
    record = _pool_game(seed, config=config)
    samples = record.samples
    assert record.game_id == 200 + seed and record.version == 4 and record.worker == 1
    fields = policy_pool_fields(N)
    assert set(samples) == set(fields)
    for name, (shape, dtype) in fields.items():
        assert samples[name].shape == (record.num_samples, *shape), name
        assert samples[name].dtype == (np.bool_ if dtype == "bool" else np.dtype(dtype)), name
    me = record.extra["colour"]
    assert me in (BLACK, WHITE)
    assert record.extra["opponent_version"] == -1  # no opponent given: the current policy plays both sides

    positions, final = _walk(record, config.game.komi)
    # the samples are the current player's non-pass moves, in order: planes of the position before the move
    mine = [(board, action) for board, colour, action in positions if colour == me and action != PASS]
    assert record.num_samples == len(mine) > 0
    for i, (board, action) in enumerate(mine):
        planes = samples["planes"][i]
        np.testing.assert_array_equal(planes, alphago_planes(board).astype(bool), err_msg=f"sample {i}")
        policy = samples["policy"][i]
        assert policy.sum() == 1.0 and policy[action] == 1.0, f"sample {i}: not one-hot on move {action}"
        assert planes[P_SENSIBLE].reshape(-1)[action], f"sample {i}: move {action} is not a sensible point"
    # the game ended by two passes or at the move cap, scored by area as it stands
    assert final.is_game_over or record.moves == MAX_MOVES
    score = final.score("area")
    assert record.winner == score.winner and record.result == score.result
    assert read_sgf(record.sgf).result == record.result
    z = _outcome(record.winner, me)
    assert record.extra["z"] == z
    np.testing.assert_array_equal(samples["value"], np.full(record.num_samples, z, np.float32))


def test_policy_pool_colours_and_outcomes_vary_over_games():
    records = [_pool_game(seed) for seed in range(8)]
    assert {r.extra["colour"] for r in records} == {BLACK, WHITE}
    assert {r.extra["z"] for r in records} <= {-1.0, 0.0, 1.0}
    assert len({r.extra["z"] for r in records}) > 1  # a random policy wins some and loses some


def test_the_pool_opponent_plays_the_other_colour():
    opponent = TorchEvaluator(_ranking_net(ascending=True))  # always the lowest sensible point
    config = _config()
    for seed in range(3):
        record = _pool_game(seed, opponent=opponent, opponent_version=2, config=config)
        assert record.extra["opponent_version"] == 2
        me = record.extra["colour"]
        positions, _ = _walk(record, config.game.komi)
        theirs = mine = 0
        for board, colour, action in positions:
            sensible = _sensible_points(alphago_planes(board))
            if colour != me:
                expected = int(sensible[0]) if sensible.size else PASS
                assert action == expected, f"move {board.move_number + 1}: the opponent played {action}"
                theirs += action != PASS
            else:
                mine += action != PASS
        assert theirs > 0 and mine == record.num_samples > 0


def test_the_same_seed_plays_the_same_policy_pool_game():
    a, b, c = _pool_game(3), _pool_game(3), _pool_game(4)
    assert a.sgf == b.sgf and a.extra == b.extra
    for name in a.samples:
        np.testing.assert_array_equal(a.samples[name], b.samples[name])
    assert a.sgf != c.sgf


def test_policy_pool_samples_fit_the_replay_buffer():
    config = _config()
    record = _pool_game(5, config=config)
    context = GameContext(config, TorchEvaluator(_policy_net(1)), version=4)
    registered = GAME_GENERATORS["policy_pool"](context, 205, 5)  # the registered generator: the same game
    np.testing.assert_array_equal(registered.samples["policy"], record.samples["policy"])
    fields = sample_fields(config)
    store = ReplayStore(fields, 1000, 100, board_size=N)
    assert store.add(record.game_id, record.samples) == record.num_samples
    stored = store.gather(store.ordered_slots())
    for name in fields:
        np.testing.assert_array_equal(stored[name], record.samples[name])


# ------------------------------------------------------------------------------- value-data games


@pytest.fixture
def fixed_policies(tmp_path):
    """SL policy: the lowest sensible point; RL policy: the highest (checkpoints on disk)."""
    sl, rl = tmp_path / "sl_policy", tmp_path / "rl_policy"
    save_checkpoint(sl, _ranking_net(ascending=True))
    save_checkpoint(rl, _ranking_net(ascending=False))
    return str(sl), str(rl)


def _value_context(sl: str, rl: str = "", max_moves: int = 120, **context) -> GameContext:
    """A value-data game context (the value net itself plays no move in these games)."""
    config = _config(VALUE_STAGE, game={"max_moves": max_moves}, workers={"sl_policy": sl, "rl_policy": rl})
    return GameContext(config, TorchEvaluator(AlphaGoValueNet(N, filters=FILTERS, layers=LAYERS)), version=0,
                       **context)


def test_value_data_game_gives_one_sample_after_the_random_move(fixed_policies):
    sl, rl = fixed_policies
    state: dict = {}  # the worker's cache: the fixed policies are loaded once
    random_moves_seen = 0
    for seed in range(6):
        context = _value_context(sl, rl, keep_sgf=True, state=state)
        config = context.config
        record = value_data_game(context, game_id=seed, seed=seed)
        fields = value_data_fields(N)
        assert set(record.samples) == set(fields) and record.num_samples == 1
        assert record.samples["planes"].shape == (1, 49, N, N) and record.samples["planes"].dtype == np.bool_
        assert record.samples["value"].shape == (1,) and record.samples["value"].dtype == np.float32
        u = record.extra["u"]
        assert 1 <= u <= round(450 * POINTS / 361)
        positions, final = _walk(record, config.game.komi)
        assert final.is_game_over or record.moves == config.game.max_moves
        assert record.winner == final.score("area").winner
        # moves before U: the SL policy (lowest sensible point); after U: the RL policy (highest)
        for board, _, action in positions:
            number = board.move_number + 1
            if number == u:
                continue
            sensible = _sensible_points(alphago_planes(board))
            expected = PASS if not sensible.size else int(sensible[0] if number < u else sensible[-1])
            assert action == expected, f"seed {seed}, move {number} (U = {u}): {action}, expected {expected}"
        # the sample: the position after move U (the final one if the game ended first)
        sampled = (positions[u][0] if u < len(positions) else final).copy()
        if u <= record.moves:
            random_moves_seen += 1
            assert positions[u - 1][2] != PASS or not positions[u - 1][0].legal_mask()[:PASS].any()
        planes = record.samples["planes"][0]
        expected_planes = alphago_planes(sampled, value=True).astype(bool)
        np.testing.assert_array_equal(planes, expected_planes, err_msg=f"seed {seed}")
        colour_plane = planes[P_COLOUR]  # 1 everywhere iff black is to move
        assert colour_plane.all() == (sampled.to_play == BLACK) and colour_plane.any() == colour_plane.all()
        assert record.samples["value"][0] == _outcome(record.winner, sampled.to_play)
    assert random_moves_seen > 0
    assert set(state["fixed_policies"]) == {sl, rl}


def test_value_data_game_without_an_rl_policy_uses_the_sl_policy(fixed_policies):
    sl, _ = fixed_policies
    context = _value_context(sl, keep_sgf=True)
    record = value_data_game(context, 0, 0)
    assert record.num_samples == 1 and set(context.state["fixed_policies"]) == {sl}


def test_value_data_game_needs_an_sl_policy(tmp_path):
    context = _value_context("")
    with pytest.raises(ValueError, match=r"workers\.sl_policy"):
        value_data_game(context, 0, 0)
    value_net = tmp_path / "value_net"
    save_checkpoint(value_net, AlphaGoValueNet(N, filters=FILTERS, layers=LAYERS))
    context = _value_context(str(value_net))
    with pytest.raises(CheckpointError, match="alphago_policy"):  # a value net is no policy
        value_data_game(context, 0, 0)


# ------------------------------------------------------------------------------- lockstep batches


def _reference_pool_game(context: GameContext, seed: int) -> tuple[str, np.ndarray]:
    """An independent sequential player of one policy-pool game (one position per network call, no
    batching): the move sequence as a string and the current player's sampled actions."""
    rng = np.random.default_rng(seed)
    board = Board(N, komi=context.config.game.komi)
    me = BLACK if rng.random() < 0.5 else WHITE
    players = {me: context.evaluator, 3 - me: context.opponent or context.evaluator}
    moves, mine = [], []
    max_moves = context.config.game.max_moves
    while not board.is_game_over and board.move_number < max_moves:
        planes = alphago_planes(board)
        sensible = planes[P_SENSIBLE].reshape(-1).astype(bool)
        move = PASS
        if sensible.any():
            logits, _ = players[board.to_play](planes[None].astype(np.float32))
            scores = np.where(sensible, logits[0, :POINTS], -np.inf)
            p = np.exp(scores - scores.max())
            move = int(rng.choice(POINTS, p=p / p.sum()))
        mover = board.to_play
        # a sensible move that breaks positional superko: the next legal sensible move, else pass
        move = next((m for m in [move, *np.flatnonzero(sensible)] if m == PASS or board.is_legal(int(m))), PASS)
        board.play(int(move))
        moves.append(int(move))
        if mover == me and move != PASS:
            mine.append(move)
    return " ".join(map(str, moves)), np.asarray(mine)


def _sgf_moves(record: GameRecord) -> str:
    return " ".join(str(action) for _, action in read_sgf(record.sgf).moves)


def test_a_lockstep_batch_of_pool_games_plays_each_game_as_one_game_alone():
    config = _config(game={"max_moves": 2 * POINTS})  # long enough for games to end by passes
    current, opponent = TorchEvaluator(_policy_net(1)), TorchEvaluator(_policy_net(2))
    seeds = [11, 12, 13, 14, 15, 16]

    def contexts(count: int) -> list[GameContext]:
        return [GameContext(config, current, version=4, keep_sgf=True, opponent=opponent, opponent_version=3)
                for _ in range(count)]

    batch = policy_pool_games(contexts(len(seeds)), [100 + s for s in seeds], seeds)
    assert [r.game_id for r in batch] == [100 + s for s in seeds]
    assert len({r.moves for r in batch}) > 1  # games of different lengths: some finish while others play on
    for seed, record in zip(seeds, batch, strict=True):
        alone = policy_pool_game(contexts(1)[0], 100 + seed, seed)
        assert record.sgf == alone.sgf and record.extra == alone.extra
        for name in record.samples:
            np.testing.assert_array_equal(record.samples[name], alone.samples[name])
        reference_moves, reference_mine = _reference_pool_game(contexts(1)[0], seed)
        assert _sgf_moves(record) == reference_moves, f"seed {seed}"
        np.testing.assert_array_equal(record.samples["policy"].argmax(axis=1), reference_mine)


def test_a_lockstep_batch_of_value_games_plays_each_game_as_one_game_alone(fixed_policies):
    sl, rl = fixed_policies
    state: dict = {}
    seeds = list(range(20, 28))
    contexts = [_value_context(sl, rl, keep_sgf=True, state=state) for _ in seeds]
    config = contexts[0].config
    contexts = [GameContext(config, c.evaluator, version=0, keep_sgf=True, state=state) for c in contexts]
    batch = value_data_games(contexts, seeds, seeds)
    assert len({r.extra["u"] for r in batch}) > 1
    for seed, record in zip(seeds, batch, strict=True):
        alone = value_data_game(GameContext(config, None, version=0, keep_sgf=True, state=state), seed, seed)
        assert record.sgf == alone.sgf and record.extra == alone.extra and record.game_id == seed
        for name in record.samples:
            np.testing.assert_array_equal(record.samples[name], alone.samples[name])


def test_a_batch_needs_one_context_id_and_seed_a_game():
    config = _config()
    context = GameContext(config, TorchEvaluator(_policy_net(1)), version=0)
    with pytest.raises(ValueError, match="one context, game id and seed per game"):
        policy_pool_games([context, context], [1], [1, 2])
    other = GameContext(_config(), context.evaluator, version=0)
    with pytest.raises(ValueError, match="share one config"):
        policy_pool_games([context, other], [1, 2], [1, 2])
    assert policy_pool_games([], [], []) == []


def test_a_worker_task_plays_its_games_through_the_batch_generator():
    config = _config()
    evaluator = TorchEvaluator(_policy_net(1))
    contexts = [GameContext(config, evaluator, version=1, keep_sgf=True) for _ in range(3)]
    assert set(BATCH_GENERATORS) == {"policy_pool", "value_data"}
    records = play_games("policy_pool", contexts, [7, 8, 9], [7, 8, 9])
    for record, seed in zip(records, [7, 8, 9], strict=True):
        assert record.sgf == policy_pool_game(GameContext(config, evaluator, version=1, keep_sgf=True), seed, seed).sgf


# ------------------------------------------------------------------------------- losses


class _Logits(torch.nn.Module):
    """Returns given (trainable) policy logits whatever the planes."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.tensor(logits, dtype=torch.float32))

    def forward(self, planes):
        assert planes.dtype == torch.float32
        return self.logits


def _masked_log_softmax(logits: np.ndarray, keep: list[int]) -> np.ndarray:
    """log softmax over the kept entries only (the rest are -inf), by hand in float64."""
    kept = np.asarray(logits, np.float64)[keep]
    out = np.full(len(logits), -np.inf)
    out[keep] = kept - (kept.max() + math.log(np.exp(kept - kept.max()).sum()))
    return out


def test_reinforce_loss_in_closed_form():
    # 3x3 boards (10 actions, pass last); sensible points {0, 4, 5} in every row.
    # row 0 chooses sensible point 4, z = +1; row 1 the non-sensible point 2 (kept by the mask since
    # it was chosen), z = -1; row 2 the pass, z = +1
    logits = [[0.5, -1.0, 2.0, 0.3, 1.0, -0.2, 0.7, 0.0, 0.1, 3.0],
              [0.1, 0.2, -0.4, 1.5, 0.0, 0.9, -2.0, 0.4, 0.3, 0.8],
              [1.0, 0.0, 0.0, 0.0, -1.0, 0.5, 0.0, 2.0, 0.0, -0.5]]
    chosen, z = [4, 2, 9], [1.0, -1.0, 1.0]
    planes = torch.zeros(3, 48, 3, 3, dtype=torch.bool)
    planes[:, P_SENSIBLE].view(3, 9)[:, [0, 4, 5]] = True
    planes[:, 0, 1, 1] = True  # other planes do not matter
    policy = F.one_hot(torch.tensor(chosen), 10).float()
    model = _Logits(logits)
    total, metrics = reinforce_loss(model, {"planes": planes, "policy": policy, "value": torch.tensor(z)},
                                    _config())
    log_p = [_masked_log_softmax(row, sorted({0, 4, 5, a}))[a] for row, a in zip(logits, chosen, strict=True)]
    expected = -np.mean([zi * lp for zi, lp in zip(z, log_p, strict=True)])
    assert total.item() == pytest.approx(expected, rel=1e-6)
    assert metrics["loss"] == pytest.approx(expected, rel=1e-6)
    assert metrics["policy_loss"] == pytest.approx(-np.mean(log_p), rel=1e-6)
    assert metrics["mean_z"] == pytest.approx(1.0 / 3.0)
    # gradient: -z (onehot(a) - softmax over the kept entries) / B; zero on the masked entries
    total.backward()
    for row, a in enumerate(chosen):
        keep = sorted({0, 4, 5} | {a})
        p = np.exp(_masked_log_softmax(logits[row], keep))
        grad = -z[row] * (np.eye(10)[a] - p) / 3
        np.testing.assert_allclose(model.logits.grad[row].numpy(), grad, atol=1e-6, err_msg=f"row {row}")


def test_reinforce_stops_pushing_a_losing_move_below_the_log_p_floor():
    from tenuki.selfplay.losses import REINFORCE_LOG_P_FLOOR

    # A 1x2 board: points 0, 1 (both sensible) and pass (2, masked). The chosen move is point 1.
    # Row 0: losing, log p(1) ~ -20 (below the floor): no gradient, its term is the floor.
    # Row 1: losing, log p(1) = -log 2: pushed down. Row 2: winning at log p(1) ~ -20: pushed up.
    logits = [[0.0, -20.0, 0.0], [0.0, 0.0, 0.0], [0.0, -20.0, 0.0]]
    model = _Logits(logits)
    planes = torch.zeros(3, 48, 1, 2, dtype=torch.bool)
    planes[:, P_SENSIBLE] = True
    policy = F.one_hot(torch.tensor([1, 1, 1]), 3).float()
    z = [-1.0, -1.0, 1.0]
    total, _ = reinforce_loss(model, {"planes": planes, "policy": policy, "value": torch.tensor(z)}, _config())
    total.backward()
    grad = model.logits.grad.numpy()
    assert np.abs(grad[0]).max() == 0.0
    assert grad[1, 1] > 0 and grad[2, 1] < 0  # gradient descent lowers row 1's logit, raises row 2's
    log_p = [_masked_log_softmax(row, [0, 1])[1] for row in logits]
    assert log_p[0] < REINFORCE_LOG_P_FLOOR
    expected = -np.mean([z[0] * REINFORCE_LOG_P_FLOOR, z[1] * log_p[1], z[2] * log_p[2]])
    assert total.item() == pytest.approx(expected, rel=1e-5)


def test_a_non_finite_loss_stops_training_and_keeps_the_weights():
    from tenuki.selfplay.learner import TrainingDiverged

    learner = LearnerCore(_config(learner={"max_grad_norm": 1.0, "batch_size": 4}))
    before = {k: v.clone() for k, v in learner.model.state_dict().items()}
    batch = _position_batch(0)
    good = {"planes": batch["planes"].numpy(), "policy": batch["policy"].numpy(), "value": np.array([1.0], np.float32)}
    metrics = learner.train(iter([good]), 1)
    assert 0 < metrics["grad_norm"] and np.isfinite(metrics["loss"])
    after_good = {k: v.clone() for k, v in learner.model.state_dict().items()}
    assert any(not torch.equal(before[k], after_good[k]) for k in before)
    bad = {**good, "value": np.array([np.nan], np.float32)}
    with pytest.raises(TrainingDiverged, match="loss is nan"):
        learner.train(iter([bad]), 1)
    assert all(torch.equal(after_good[k], v) for k, v in learner.model.state_dict().items())


def _position_batch(seed: int) -> dict[str, torch.Tensor]:
    """One real 9x9 position (a few random moves) and a sensible move in it, as a batch of one."""
    rng = np.random.default_rng(seed)
    board = Board(N)
    for _ in range(12):
        board.play(int(rng.choice([a for a in board.legal_moves() if a != PASS])))
    planes = alphago_planes(board).astype(bool)
    move = int(rng.choice(_sensible_points(planes)))
    policy = F.one_hot(torch.tensor([move]), POINTS + 1).float()
    return {"planes": torch.from_numpy(planes[None]), "policy": policy}


def _chosen_log_p(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> float:
    with torch.no_grad():
        logits = model(batch["planes"].float())[0].double().numpy()
    sensible = batch["planes"][0, P_SENSIBLE].reshape(-1).numpy()
    move = int(batch["policy"][0].argmax())
    return float(_masked_log_softmax(logits, sorted(set(np.flatnonzero(sensible)) | {move}))[move])


@pytest.mark.parametrize("z", [1.0, -1.0])
def test_one_sgd_step_moves_log_p_of_the_chosen_move_the_way_z_says(z):
    batch = {**_position_batch(7), "value": torch.tensor([z])}
    model = _policy_net(3)
    before = _chosen_log_p(model, batch)
    total, _ = reinforce_loss(model, batch, _config())
    assert total.item() == pytest.approx(-z * before, rel=1e-5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    optimizer.zero_grad()
    total.backward()
    optimizer.step()
    after = _chosen_log_p(model, batch)
    assert (after - before) * z > 1e-4, (before, after)


def test_a_draw_gives_no_policy_gradient():
    batch = {**_position_batch(8), "value": torch.tensor([0.0])}
    model = _policy_net(3)
    total, _ = reinforce_loss(model, batch, _config())
    total.backward()
    assert total.item() == 0.0
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())


def test_value_mse_loss_in_closed_form():
    rng = np.random.default_rng(2)
    torch.manual_seed(4)
    model = AlphaGoValueNet(N, filters=FILTERS, layers=LAYERS)
    planes = torch.from_numpy(rng.integers(0, 2, (5, 49, N, N)).astype(bool))
    target = torch.tensor([1.0, -1.0, 0.0, 1.0, -1.0])
    total, metrics = value_mse_loss(model, {"planes": planes, "value": target}, _config(VALUE_STAGE))
    with torch.no_grad():
        value = model(planes.float()).double().numpy()
    mse = float(((value - target.double().numpy()) ** 2).mean())
    assert total.item() == pytest.approx(mse, rel=1e-5)
    assert metrics["loss"] == metrics["value_loss"] == pytest.approx(mse, rel=1e-5)
    assert LOSSES["reinforce"] is reinforce_loss and LOSSES["value_mse"] is value_mse_loss


# ------------------------------------------------------------------------------- learner


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def _assert_same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert list(a) == list(b)
    for name, tensor in a.items():
        assert torch.equal(tensor, b[name]), name


def _reinforce_dataset(count: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    planes = rng.integers(0, 2, (count, 48, N, N)).astype(np.uint8)
    policy = np.zeros((count, POINTS + 1), np.float32)
    policy[np.arange(count), rng.integers(0, POINTS, count)] = 1.0
    return {"planes": planes, "policy": policy, "value": rng.choice([-1.0, 1.0], count).astype(np.float32)}


def test_the_learner_starts_from_the_init_checkpoint(tmp_path):
    source = _policy_net(123)
    with torch.no_grad():
        source.pass_logit.fill_(-2.5)
    path = tmp_path / "sl" / "policy"
    save_checkpoint(path, source, step=77)
    fresh = LearnerCore(_config())
    learner = LearnerCore(_config(network={"init_checkpoint": str(path)}))
    _assert_same_state(_state(learner.model), _state(source))
    assert any(not torch.equal(a, b) for a, b in zip(_state(fresh.model).values(), _state(source).values(),
                                                      strict=True))
    assert learner.version == 0 and learner.step == 0 and learner.resumed_from is None
    # the optimizer holds the loaded parameters: a step moves them away from the checkpoint
    learner.train(itertools.repeat(_reinforce_dataset()), 1)
    assert not torch.equal(learner.model.trunk[0].weight.detach(), source.trunk[0].weight.detach())


def test_a_resumed_learner_keeps_its_own_weights_not_the_init_checkpoint(tmp_path):
    path = tmp_path / "sl"
    source = _policy_net(123)
    save_checkpoint(path, source)
    config = _config(network={"init_checkpoint": str(path)}, learner={"learning_rate": 0.1})
    run_dir = tmp_path / "run"
    learner = LearnerCore(config, run_dir)
    assert learner.resumed_from is None
    _assert_same_state(_state(learner.model), _state(source))
    learner.train(itertools.repeat(_reinforce_dataset()), 2)
    learner.new_version()
    learner.save()
    trained = _state(learner.model)
    resumed = LearnerCore(config, run_dir)
    assert resumed.resumed_from is not None and resumed.version == 1
    _assert_same_state(_state(resumed.model), trained)


@pytest.mark.parametrize("other", ["filters", "board_size", "architecture", "missing"])
def test_an_init_checkpoint_that_does_not_fit_is_a_checkpoint_error(tmp_path, other):
    path = tmp_path / "other"
    if other == "filters":
        save_checkpoint(path, _policy_net(0, filters=2 * FILTERS))
    elif other == "board_size":
        save_checkpoint(path, _policy_net(0, size=7))
    elif other == "architecture":
        save_checkpoint(path, AlphaGoValueNet(N, filters=FILTERS, layers=LAYERS))
    with pytest.raises(CheckpointError):
        LearnerCore(_config(network={"init_checkpoint": str(path)}))


def test_a_value_learner_starts_its_trunk_from_a_policy_checkpoint(tmp_path):
    """The value net takes the policy's convolutions (the colour plane's weights start at zero) and
    answers exactly as a value net with that trunk; its head is the fresh one."""
    source = _policy_net(321)
    path = tmp_path / "sl"
    save_checkpoint(path, source)
    fresh = LearnerCore(_config(VALUE_STAGE))
    learner = LearnerCore(_config(VALUE_STAGE, network={"init_checkpoint": str(path)}))
    trunk, policy_trunk = learner.model.trunk, source.trunk
    assert torch.equal(trunk[0].weight[:, :48], policy_trunk[0].weight)
    assert torch.count_nonzero(trunk[0].weight[:, 48:]) == 0
    for name, tensor in policy_trunk.state_dict().items():
        if name != "0.weight":
            assert torch.equal(trunk.state_dict()[name], tensor), name
    _assert_same_state({k: v for k, v in _state(learner.model).items() if not k.startswith("trunk.")},
                       {k: v for k, v in _state(fresh.model).items() if not k.startswith("trunk.")})
    planes = torch.from_numpy(np.random.default_rng(0).integers(0, 2, (3, 49, N, N)).astype(np.float32))
    with torch.no_grad():  # the colour plane has no effect yet: the trunk's output is the policy's on 48 planes
        np.testing.assert_allclose(trunk(planes).numpy(), policy_trunk(planes[:, :48]).numpy(), atol=1e-5)
    for name, other in (("wider", _policy_net(0, filters=2 * FILTERS)), ("smaller_board", _policy_net(0, size=7))):
        save_checkpoint(tmp_path / name, other)
        with pytest.raises(CheckpointError, match="does not fit the value network"):
            LearnerCore(_config(VALUE_STAGE, network={"init_checkpoint": str(tmp_path / name)}))


def test_a_value_learner_starts_from_a_value_checkpoint_with_the_same_head(tmp_path):
    """A whole value net (e.g. ``tenuki train sl-value``'s) starts the value stage; one whose layer 13
    has the old ReLU (same tensors, another network) is refused rather than silently changed."""
    torch.manual_seed(3)
    source = AlphaGoValueNet(N, filters=FILTERS, layers=LAYERS)
    save_checkpoint(tmp_path / "value", source)
    learner = LearnerCore(_config(VALUE_STAGE, network={"init_checkpoint": str(tmp_path / "value")}))
    _assert_same_state(_state(learner.model), _state(source))
    save_checkpoint(tmp_path / "relu", AlphaGoValueNet(N, filters=FILTERS, layers=LAYERS, head_relu=True))
    with pytest.raises(CheckpointError, match="head_relu"):
        LearnerCore(_config(VALUE_STAGE, network={"init_checkpoint": str(tmp_path / "relu")}))


# ------------------------------------------------------------------------------- a run on Ray


def _stop_actors(coordinator) -> None:
    """Kill a coordinator's actors, as when its driver ends (they reserve the head's CPUs)."""
    import ray

    for handle in [*coordinator.workers, coordinator.buffer, coordinator.learner, coordinator.gatekeeper]:
        ray.kill(handle, no_restart=True)


@pytest.mark.timeout(240)
def test_a_tiny_policy_pool_run_fills_the_pool_and_restores_it_on_resume(tmp_path, coordinators):
    import ray

    from tenuki.agents.go.networks.checkpoint import load_checkpoint
    from tenuki.selfplay.coordinator import Coordinator
    from tenuki.selfplay.learner import state_dict_to_numpy, version_name
    from tenuki.selfplay.run_state import prepare_run_dir

    config = _config(
        run={"max_hours": 0.0, "max_games": 0, "max_versions": 20, "sgf_every": 0, "snapshot_every_s": 30.0,
             "plot_every_versions": 0},
        workers={"count": 2, "cpus_per_worker": 1.0, "max_in_flight": 1, "opponent_pool_every": 1},
        replay={"window_min": 100, "window_max": 2000, "min_positions": 32},
        learner={"steps_per_version": 1, "batch_size": 16, "max_train_ratio": 0.2},
    )
    run_dir = tmp_path / "run"
    config = prepare_run_dir(config, run_dir, resume=False)
    first = Coordinator(config, run_dir)
    coordinators.append(first)
    games: list[tuple[int, int]] = []  # (version played with, opponent version) of every recorded game
    record_game = first._record_game

    def logged(record, positions):
        games.append((record.version, record.extra.get("opponent_version")))
        record_game(record, positions)

    first._record_game = logged
    deadline = time.monotonic() + 120

    def reached(c) -> bool:
        # version 3, and games of a version >= 1 recorded (the first version can come after many
        # version-0 games, so the version limit alone does not wait for them)
        return c.state.version >= 3 and any(version >= 1 for version, _ in games)

    reason = first.run(stop_when=lambda c: reached(c) or time.monotonic() > deadline)

    assert reason == "stop condition" and reached(first), (first.state, games, *first.events)
    version = first.state.version
    # a snapshot of every version went into the pool (opponent_pool_every 1), each one on disk
    assert [v for v, _ in first.pool] == list(range(version + 1))
    for v, _ in first.pool:
        assert (run_dir / "checkpoints" / (version_name(v) + ".json")).exists()
    # every game was played against a pool version, none newer than the game's own version
    assert games and len(games) == first.state.games
    assert all(0 <= opponent <= played for played, opponent in games), games
    assert "mean_z" in first.state.last_metrics
    batch = ray.get(first.buffer.sample.remote(4), timeout=60)
    assert batch["planes"].shape == (4, 48, N, N) and batch["policy"].shape == (4, POINTS + 1)
    assert (batch["policy"].sum(axis=1) == 1.0).all() and set(np.unique(batch["value"])) <= {-1.0, 0.0, 1.0}

    # The driver stops while the learner trains: the learner checkpoints that version, which the run
    # state (version ``version``) never saw; shutdown does not wait for it. Made certain here with one
    # more training call after the stop.
    if first.learner_task is not None:
        ray.get(first.learner_task, timeout=60)
    ray.get(first.learner.train.remote(1), timeout=60)
    learner_version = ray.get(first.learner.state.remote(), timeout=60)["version"]
    assert learner_version > version
    _stop_actors(first)

    # resumed: the pool comes back from the checkpoints, every version up to the learner's
    second = Coordinator(prepare_run_dir(None, run_dir, resume=True), run_dir, resume=True)
    coordinators.append(second)
    second.start_actors()
    assert second.state.version == learner_version
    assert [v for v, _ in second.pool] == list(range(learner_version + 1)), (version, learner_version)
    for v, ref in second.pool:
        model, _ = load_checkpoint(run_dir / "checkpoints" / version_name(v))
        expected, restored = state_dict_to_numpy(model), ray.get(ref, timeout=60)
        assert list(restored) == list(expected)
        for name in expected:
            np.testing.assert_array_equal(restored[name], expected[name], err_msg=f"version {v}: {name}")


def test_the_init_checkpoint_brings_its_optimizer_state_when_it_has_one(tmp_path):
    """Training that accumulates across sessions: a run continued from a committed version keeps the
    momentum saved beside it (``vNNNNNN.optimizer.safetensors``); one without the file starts at zero."""
    config = _config(learner={"learning_rate": 0.05})
    run_dir = tmp_path / "run"
    first = LearnerCore(config, run_dir)
    first.train(itertools.repeat(_reinforce_dataset()), 2)
    first.new_version()
    first.save()
    name = f"v{first.version:06d}"
    saved = {k: {n: t.clone() for n, t in v.items()} for k, v in first.optimizer.state_dict()["state"].items()}
    assert saved and all("momentum_buffer" in v for v in saved.values())

    continued = LearnerCore(_config(network={"init_checkpoint": str(run_dir / "checkpoints" / f"{name}.safetensors")},
                                    learner={"learning_rate": 0.05}))
    restored = continued.optimizer.state_dict()["state"]
    assert set(restored) == set(saved)
    for index, entry in saved.items():
        assert torch.equal(restored[index]["momentum_buffer"], entry["momentum_buffer"])

    (run_dir / "checkpoints" / f"{name}.optimizer.safetensors").unlink()
    bare = LearnerCore(_config(network={"init_checkpoint": str(run_dir / "checkpoints" / name)}))
    assert not bare.optimizer.state_dict()["state"]
