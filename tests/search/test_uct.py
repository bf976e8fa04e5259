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


def test_a_timed_search_grows_its_tree_once_early_from_its_own_speed(monkeypatch):
    """A timed 19x19 search with the default room (a new process's first move): the tree is grown once,
    right after the first slice of 256 simulations, to what its speed needs, and not again near the
    deadline."""
    import tenuki.search.uct as uct

    grown = []
    real = uct._grown

    def spy(tree, step, actions, expand_visits=1):
        grown.append((int(tree.num_nodes), int(step)))
        return real(tree, step, actions, expand_visits)

    monkeypatch.setattr(uct, "_grown", spy)
    board = Board(19)
    uct.uct_run(board, 64, seed=0)  # kernels compiled before the clock
    assert grown == []  # a search of a number of simulations fits the tree it starts with
    result = uct.uct_run(board, None, seconds=0.4, expand_visits=8, seed=1)
    made = int(result.visits.sum())
    assert made > 1000
    assert len(grown) == 1, grown  # one growth, when the tree held the first slice's nodes only
    nodes_then, room = grown[0]
    assert nodes_then <= 256 + 2 and room >= made  # after the first slice; 1.5 x its speed covered the rest
