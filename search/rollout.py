"""Rollouts from a search leaf: light playouts or uniformly random legal moves (pass included).

Both run on a scratch copy of the board part of the leaf's state and are scored by Tromp-Taylor
area with komi: +1 / -1 / 0 for the side to move at the leaf.
"""

from __future__ import annotations

from numba import njit

from tenuki.envs.go.kernels import _legal_code
from tenuki.envs.go.layout import (
    BLACK,
    H_MOVE,
    H_N,
    H_NEMPTY,
    H_PASSES,
    H_S,
    H_SUICIDE,
    H_TO_PLAY,
    LEGAL,
    OFF_COLOR,
)
from tenuki.envs.go.playout import next_random as _random_bits
from tenuki.envs.go.playout import playout_in_place, playout_play, terminal_area_difference

ROLLOUT_LIGHT, ROLLOUT_UNIFORM = 0, 1


@njit(cache=True)
def uniform_rollout_in_place(st, rng, max_moves):
    """Uniform over the legal moves plus pass (simple ko) until two passes or ``max_moves``:
    sampling without replacement among the empty points and the pass, rejecting illegal points."""
    s_len = st[H_S]
    elist = OFF_COLOR + 6 * s_len
    epos = OFF_COLOR + 5 * s_len
    color = st[H_TO_PLAY]
    moves = 0
    while moves < max_moves and st[H_PASSES] < 2:
        k = st[H_NEMPTY]  # live empty points in elist[0:k]; slot k stands for the pass
        chosen = 0
        while True:
            i = (_random_bits(rng) * (k + 1)) >> 31
            if i == k:
                break  # the pass
            p = st[elist + i]
            if _legal_code(st, p, color, False, False) == LEGAL:
                chosen = p
                break
            k -= 1  # park the illegal point behind the live range
            q = st[elist + k]
            st[elist + i] = q
            st[epos + q] = i
            st[elist + k] = p
            st[epos + p] = k
        playout_play(st, chosen, color)
        color = 3 - color
        moves += 1
    return moves


@njit(cache=True)
def rollout_value(st, scratch, rng, kind, komi):
    """Outcome for the side to move in ``st`` of one rollout run on ``scratch``."""
    scratch[:] = st[: scratch.shape[0]]
    scratch[H_SUICIDE] = 0
    n = st[H_N]
    if kind == ROLLOUT_UNIFORM:
        uniform_rollout_in_place(scratch, rng, max(2 * n * n - st[H_MOVE], 0))
    else:
        playout_in_place(scratch, rng, 3 * n * n)
    margin = terminal_area_difference(scratch) - komi
    v = 1.0 if margin > 0 else -1.0 if margin < 0 else 0.0
    return v if st[H_TO_PLAY] == BLACK else -v


