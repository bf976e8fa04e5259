"""Dead-stone estimate by light playouts: who ends up owning each point.

From the final position, ``count`` light playouts (envs/go/playout.py) are run on copies of the
board; a point's ownership is the average, over the playouts, of +1 (black owns it at the end by
Tromp-Taylor) or -1 (white). A stone is called dead when the other colour owns its point in more
than ``threshold`` of the playouts. This is the usual Monte-Carlo estimate; it can misjudge sekis
and unsettled fights, which is why the counting is shown to the player.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from envs.go.board import Board
from envs.go.kernels import action_to_point, area_owner
from envs.go.layout import BLACK, H_N, H_S, H_SUICIDE, OFF_COLOR, WHITE
from envs.go.playout import playout_in_place, playout_len


@njit(cache=True)
def _ownership(st, count, seed, scratch_len):
    n = st[H_N]
    s_len = st[H_S]
    total = np.zeros(n * n)
    scratch = np.empty(scratch_len, np.int64)
    rng = np.empty(1, np.uint64)
    rng[0] = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(7)
    for _ in range(count):
        scratch[:] = st[:scratch_len]
        scratch[H_SUICIDE] = 0
        playout_in_place(scratch, rng, 3 * n * n)
        owner = area_owner(scratch[OFF_COLOR : OFF_COLOR + s_len], n + 1)
        for a in range(n * n):
            o = owner[action_to_point(scratch, a)]
            if o == BLACK:
                total[a] += 1.0
            elif o == WHITE:
                total[a] -= 1.0
    return total / count


def ownership(board: Board, count: int = 200, seed: int = 0) -> np.ndarray:
    """float[N, N] in [-1, 1]: +1 black surely owns the point, -1 white."""
    own = _ownership(board._st, count, seed, playout_len(board.size))
    return own.reshape(board.size, board.size)


def dead_stones(board: Board, count: int = 200, threshold: float = 0.7, seed: int = 0) -> list[int]:
    """Actions of the stones the playouts say are dead (owned by the other colour)."""
    own = ownership(board, count, seed).reshape(-1)
    stones = board.stones().reshape(-1)
    cut = 2.0 * threshold - 1.0  # owned by white in > threshold of playouts <=> mean < -cut
    dead = [a for a in range(stones.shape[0])
            if (stones[a] == BLACK and own[a] < -cut) or (stones[a] == WHITE and own[a] > cut)]
    return dead
