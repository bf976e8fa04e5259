"""Light random playouts run entirely in compiled code (the rollout of pure MCTS).

Policy: uniform over the legal moves of the side to move that do not fill one of its own true
eyes; when there is none, pass. Two consecutive passes or ``max_moves`` end the playout, which is
then scored by Tromp-Taylor area. Playouts use simple ko (not superko) and never commit suicide,
as is usual for rollouts; they run on a scratch copy and never change the caller's state.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tenuki.envs.go.kernels import _legal_code, _neighbour, area_difference
from tenuki.envs.go.layout import (
    BLACK,
    BORDER,
    EMPTY,
    H_KO,
    H_KO_COLOR,
    H_NEMPTY,
    H_PASSES,
    H_S,
    H_SUICIDE,
    H_TO_PLAY,
    H_W,
    LEGAL,
    OFF_COLOR,
    PASS_POINT,
    WHITE,
    padded_size,
)


@njit(cache=True, inline="always")
def next_random(rng):
    """xorshift64* (Vigna 2016): rng is a uint64[1] state, never 0. Returns 31 random bits."""
    x = rng[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rng[0] = x
    return np.int64((x * np.uint64(2685821657736338717)) >> np.uint64(33))


@njit(cache=True, inline="always")
def is_true_eye(st, p, color):
    """The usual playout eye test: every neighbour is ``color`` (or the edge) and the opponent
    holds at most one diagonal point (none when the point touches the edge)."""
    w = st[H_W]
    for d in range(4):
        c = st[OFF_COLOR + _neighbour(p, w, d)]
        if c != color and c != BORDER:
            return False
    other = 3 - color
    enemy = 0
    edge = 0
    for q in (p - w - 1, p - w + 1, p + w - 1, p + w + 1):
        c = st[OFF_COLOR + q]
        if c == other:
            enemy += 1
        elif c == BORDER:
            edge = 1
    if edge:
        return enemy == 0
    return enemy <= 1


@njit(cache=True, inline="always")
def playout_move_ok(st, p, color):
    """May ``color`` play the empty point p in a playout (legal, simple ko, not an own true eye)?"""
    w = st[H_W]
    c0 = st[OFF_COLOR + p - w]
    c1 = st[OFF_COLOR + p - 1]
    c2 = st[OFF_COLOR + p + 1]
    c3 = st[OFF_COLOR + p + w]
    # The common case, decided with one branch: an empty neighbour means a liberty, no eye, and
    # no ko (a ko point is surrounded by stones).
    if (c0 == EMPTY) | (c1 == EMPTY) | (c2 == EMPTY) | (c3 == EMPTY):
        return True
    return not is_true_eye(st, p, color) and _legal_code(st, p, color, False, False) == LEGAL


@njit(cache=True, inline="always")
def _playout_merge(st, a, b):
    """kernels._merge without the journal (inlined here: merges are frequent in playouts)."""
    s_len = st[H_S]
    head = OFF_COLOR + s_len
    nxt = OFF_COLOR + 2 * s_len
    size = OFF_COLOR + 4 * s_len
    if st[size + a] < st[size + b]:
        a, b = b, a
    s = b
    while True:
        st[head + s] = a
        s = st[nxt + s]
        if s == b:
            break
    next_a = st[nxt + a]
    st[nxt + a] = st[nxt + b]
    st[nxt + b] = next_a
    st[size + a] += st[size + b]
    st[OFF_COLOR + 3 * s_len + a] += st[OFF_COLOR + 3 * s_len + b]


@njit(cache=True, inline="always")
def _playout_remove(st, chain):
    """kernels._remove_chain without the journal, hashing and stone counts; returns stones removed."""
    s_len = st[H_S]
    w = st[H_W]
    head = OFF_COLOR + s_len
    nxt = OFF_COLOR + 2 * s_len
    plib = OFF_COLOR + 3 * s_len
    epos = OFF_COLOR + 5 * s_len
    elist = OFF_COLOR + 6 * s_len
    n = 0
    s = chain
    while True:
        st[OFF_COLOR + s] = EMPTY
        k = st[H_NEMPTY]
        st[elist + k] = s
        st[epos + s] = k
        st[H_NEMPTY] = k + 1
        for d in range(4):
            q = _neighbour(s, w, d)
            cq = st[OFF_COLOR + q]
            st[plib + st[head + q]] += (cq == BLACK) | (cq == WHITE)
        n += 1
        s = st[nxt + s]
        if s == chain:
            break
    return n


@njit(cache=True, inline="always")
def playout_play(st, p, color):
    """``kernels.play_unchecked(record=False)`` cut to what playouts need: the same board sections,
    ko, pass count and side to move (not the stone counts, captures or last move, which playouts
    never read), with the neighbour updates branch-free: random play makes those branches
    unpredictable. Suicide never happens in playouts. tests/envs/test_playout.py checks it
    against play_unchecked."""
    other = 3 - color
    if p == PASS_POINT:
        st[H_KO] = 0
        st[H_PASSES] += 1
        st[H_TO_PLAY] = other
        return
    s_len = st[H_S]
    w = st[H_W]
    head = OFF_COLOR + s_len
    nxt = OFF_COLOR + 2 * s_len
    plib = OFF_COLOR + 3 * s_len
    size = OFF_COLOR + 4 * s_len
    epos = OFF_COLOR + 5 * s_len
    elist = OFF_COLOR + 6 * s_len
    st[OFF_COLOR + p] = color
    i = st[epos + p]
    n = st[H_NEMPTY] - 1
    last = st[elist + n]
    st[elist + i] = last
    st[epos + last] = i
    st[epos + p] = -1
    st[H_NEMPTY] = n
    st[head + p] = p
    st[nxt + p] = p
    st[size + p] = 1
    liberties = 0
    for d in range(4):
        q = _neighbour(p, w, d)
        cq = st[OFF_COLOR + q]
        liberties += cq == EMPTY
        # HEAD of an empty or border point is a stale or zero index: decrementing by 0 is harmless.
        hq = st[head + q]
        st[plib + hq] -= (cq == BLACK) | (cq == WHITE)
    st[plib + p] = liberties
    for d in range(4):
        q = _neighbour(p, w, d)
        if st[OFF_COLOR + q] == color:
            a = st[head + p]
            b = st[head + q]
            if a != b:
                _playout_merge(st, a, b)
    captured = 0
    ko_point = 0
    for d in range(4):
        q = _neighbour(p, w, d)
        hq = st[head + q]
        if (st[OFF_COLOR + q] == other) & (st[plib + hq] == 0):
            captured += _playout_remove(st, hq)
            ko_point = q
    hp = st[head + p]
    if captured == 1 and st[size + hp] == 1 and st[plib + hp] == 1:
        st[H_KO] = ko_point
        st[H_KO_COLOR] = other
    else:
        st[H_KO] = 0
    st[H_PASSES] = 0
    st[H_TO_PLAY] = other


@njit(cache=True)
def playout_in_place(st, rng, max_moves):
    """Run one playout on ``st`` (a scratch state, changed in place). Returns moves played."""
    s_len = st[H_S]
    elist = OFF_COLOR + 6 * s_len
    epos = OFF_COLOR + 5 * s_len
    color = st[H_TO_PLAY]
    moves = 0
    x = rng[0]  # the xorshift64* state stays in a register during the playout
    while moves < max_moves and st[H_PASSES] < 2:
        k = st[H_NEMPTY]
        chosen = PASS_POINT
        while k > 0:
            x ^= x >> np.uint64(12)
            x ^= x << np.uint64(25)
            x ^= x >> np.uint64(27)
            bits = np.int64((x * np.uint64(2685821657736338717)) >> np.uint64(33))
            i = (bits * k) >> 31  # multiply-shift instead of a division
            p = st[elist + i]
            if playout_move_ok(st, p, color):
                chosen = p
                break
            # Sample without replacement: park the rejected point behind the live range.
            k -= 1
            q = st[elist + k]
            st[elist + i] = q
            st[epos + q] = i
            st[elist + k] = p
            st[epos + p] = k
        playout_play(st, chosen, color)
        color = 3 - color
        moves += 1
    rng[0] = x
    return moves


def playout_len(n: int) -> int:
    """Entries of the state a playout reads: header and board sections (no keys, no history)."""
    return OFF_COLOR + 7 * padded_size(n)


@njit(cache=True)
def terminal_area_difference(st):
    """Tromp-Taylor area difference (black - white) of a finished playout. When both sides have
    passed for want of moves, no empty point touches another (that would be a legal non-eye
    move), so each one belongs to the colour of its neighbours when they agree. Any other
    position (an empty point with an empty neighbour) is counted by the flood fill."""
    s_len = st[H_S]
    w = st[H_W]
    elist = OFF_COLOR + 6 * s_len
    diff = 0
    for i in range(st[H_NEMPTY]):
        p = st[elist + i]
        black = 0
        white = 0
        for d in range(4):
            c = st[OFF_COLOR + _neighbour(p, w, d)]
            if c == EMPTY:
                return area_difference(st)
            black += c == BLACK
            white += c == WHITE
        if black == 0:
            diff -= 1
        elif white == 0:
            diff += 1
    for p in range(s_len):
        c = st[OFF_COLOR + p]
        diff += (c == BLACK) - (c == WHITE)
    return diff


@njit(cache=True)
def _playouts(st, seed, count, max_moves, out_diff, base):
    scratch = np.empty(base, np.int64)
    rng = np.empty(1, np.uint64)
    rng[0] = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)
    total = 0
    for i in range(count):
        scratch[:] = st[:base]
        scratch[H_SUICIDE] = 0
        total += playout_in_place(scratch, rng, max_moves)
        out_diff[i] = terminal_area_difference(scratch)
    return total


def playouts(st: np.ndarray, seed: int, count: int, max_moves: int, out_diff: np.ndarray) -> int:
    """``count`` playouts from the position in ``st`` (left unchanged). Fills out_diff[i] with
    black area minus white area (no komi) at the end of playout i; returns total moves played."""
    return _playouts(st, seed, count, max_moves, out_diff, playout_len(int(st[0])))
