"""tenuki.selfplay.games.alphazero_game without Ray: the samples of a game are checked against a replay
of its moves (planes, legal policy targets, outcomes seen from the side to move), resignation on and
off, and GameRecord.false_positive."""

from __future__ import annotations

import numpy as np
import pytest

from tenuki.envs.go.board import Board
from tenuki.envs.go.features import board_planes
from tenuki.envs.go.layout import BLACK, WHITE
from tenuki.envs.go.sgf import read_sgf
from tenuki.search.mcts import uniform_evaluator
from tenuki.selfplay.config import config_from_dict
from tenuki.selfplay.games import GAME_GENERATORS, GameContext, GameRecord, alphazero_game, sample_fields
from tenuki.selfplay.replay import ReplayStore

N = 5
ACTIONS = N * N + 1


def _config(game=None, **search):
    return config_from_dict({
        "game": {"size": N, **(game or {})},
        "search": {"visits": 8, "cap_visits": 2, "batch_size": 4, "full_probability": 1.0, **search},
    })


def _play(config, seed: int = 0, evaluator=None, **context) -> GameRecord:
    context = GameContext(config, evaluator or uniform_evaluator(N), version=3, worker=1, keep_sgf=True, **context)
    return alphazero_game(context, game_id=100 + seed, seed=seed)


def _black_pessimist(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Uniform priors; value -1 for the side to move when it is black, +1 when it is white: black's
    searches see a lost game (winrate 0), white's a won one."""
    value = np.where(planes[:, 16, 0, 0] > 0.5, -1.0, 1.0).astype(np.float32)
    return np.zeros((planes.shape[0], ACTIONS), np.float32), value


def _positions(record: GameRecord, komi: float) -> tuple[list[Board], Board]:
    """The positions before each move of the game (from its SGF) and the final board."""
    moves = read_sgf(record.sgf).moves
    assert len(moves) == record.moves
    board = Board(N, komi=komi)
    before = []
    for color, action in moves:
        assert color == board.to_play
        before.append(board.copy())
        board.play(action)
    return before, board


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_samples_match_a_replay_of_the_game(seed):
    config = _config(resign_threshold=0.0)
    record = _play(config, seed)
    samples = record.samples
    assert record.game_id == 100 + seed and record.version == 3 and record.worker == 1
    assert not record.resigned and record.would_resign == {}
    positions, final = _positions(record, config.game.komi)
    # full_probability 1: every move is a sample, sample i is the position before move i
    assert record.num_samples == record.moves == len(positions) > 0
    assert samples["planes"].shape == (record.moves, 17, N, N) and samples["planes"].dtype == np.uint8
    assert samples["policy"].shape == (record.moves, ACTIONS) and samples["policy"].dtype == np.float32
    assert samples["value"].shape == (record.moves,) and samples["value"].dtype == np.float32
    assert set(np.unique(samples["planes"])) <= {0, 1}
    # the game ended by two passes or at the move limit (2 N^2), and was scored as it stands
    assert final.is_game_over or record.moves == 2 * N * N
    score = final.score("area")
    assert record.winner == score.winner and record.result == score.result
    assert read_sgf(record.sgf).result == record.result
    for i, board in enumerate(positions):
        np.testing.assert_array_equal(samples["planes"][i], board_planes(board).astype(np.uint8), err_msg=f"move {i}")
        assert samples["planes"][i, 16].all() == (board.to_play == BLACK)
        policy = samples["policy"][i]
        assert policy.min() >= 0 and policy.sum() == pytest.approx(1.0, abs=1e-6)
        illegal = ~board.legal_mask()
        assert not policy[illegal].any(), f"move {i}: visits on illegal moves {np.flatnonzero(illegal & (policy > 0))}"
        expected = 0.0 if record.winner == 0 else (1.0 if board.to_play == record.winner else -1.0)
        assert samples["value"][i] == expected


def test_only_full_searches_become_samples():
    config = _config(full_probability=0.5, resign_threshold=0.0)
    record = _play(config, seed=4)
    positions, _ = _positions(record, config.game.komi)
    assert 0 < record.num_samples < record.moves
    # each sample is one of the positions, in the order they were played
    start = 0
    for i in range(record.num_samples):
        for j in range(start, len(positions)):
            if np.array_equal(record.samples["planes"][i], board_planes(positions[j]).astype(np.uint8)):
                start = j + 1
                break
        else:
            pytest.fail(f"sample {i} is none of the positions after the previous sample")


def test_the_same_seed_plays_the_same_game():
    config = _config(resign_threshold=0.0, full_probability=0.7)
    a, b, c = _play(config, 5), _play(config, 5), _play(config, 6)
    assert a.sgf == b.sgf and a.moves == b.moves
    for name in a.samples:
        np.testing.assert_array_equal(a.samples[name], b.samples[name])
    assert a.sgf != c.sgf


def test_the_move_limit_ends_the_game():
    config = _config(game={"max_moves": 7}, resign_threshold=0.0)
    record = _play(config, 0)
    _, final = _positions(record, config.game.komi)
    assert record.moves <= 7 and (record.moves == 7 or final.is_game_over)
    assert record.result == final.score("area").result


def test_a_draw_has_value_targets_0():
    def pass_lover(planes):  # every prior on the pass
        logits = np.full((planes.shape[0], ACTIONS), -20.0, np.float32)
        logits[:, -1] = 20.0
        return logits, np.zeros(planes.shape[0], np.float32)

    config = _config(game={"komi": 0.0, "max_moves": 2}, resign_threshold=0.0, temperature_moves=0,
                     dirichlet_weight=0.0, pass_after_move=0)
    record = _play(config, 0, evaluator=pass_lover)
    assert record.moves == 2 and record.winner == 0 and record.result == "0"
    np.testing.assert_array_equal(record.samples["value"], [0.0, 0.0])
    assert (record.samples["policy"].argmax(axis=1) == ACTIONS - 1).all()  # the pass was the most visited


def test_a_losing_side_resigns():
    config = _config(resign_threshold=0.05, resign_disabled_fraction=0.0, resign_min_moves=3)
    record = _play(config, 0, evaluator=_black_pessimist)
    # black (to move at even move numbers) resigns at its first move from move 3 on: move 4
    assert record.resigned and not record.resign_disabled
    assert record.moves == 4 and record.winner == WHITE and record.result == "W+R"
    assert record.would_resign == {} and record.false_positive() is None
    # the resigning move is not a sample; values: black to move -> -1, white -> +1
    assert record.num_samples == 4
    np.testing.assert_array_equal(record.samples["value"], [-1.0, 1.0, -1.0, 1.0])
    assert read_sgf(record.sgf).result == "W+R"


def test_games_with_resignation_disabled_are_played_out():
    config = _config(resign_threshold=0.05, resign_disabled_fraction=1.0, resign_min_moves=3)
    for seed in range(3):
        record = _play(config, seed, evaluator=_black_pessimist)
        assert record.resign_disabled and not record.resigned
        assert not record.result.endswith("+R")
        _, final = _positions(record, config.game.komi)
        assert final.is_game_over or record.moves == 2 * N * N
        assert record.would_resign == {BLACK: 4}  # noted at the first move it would have resigned
        assert record.false_positive() == (record.winner == BLACK)
        assert record.num_samples == record.moves


def test_the_coordinators_threshold_overrides_the_configs():
    config = _config(resign_threshold=0.05, resign_disabled_fraction=0.0, resign_min_moves=3)
    record = _play(config, 0, evaluator=_black_pessimist, resign_threshold=0.0)  # 0: never resign
    assert not record.resigned and record.would_resign == {} and record.false_positive() is None
    assert record.moves > 4


def test_false_positive_semantics():
    def record(**fields):
        return GameRecord(game_id=0, version=0, samples={}, **fields)

    assert record(resign_disabled=False, would_resign={BLACK: 12}, winner=BLACK).false_positive() is None
    assert record(resign_disabled=True, would_resign={}, winner=BLACK).false_positive() is None
    assert record(resign_disabled=True, would_resign={BLACK: 12}, winner=BLACK).false_positive() is True
    assert record(resign_disabled=True, would_resign={BLACK: 12}, winner=WHITE).false_positive() is False
    assert record(resign_disabled=True, would_resign={WHITE: 9}, winner=WHITE).false_positive() is True
    assert record(resign_disabled=True, would_resign={BLACK: 12, WHITE: 20}, winner=WHITE).false_positive() is True
    assert record(resign_disabled=True, would_resign={BLACK: 12}, winner=0).false_positive() is False
    assert record().num_samples == 0


def test_samples_fit_the_replay_buffer_fields():
    config = _config(resign_threshold=0.0)
    record = _play(config, 1)
    assert GAME_GENERATORS["alphazero"] is alphazero_game
    fields = sample_fields(config)
    for name, (shape, dtype) in fields.items():
        stored = np.uint8 if dtype == "bool" else np.dtype(dtype)  # "bool": 0/1 uint8, bit-packed by the buffer
        assert record.samples[name].shape[1:] == shape and record.samples[name].dtype == stored
    store = ReplayStore(fields, 1000, 100, board_size=N)
    assert store.add(record.game_id, record.samples) == record.num_samples
    for name in fields:
        np.testing.assert_array_equal(store.gather(store.ordered_slots())[name], record.samples[name])


@pytest.mark.parametrize("seed", [0, 1])
def test_score_utility_blends_the_outcome_with_the_margin(seed):
    """search.score_weight w: value = (1 - w) z + w tanh(margin / score_scale), margin and z seen
    by the side to move (closed form from the replayed final position)."""
    w, scale = 0.5, 4.0
    config = _config(resign_threshold=0.0, score_weight=w, score_scale=scale, temperature_moves=4)
    record = _play(config, seed)
    before, final = _positions(record, config.game.komi)
    margin = final.score("area").margin  # black's
    players = [b.to_play for b in before]  # full_probability 1: every move is a sample
    assert len(players) == record.samples["value"].shape[0]
    for player, value in zip(players, record.samples["value"], strict=True):
        own = margin if player == 1 else -margin
        z = float(np.sign(own))
        assert value == pytest.approx((1 - w) * z + w * np.tanh(own / scale), abs=1e-6)


def test_terminal_utility_in_the_search_uses_the_score():
    from tenuki.envs.go.layout import H_TO_PLAY
    from tenuki.search.puct import terminal_value

    board = Board.from_ascii("""
        X X X . O
        X X X X O
        X X X X O
        . X X X O
        X X X X O
    """, to_play="W", komi=0.5)
    st = board.state
    margin = 19 - 5 - 0.5  # black's area (18 stones + the eye A2; D5 touches both) minus white's 5, minus komi
    assert st[H_TO_PLAY] == 2
    assert terminal_value(st, 0.5) == -1.0
    assert terminal_value(st, 0.5, 0.5, 9.0) == pytest.approx(-(0.5 + 0.5 * np.tanh(margin / 9.0)))
