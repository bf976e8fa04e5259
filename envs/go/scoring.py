"""Tromp-Taylor area kernels (ownership flood fill)."""

from __future__ import annotations

import numpy as np
from numba import njit

from tenuki.envs.go.kernel_base import _neighbour
from tenuki.envs.go.layout import (
    BLACK,
    EMPTY,
    H_N,
    H_S,
    H_W,
    OFF_COLOR,
    WHITE,
)


@njit(cache=True)
def area_owner(colors_padded, w):
    """Tromp-Taylor ownership of every padded point: a stone owns its point; an empty region
    belongs to a colour when it reaches stones of that colour only, else to nobody (0)."""
    s_len = colors_padded.shape[0]
    owner = np.zeros(s_len, np.int8)
    done = np.zeros(s_len, np.bool_)
    stack = np.empty(s_len, np.int64)
    region = np.empty(s_len, np.int64)
    for p in range(s_len):
        color = colors_padded[p]
        if color == BLACK or color == WHITE:
            owner[p] = color
            continue
        if color != EMPTY or done[p]:
            continue
        reach = 0  # bit 1: black, bit 2: white
        top = 0
        size = 0
        stack[top] = p
        top += 1
        done[p] = True
        while top > 0:
            top -= 1
            q = stack[top]
            region[size] = q
            size += 1
            for d in range(4):
                m = _neighbour(q, w, d)
                cm = colors_padded[m]
                if cm == EMPTY:
                    if not done[m]:
                        done[m] = True
                        stack[top] = m
                        top += 1
                elif cm == BLACK:
                    reach |= 1
                elif cm == WHITE:
                    reach |= 2
        if reach == 1 or reach == 2:
            for i in range(size):
                owner[region[i]] = reach
    return owner


@njit(cache=True)
def count_area_owners(st, black_counts, white_counts):
    """Add one to black_counts[a] / white_counts[a] (int[N*N], a = row * N + col) for every point that
    black / white owns by Tromp-Taylor area in the state ``st`` (the ownership estimates' tally)."""
    n = st[H_N]
    w = st[H_W]
    owner = area_owner(st[OFF_COLOR : OFF_COLOR + st[H_S]], w)
    for a in range(n * n):
        p = (a // n + 1) * w + a % n + 1
        if owner[p] == BLACK:
            black_counts[a] += 1
        elif owner[p] == WHITE:
            white_counts[a] += 1


@njit(cache=True)
def area_difference(st):
    """Tromp-Taylor area of black minus area of white (no komi)."""
    s_len = st[H_S]
    owner = area_owner(st[OFF_COLOR : OFF_COLOR + s_len], st[H_W])
    diff = 0
    for p in range(s_len):
        if owner[p] == BLACK:
            diff += 1
        elif owner[p] == WHITE:
            diff -= 1
    return diff
