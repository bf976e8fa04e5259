"""Light playouts: legal, terminal, uniform, eye-respecting, and the input state untouched."""

from __future__ import annotations

import numpy as np
import pytest

from tenuki.envs.go.board import Board
from tenuki.envs.go.kernels import action_to_point
from tenuki.envs.go.layout import H_PASSES, H_TO_PLAY, OFF_COLOR
from tenuki.envs.go.playout import (
    is_true_eye,
    playout_in_place,
    playout_len,
    playouts,
    terminal_area_difference,
)


def _scratch(board: Board) -> np.ndarray:
    return board.state[: playout_len(board.size)].copy()


@pytest.mark.parametrize("size", [5, 9, 19])
def test_playouts_leave_the_position_unchanged_and_end_in_a_terminal_position(size):
    board = Board(size)
    for move in ("C3", "D4"):
        board.play(move)
    st = board.state.copy()  # playouts' kernel is compiled for writable arrays (flat-mc's scratch states)
    before = st.copy()
    out = np.zeros(64, np.int64)
    moves = playouts(st, 7, out.shape[0], 3 * size * size, out)
    assert np.array_equal(st, before)
    assert moves > 0 and np.all(np.abs(out) <= size * size)

    rng = np.array([12345], np.uint64)
    for _ in range(20):
        st = _scratch(board)
        playout_in_place(st, rng, 10 * size * size)
        assert st[H_PASSES] >= 2
        final = Board(size, ko_rule="simple")
        stones = _final_stones(st, size)
        final.set_stones(black=np.flatnonzero(stones == 1), white=np.flatnonzero(stones == 2))
        # Terminal: neither side has a legal move that does not fill one of its own true eyes.
        for color in (1, 2):
            fst = final.state[: playout_len(size)].copy()
            candidates = [
                a for a in final.legal_moves(color)[:-1] if not is_true_eye(fst, action_to_point(fst, a), color)
            ]
            assert candidates == [], (color, candidates)


def _final_stones(st: np.ndarray, size: int) -> np.ndarray:
    stones = np.zeros(size * size, np.int8)
    for a in range(size * size):
        stones[a] = st[OFF_COLOR + action_to_point(st, a)]
    return stones


def test_playout_score_equals_board_area_score():
    board = Board(9, komi=0)
    rng = np.array([99], np.uint64)
    from tenuki.envs.go.kernels import area_difference

    for _ in range(20):
        st = _scratch(board)
        playout_in_place(st, rng, 300)
        stones = _final_stones(st, 9)
        final = Board(9, komi=0)
        final.set_stones(black=np.flatnonzero(stones == 1), white=np.flatnonzero(stones == 2))
        assert area_difference(st) == terminal_area_difference(st) == final.score("area").margin


def test_first_move_is_uniform_and_never_fills_an_own_eye():
    # Black to move; A5 and E5 are black's true eyes, the other empty points are fair game.
    board = Board.from_ascii(
        """
        .X.X.
        XXXXX
        .....
        OOOOO
        OO.OO
        """
    )
    st0 = _scratch(board)
    allowed = {int(a) for a in board.legal_moves()[:-1] if not is_true_eye(st0, action_to_point(st0, a), 1)}
    assert allowed == {10, 11, 12, 13, 14}  # the middle row: C1 is suicide, A5 C5 E5 are eyes
    counts: dict[int, int] = {}
    rng = np.array([2024], np.uint64)
    trials = 6000
    for _ in range(trials):
        st = _scratch(board)
        playout_in_place(st, rng, 1)
        new = np.flatnonzero((_final_stones(st, 5) == 1) & (board.stones().reshape(-1) == 0))
        assert new.shape == (1,)
        first = int(new[0])
        counts[first] = counts.get(first, 0) + 1
        assert st[H_TO_PLAY] == 2
    assert set(counts) == allowed
    expected = trials / len(allowed)
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 3 * len(allowed) + 30, (chi2, counts)


def test_playout_play_equals_the_reference_play_on_random_games():
    """The playout's cut-down, branch-free move == kernels.play_unchecked (fast == reference)."""
    from tenuki.envs.go.kernels import play_unchecked
    from tenuki.envs.go.layout import H_KO, H_KO_COLOR
    from tenuki.envs.go.playout import playout_move_ok, playout_play

    rng = np.random.default_rng(5)
    for size in (5, 9, 13):
        board = Board(size)
        fast, ref = _scratch(board), _scratch(board)
        end = playout_len(size)
        color = 1
        for _ in range(6 * size * size):
            empties = [a for a in range(size * size) if fast[OFF_COLOR + action_to_point(fast, a)] == 0]
            ok = [action_to_point(fast, a) for a in empties if playout_move_ok(fast, action_to_point(fast, a), color)]
            p = int(rng.choice(ok)) if ok and rng.random() > 0.03 else 0
            playout_play(fast, p, color)
            play_unchecked(ref, p, color, False)
            assert np.array_equal(fast[OFF_COLOR:end], ref[OFF_COLOR:end])
            for h in (H_KO, H_KO_COLOR, H_PASSES, H_TO_PLAY):
                assert fast[h] == ref[h] or (h == H_KO_COLOR and fast[H_KO] == 0)
            color = 3 - color


def test_terminal_count_falls_back_to_the_flood_fill_off_the_end_of_a_playout():
    board = Board.from_ascii(
        """
        ..X..
        ..X.O
        XXX.O
        ...OO
        OO...
        """
    )
    st = _scratch(board)
    assert terminal_area_difference(st) == board.score("area").black - board.score("area").white
