"""UCT with random rollouts: one-move capture and one-move save found within a fixed budget."""

from __future__ import annotations

import numpy as np
import pytest

from tenuki.envs.go.board import Board
from tenuki.envs.go.coords import to_gtp
from tenuki.search.mcts import SearchConfigError
from tenuki.search.uct import uct_run

# Black to move: the white chain D6-E6-F6 has one liberty, F5.
CAPTURE = """
    .........
    .........
    ...XXX...
    ..XOOOX..
    ...XX....
    .........
    .........
    .........
    .........
    """


def test_uct_finds_the_capture():
    board = Board.from_ascii(CAPTURE, komi=0.5)
    assert [to_gtp(int(a), 9) for a in board.legal_moves()[:-1] if _captures(board, int(a))] == ["F5"]
    result = uct_run(board, 3000, seed=1)
    assert to_gtp(result.best_action, 9) == "F5"


def _captures(board: Board, action: int) -> bool:
    trial = board.copy()
    before = trial.captures[board.to_play]
    trial.play(action)
    return trial.captures[board.to_play] > before


# Black to move: the black chain B5-C5-D5 has one liberty, E5; playing there joins the wall.
SAVE = """
    .....X.
    .OOO.X.
    OXXX.X.
    .OOO.X.
    .....X.
    .....X.
    .....X.
    """


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_uct_finds_the_save(seed):
    board = Board.from_ascii(SAVE, komi=0.5)
    assert board.liberties("C5") == 1
    result = uct_run(board, 3000, seed=seed)
    assert to_gtp(result.best_action, 7) == "E5"


def test_uniform_rollouts_and_visit_totals():
    board = Board(9)
    result = uct_run(board, 500, rollout="uniform", seed=3)
    assert result.visits.sum() == 500
    assert np.nanmax(np.abs(result.q)) <= 1.0
    with pytest.raises(SearchConfigError):
        uct_run(board, 10, rollout="heavy")


def test_search_leaves_the_board_unchanged():
    board = Board.from_ascii(SAVE)
    before = (board.hash, board.move_number, board.to_play)
    uct_run(board, 200)
    assert (board.hash, board.move_number, board.to_play) == before


def test_a_timed_search_grows_its_tree_early_from_its_own_speed(monkeypatch):
    """A timed 19x19 search that starts with little room (as a process's first move does): the tree is
    grown right after the first slice of 256 simulations to what its speed needs; a search of a number
    of simulations fits the tree it starts with (expand_visits 1 and 8)."""
    from tenuki.search import uct

    grown = []
    real = uct._grown

    def spy(tree, done, step, actions, expand_visits=1):
        grown.append((int(tree.num_nodes), int(step)))
        return real(tree, done, step, actions, expand_visits)

    monkeypatch.setattr(uct, "_grown", spy)
    board = Board(19)
    uct.uct_run(board, 64, seed=0)  # kernels compiled before the clock
    uct.uct_run(board, 300, seed=0, expand_visits=8)
    assert grown == []  # a search of a number of simulations fits the tree it starts with
    result = uct.uct_run(board, None, seconds=1.0, expand_visits=8, seed=1, capacity=256)
    made = int(result.visits.sum())
    assert made > 256 and grown
    nodes_then, room = grown[0]
    assert nodes_then <= 256 + 2  # right after the first slice, not later by doublings
    assert room > 256  # sized from the measured speed for the time left


def test_a_timed_search_does_not_grow_its_tree_in_the_last_quarter_of_its_time(monkeypatch):
    """The clock is faked: the first slice seems slow (0.1 s), so the early growth is sized for about 3,500
    simulations; the next slices seem instant at 0.8 s, when the tree fills up. In the last quarter of its
    time the search ends instead of copying the arrays: one growth only, the early one."""
    from tenuki.search import uct

    times = [0.0, 0.0, 0.1, 0.1]  # the deadline's start, the first slice's start and end, its check

    def clock() -> float:
        return times.pop(0) if times else 0.8

    monkeypatch.setattr("time.perf_counter", clock)
    grown = []
    real = uct._grown

    def spy(tree, done, step, actions, expand_visits=1):
        grown.append(int(step))
        return real(tree, done, step, actions, expand_visits)

    monkeypatch.setattr(uct, "_grown", spy)
    result = uct.uct_run(Board(9), None, seconds=1.0, expand_visits=1, seed=1, capacity=256)
    assert len(grown) == 1 and grown[0] == int(1.5 * 256 / 0.1 * 0.9)
    assert 256 < int(result.visits.sum()) <= grown[0] + 256


@pytest.mark.parametrize("expand_visits", [1, 8, 32])
def test_each_slice_adds_no_more_edges_than_the_growth_bound(monkeypatch, expand_visits):
    """Leaves that collected visits in earlier slices can all expand in the next one: the room checked before a
    slice (``_new_edges``) bounds the edges the slice really adds, slice after slice (a timed search on a fake
    clock, in one tree large enough for all of it). With expand_visits 32 a bound from the slice alone
    ((step // expand_visits + 2) expansions) is exceeded here: the root's children pass 32 visits together."""
    from tenuki.search import tree as tree_module
    from tenuki.search import uct

    actions, real, done, seen = 82, uct.uct_search, [0], []

    def spy(nodes, values, edges, stats, counts, st, step, *rest):
        tree = tree_module.Tree(nodes, values, edges, stats, counts)
        before, bound = int(tree.num_edges), uct._new_edges(tree, done[0], step, actions, expand_visits)
        got = real(nodes, values, edges, stats, counts, st, step, *rest)
        seen.append((int(tree.num_edges) - before, bound))
        done[0] += got
        return got

    big = tree_module.new_tree
    monkeypatch.setattr(tree_module, "new_tree", lambda nodes, a, edges: big(8192, a, 8192 * a))
    monkeypatch.setattr(uct, "_fits", lambda *args: True)  # never grown: every slice's edges are counted
    monkeypatch.setattr(uct, "uct_search", spy)
    ticks = iter(range(10_000))
    monkeypatch.setattr("time.perf_counter", lambda: next(ticks) * 0.02)  # about a dozen slices of 256
    board = Board(9)
    for move in ("E5", "C3", "G7", "C7"):
        board.play(board.action(move))
    uct.uct_run(board, None, seconds=1.0, seed=2, expand_visits=expand_visits)
    assert len(seen) >= 8 and sum(added for added, _ in seen) > 0
    assert all(added <= bound for added, bound in seen), seen
