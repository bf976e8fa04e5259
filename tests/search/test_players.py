"""Search players: one interface, budgets by visits or time, resignation, playout cap randomization.
(Players by name, with their search settings: tests/play/test_registry.py.)"""

from __future__ import annotations

import pytest

from tenuki.envs.go.board import Board
from tenuki.search.mcts import SearchConfigError, uniform_evaluator
from tenuki.search.player import Player
from tenuki.search.players import PolicyPlayer, PUCTPlayer, UCTPlayer


@pytest.mark.parametrize("kind", [UCTPlayer, PUCTPlayer, PolicyPlayer])
def test_every_search_player_is_a_player_and_returns_a_legal_move(kind):
    board = Board(7)
    board.play("D4")
    player = UCTPlayer(visits=64) if kind is UCTPlayer else kind(uniform_evaluator(7), visits=64)
    assert isinstance(player, Player)
    move = player.genmove(board)
    assert not move.resigned
    assert board.is_legal(move.action)
    assert move.analysis and move.analysis[0]["visits"] >= 1
    board.play(move.action)
    player.notify_played(move.action)
    assert board.is_legal(player.genmove(board).action)


def test_time_budget_is_respected():
    board = Board(9)
    player = UCTPlayer()
    move = player.genmove(board, seconds=0.3)
    assert move.seconds < 1.0
    assert move.result.visits.sum() > 64


def test_resigns_a_hopeless_position():
    board = Board.from_ascii(
        """
        XXXXX
        XXXXX
        XX.XX
        .X.X.
        X.X.X
        """,
        to_play="white",
        komi=0.5,
    )
    player = UCTPlayer(visits=300, resign_threshold=0.1)
    move = player.genmove(board)
    assert move.resigned and move.action == -1


def test_playout_cap_randomization_mixes_full_and_cheap_searches():
    player = UCTPlayer(visits=200, cap_visits=20, full_probability=0.3, seed=1)
    board = Board(7)
    fulls = [player.genmove(board) for _ in range(20)]
    budgets = {m.full_search: int(m.result.visits.sum()) for m in fulls}
    assert set(budgets) == {True, False}
    assert budgets[True] == 200 and budgets[False] == 20


def test_settings_out_of_range_are_refused():
    with pytest.raises(SearchConfigError):
        UCTPlayer(visits=0)
    with pytest.raises(SearchConfigError):
        PUCTPlayer(uniform_evaluator(7), visits=64, resign_threshold=0.5)


def test_temperature_samples_from_the_visit_distribution():
    board = Board(5)
    player = UCTPlayer(visits=200, temperature=1.0, seed=3)
    actions = {player.genmove(board).action for _ in range(8)}
    assert len(actions) > 1
    assert all(board.is_legal(a) for a in actions)


def test_network_player_uses_its_time():
    import time

    uniform = uniform_evaluator(9)

    def network_like(planes):  # a few ms a batch, like a small network on a CPU
        time.sleep(0.003)
        return uniform(planes)

    player = PUCTPlayer(network_like, visits=64)
    start = time.perf_counter()
    move = player.genmove(Board(9), seconds=0.5)
    elapsed = time.perf_counter() - start
    assert 0.4 < elapsed < 1.5
    assert move.result.visits.sum() > 64
