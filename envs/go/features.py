"""AlphaGo Zero / AlphaZero observation planes.

Convention (Silver et al. 2017, "Mastering the game of Go without human knowledge", Methods,
"Neural network architecture"): the input is ``float32[17, N, N]``, channel first,

=========  ==========================================================================
plane      content
=========  ==========================================================================
0 .. 7     stones of the *perspective* colour at t, t-1, ..., t-7 (1 = stone)
8 .. 15    stones of the other colour at the same times t, t-1, ..., t-7
16         all ones when the perspective colour is black, all zeros when it is white
=========  ==========================================================================

``t`` is the current position (after the last move); ``t-1`` the position before that move, and
so on. A pass repeats the position, as in the paper. Positions before the start of the game (or
before the last setup) are missing and their planes are zeros. Rows and columns are the board's
``(row, col)`` with row 0 the top line (``coords.py``).

The perspective colour is the side to move for a network input; the environments use the colour of
the observing agent, which is the side to move whenever that agent has to act.

Why a stack and not a ring of 8: ``PlaneHistory`` keeps every position of the game in a growable
stack (``N * N`` bytes a position, about 260 KB for a 722-move 19x19 game), not only the last 8, so
that ``pop`` after any number of ``push`` (undo to any depth) gives exact planes again.
"""

from __future__ import annotations

import numpy as np

from tenuki.envs.go.board import Board
from tenuki.envs.go.layout import BLACK, WHITE

HISTORY_STEPS = 8
NUM_PLANES = 2 * HISTORY_STEPS + 1  # 17
COLOR_PLANE = 2 * HISTORY_STEPS  # index of the side-to-move plane


class PlaneHistory:
    """The positions of a game, newest last, as ``int8[N, N]`` stone arrays (0 empty, 1 black, 2 white).

    ``push`` after every move (passes included), ``pop`` on undo. Start it with the game's first
    position (``PlaneHistory(size, board.stones())`` or ``from_board``).
    """

    __slots__ = ("_count", "_frames", "size")

    def __init__(self, size: int, initial: np.ndarray | None = None, capacity: int = 64):
        self.size = int(size)
        self._frames = np.zeros((max(capacity, 1), self.size, self.size), np.int8)  # [cap, N, N]
        self._count = 0
        if initial is not None:
            self.push(initial)

    @classmethod
    def from_board(cls, board: Board) -> PlaneHistory:
        """The history of every position of ``board`` since its start (or last setup).

        Rebuilt by undoing a copy of the board, so it costs one undo per move played."""
        scratch = board.copy()
        frames = [scratch.stones()]
        while scratch.move_number > 0:
            scratch.undo()
            frames.append(scratch.stones())
        history = cls(board.size, capacity=len(frames) + 16)
        for stones in reversed(frames):
            history.push(stones)
        return history

    def __len__(self) -> int:
        return self._count

    def clear(self, initial: np.ndarray | None = None) -> None:
        """Forget every position; start again from ``initial`` when given."""
        self._count = 0
        if initial is not None:
            self.push(initial)

    def push(self, stones: np.ndarray) -> None:
        """Append the position after a move. ``stones``: int8[N, N] as ``Board.stones()``."""
        if stones.shape != (self.size, self.size):
            raise ValueError(f"stones of shape {stones.shape} pushed to a {self.size}x{self.size} history")
        if self._count == self._frames.shape[0]:
            grown = np.zeros((2 * self._count, self.size, self.size), np.int8)
            grown[: self._count] = self._frames
            self._frames = grown
        self._frames[self._count] = stones
        self._count += 1

    def pop(self) -> np.ndarray:
        """Remove and return the newest position (int8[N, N]); call it when a move is undone."""
        if self._count == 0:
            raise IndexError("pop from an empty PlaneHistory")
        self._count -= 1
        return self._frames[self._count].copy()

    def latest(self, steps: int = HISTORY_STEPS) -> np.ndarray:
        """The newest ``min(steps, len)`` positions, newest first: int8[k, N, N] (a view)."""
        k = min(steps, self._count)
        return self._frames[self._count - k : self._count][::-1]


def alphazero_planes(history: PlaneHistory, to_play: int, out: np.ndarray | None = None) -> np.ndarray:
    """The 17 AlphaZero input planes seen by colour ``to_play`` (1 black, 2 white).

    Returns float32[17, N, N] (written into ``out`` when given, e.g. a row of a batch buffer);
    see the module docstring for the plane order.
    """
    if to_play not in (BLACK, WHITE):
        raise ValueError(f"to_play must be {BLACK} (black) or {WHITE} (white), got {to_play!r}")
    n = history.size
    if out is None:
        out = np.zeros((NUM_PLANES, n, n), np.float32)
    elif out.shape != (NUM_PLANES, n, n) or out.dtype != np.float32:
        raise ValueError(f"out must be float32[{NUM_PLANES}, {n}, {n}], got {out.dtype}{list(out.shape)}")
    else:
        out.fill(0.0)
    frames = history.latest(HISTORY_STEPS)  # [k, N, N], newest first
    k = frames.shape[0]
    np.equal(frames, to_play, out=out[:k], casting="unsafe")
    np.equal(frames, 3 - to_play, out=out[HISTORY_STEPS : HISTORY_STEPS + k], casting="unsafe")
    if to_play == BLACK:
        out[COLOR_PLANE] = 1.0
    return out


def board_planes(board: Board, to_play: int | None = None) -> np.ndarray:
    """Planes of a board without a kept history (rebuilds it by undo): float32[17, N, N].

    Convenient for one-off use (tests, GTP); environments and search keep a ``PlaneHistory``."""
    history = PlaneHistory.from_board(board)
    return alphazero_planes(history, board.to_play if to_play is None else to_play)


def legal_action_mask(board: Board, color: int | str | None = None) -> np.ndarray:
    """int8[N*N+1]: 1 where the action is legal for ``color`` (default: side to move); last = pass."""
    return board.legal_mask(color).astype(np.int8)
