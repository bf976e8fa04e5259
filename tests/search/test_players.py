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


def test_timed_uct_sizes_its_tree_from_the_speed_it_measured(monkeypatch):
    """The first timed search starts with the default room; the next one with room for 1.5 times the
    simulations a second measured, so a 19x19 tree is not copied to grow near the deadline."""
    from tenuki.search import players

    asked = []
    real = players.uct_run

    def spy(*args, **kwargs):
        asked.append(kwargs.get("capacity"))
        return real(*args, **kwargs)

    monkeypatch.setattr(players, "uct_run", spy)
    monkeypatch.setattr(UCTPlayer, "_rates", {})
    board, player = Board(9), UCTPlayer()
    player.genmove(board, visits=16)  # the kernels loaded before any clock
    first = player.genmove(board, seconds=0.2)
    rate = UCTPlayer._rates[9]
    assert 0 < first.result.visits.sum() <= rate  # what the first search made in its time (under a second)
    second = UCTPlayer().genmove(board, seconds=0.2)  # a new player (a new game) keeps the measured speed
    assert asked[1] is None and asked[2] == int(1.5 * rate * 0.2)
    assert second.result.visits.sum() > 64


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


# ---------------------------------------------------------------------------------- tree reuse


def _used(tree):
    n, e = tree.num_nodes, tree.num_edges
    return (n, e, tree.nodes[:n].tolist(), tree.values[:n].tolist(), tree.edges[:e].tolist(), tree.stats[:e].tolist())


def test_advance_through_the_spare_tree_equals_a_fresh_copy():
    """Two trees take turns between moves (no allocation); each advance must give exactly what copying the
    subtree into a new tree gives (the independent reference: new_tree + copy_subtree)."""
    from tenuki.search import puct
    from tenuki.search.tree import ACTION, CHILD, EDGE_COUNT, EDGE_START, ROOT_INDEX, new_tree
    from tests.search.test_puct import _check_tree_invariants

    board = Board(7)
    player = PUCTPlayer(uniform_evaluator(7), visits=300)
    for _ in range(6):
        move = player.genmove(board)
        tree = player.searcher.tree
        start, count = tree.nodes[ROOT_INDEX, EDGE_START], tree.nodes[ROOT_INDEX, EDGE_COUNT]
        child = [int(tree.edges[e, CHILD]) for e in range(start, start + count) if tree.edges[e, ACTION] == move.action]
        reference = new_tree(tree.nodes.shape[0], tree.edges.shape[0] // tree.nodes.shape[0])
        puct.copy_subtree(tree.nodes, tree.values, tree.edges, tree.stats, child[0], *reference)
        board.play(move.action)
        player.notify_played(move.action)
        assert _used(player.searcher.tree) == _used(reference)
        _check_tree_invariants(player.searcher.tree)


def test_a_kept_tree_serves_only_the_position_it_was_advanced_to():
    board = Board(7)
    player = PUCTPlayer(uniform_evaluator(7), visits=200)
    first = player.genmove(board)
    board.play(first.action)
    player.notify_played(first.action)
    kept = player.genmove(board, visits=50)
    assert kept.result.visits.sum() > 50  # the subtree of the first search was kept and grown

    other = Board(7)  # same number of moves, another position: the kept tree must not be used
    other.play(next(a for a in other.legal_moves() if a != first.action))
    fresh = player.genmove(other, visits=50)
    assert fresh.result.visits.sum() == 49  # a fresh tree: 50 simulations, the first expands the root
    assert all(other.is_legal(int(a)) for a in fresh.result.actions)


def test_a_failed_advance_is_not_followed_by_a_wrong_one():
    """After a move the search never looked at, a further notified move must not pick a subtree of the
    old root (which belongs to another position)."""
    board = Board(7)
    player = PUCTPlayer(uniform_evaluator(7), visits=40)
    move = player.genmove(board)
    searched = {int(a) for a, v in zip(move.result.actions, move.result.visits) if v > 0}
    unsearched = next(int(a) for a in move.result.actions if int(a) not in searched)
    assert not player.searcher.advance(unsearched)
    assert not player.searcher.advance(next(iter(searched)))
