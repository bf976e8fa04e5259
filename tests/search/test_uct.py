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
