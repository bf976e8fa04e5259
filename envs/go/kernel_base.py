"""Primitive kernels shared by the rules: journaled writes, neighbours, Zobrist keys, point
<->action conversion and the empty-point list (layout in ``layout.py``)."""

from __future__ import annotations

from numba import njit

from tenuki.envs.go.layout import (
    H_JTOP,
    H_N,
    H_NEMPTY,
    H_S,
    H_W,
    OFF_COLOR,
    PASS_POINT,
)


@njit(cache=True, inline="always")
def _set(st, i, value, record):
    """st[i] = value, journaled when recording so that ``undo`` can restore it."""
    if record:
        t = st[H_JTOP]
        st[t] = i
        st[t + 1] = st[i]
        st[H_JTOP] = t + 2
    st[i] = value


@njit(cache=True, inline="always")
def _neighbour(p, w, d):
    if d == 0:
        return p - w
    if d == 1:
        return p - 1
    if d == 2:
        return p + 1
    return p + w


@njit(cache=True, inline="always")
def _zobrist(st, color, p):
    s_len = st[H_S]
    return st[OFF_COLOR + 7 * s_len + (color - 1) * s_len + p]


@njit(cache=True, inline="always")
def _side_key(st):
    return st[OFF_COLOR + 9 * st[H_S]]


@njit(cache=True, inline="always")
def _seed_key(st):
    return st[OFF_COLOR + 9 * st[H_S] + 1]


@njit(cache=True, inline="always")
def legal_out_offset(st):
    return OFF_COLOR + 9 * st[H_S] + 2


@njit(cache=True, inline="always")
def action_to_point(st, action):
    n = st[H_N]
    if action == n * n:
        return PASS_POINT
    return (action // n + 1) * st[H_W] + action % n + 1


@njit(cache=True, inline="always")
def point_to_action(st, p):
    n = st[H_N]
    if p == PASS_POINT:
        return n * n
    w = st[H_W]
    return (p // w - 1) * n + p % w - 1


@njit(cache=True, inline="always")
def _remove_empty(st, p, s_len, record):
    epos = OFF_COLOR + 5 * s_len
    elist = OFF_COLOR + 6 * s_len
    i = st[epos + p]
    n = st[H_NEMPTY] - 1
    last = st[elist + n]
    _set(st, elist + i, last, record)
    _set(st, epos + last, i, record)
    _set(st, epos + p, -1, record)
    _set(st, H_NEMPTY, n, record)


@njit(cache=True, inline="always")
def _add_empty(st, p, s_len, record):
    n = st[H_NEMPTY]
    _set(st, OFF_COLOR + 6 * s_len + n, p, record)
    _set(st, OFF_COLOR + 5 * s_len + p, n, record)
    _set(st, H_NEMPTY, n + 1, record)
