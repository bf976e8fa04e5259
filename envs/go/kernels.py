"""Go rules as numba kernels over the flat arrays described in ``layout.py``.

Every kernel is ``@njit(cache=True)`` and touches only numpy arrays and scalars. ``record`` selects
between the two ways a kernel runs:

- ``record=True`` (the ``Board`` object, MCTS roots): every write to ``st`` goes through the undo
  journal, the position hash is appended to the history and the superko hash set, and superko is
  checked according to ``st[H_KO_RULE]``;
- ``record=False`` (playouts, search scratch copies): no journal, no history, simple ko only.

Colours are ints (BLACK = 1, WHITE = 2); moves are padded points (``PASS_POINT`` = 0 is the pass).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .layout import (
    BLACK,
    BORDER,
    EMPTY,
    H_CAP,
    H_CAPS_BLACK,
    H_KO,
    H_KO_COLOR,
    H_KO_RULE,
    H_LAST,
    H_MOVE,
    H_N,
    H_NEMPTY,
    H_OFF_HIST,
    H_OFF_MARKS,
    H_OFF_TCOUNT,
    H_OFF_TKEYS,
    H_PASSES,
    H_REMOVALS,
    H_S,
    H_SUICIDE,
    H_TO_PLAY,
    H_TSIZE,
    H_TUSED,
    H_W,
    ILLEGAL_KO,
    ILLEGAL_OCCUPIED,
    ILLEGAL_SUICIDE,
    ILLEGAL_SUPERKO,
    J_START,
    J_TOP,
    K_SEED,
    K_SIDE,
    K_ZOB,
    KO_SIMPLE,
    KO_SITUATIONAL,
    LEGAL,
    NEED_GROW,
    OFF_COLOR,
    PASS_POINT,
    WHITE,
)


@njit(cache=True)
def _set(st, jr, i, value, record):
    """st[i] = value, journaled when recording so that ``undo`` can restore it."""
    if record:
        t = jr[J_TOP]
        jr[t] = i
        jr[t + 1] = st[i]
        jr[J_TOP] = t + 2
    st[i] = value


@njit(cache=True)
def _neighbour(p, w, d):
    if d == 0:
        return p - w
    if d == 1:
        return p - 1
    if d == 2:
        return p + 1
    return p + w


# ----------------------------------------------------------------------------- empty-point list


@njit(cache=True)
def _remove_empty(st, jr, p, s, record):
    epos = OFF_COLOR + 5 * s
    elist = OFF_COLOR + 6 * s
    i = st[epos + p]
    n = st[H_NEMPTY] - 1
    last = st[elist + n]
    _set(st, jr, elist + i, last, record)
    _set(st, jr, epos + last, i, record)
    _set(st, jr, epos + p, -1, record)
    _set(st, jr, H_NEMPTY, n, record)


@njit(cache=True)
def _add_empty(st, jr, p, s, record):
    n = st[H_NEMPTY]
    _set(st, jr, OFF_COLOR + 6 * s + n, p, record)
    _set(st, jr, OFF_COLOR + 5 * s + p, n, record)
    _set(st, jr, H_NEMPTY, n + 1, record)


# ----------------------------------------------------------------------------- superko hash set


@njit(cache=True)
def _key(hk, position_hash, next_color, ko_rule):
    """Hash-set key of a position: with situational superko the side to move is part of it."""
    key = position_hash
    if ko_rule == KO_SITUATIONAL and next_color == WHITE:
        key ^= hk[K_SIDE]
    if key == np.uint64(0):  # 0 marks a free slot
        key = np.uint64(1)
    return key


@njit(cache=True)
def _slot(st, hk, key):
    mask = st[H_TSIZE] - 1
    base = st[H_OFF_TKEYS]
    i = np.int64(key & np.uint64(mask))
    while True:
        k = hk[base + i]
        if k == key or k == np.uint64(0):
            return i
        i = (i + 1) & mask


@njit(cache=True)
def _seen(st, hk, key):
    i = _slot(st, hk, key)
    return hk[st[H_OFF_TKEYS] + i] == key and st[st[H_OFF_TCOUNT] + i] > 0


@njit(cache=True)
def _count_key(st, hk, key, delta):
    i = _slot(st, hk, key)
    if hk[st[H_OFF_TKEYS] + i] == np.uint64(0):
        hk[st[H_OFF_TKEYS] + i] = key
        st[H_TUSED] += 1
    st[st[H_OFF_TCOUNT] + i] += delta


# ----------------------------------------------------------------------------- chains


@njit(cache=True)
def _chain_hash(st, hk, head_stone, color):
    s_len = st[H_S]
    nxt = OFF_COLOR + 2 * s_len
    zob = K_ZOB + (color - 1) * s_len
    x = np.uint64(0)
    s = head_stone
    while True:
        x ^= hk[zob + s]
        s = st[nxt + s]
        if s == head_stone:
            break
    return x


@njit(cache=True)
def _adjacency(st, p, w, color, chain):
    """How many of p's neighbours belong to ``chain`` (a head) of ``color``."""
    head = OFF_COLOR + st[H_S]
    n = 0
    for d in range(4):
        q = _neighbour(p, w, d)
        if st[OFF_COLOR + q] == color and st[head + q] == chain:
            n += 1
    return n


@njit(cache=True)
def _first_seen(st, p, w, d, color, chain):
    """True when no neighbour before direction d belongs to the same chain."""
    head = OFF_COLOR + st[H_S]
    for j in range(d):
        q = _neighbour(p, w, j)
        if st[OFF_COLOR + q] == color and st[head + q] == chain:
            return False
    return True


@njit(cache=True)
def legal_code(st, hk, p, color, superko):
    """LEGAL or the reason the move is illegal; never changes the state."""
    if p == PASS_POINT:
        return LEGAL
    s_len = st[H_S]
    w = st[H_W]
    head = OFF_COLOR + s_len
    plib = OFF_COLOR + 3 * s_len
    if st[OFF_COLOR + p] != EMPTY:
        return ILLEGAL_OCCUPIED
    if p == st[H_KO] and color == st[H_KO_COLOR]:
        return ILLEGAL_KO
    other = 3 - color
    has_liberty = False
    captures = False
    for d in range(4):
        q = _neighbour(p, w, d)
        cq = st[OFF_COLOR + q]
        if cq == EMPTY:
            has_liberty = True
        elif cq == color:
            chain = st[head + q]
            if st[plib + chain] > _adjacency(st, p, w, color, chain):
                has_liberty = True
        elif cq == other:
            chain = st[head + q]
            if st[plib + chain] == _adjacency(st, p, w, other, chain):
                captures = True
    suicide = not has_liberty and not captures
    if suicide and st[H_SUICIDE] == 0:
        return ILLEGAL_SUICIDE
    ko_rule = st[H_KO_RULE]
    # With no stone ever removed, every new position holds one stone more than any before: no repeat.
    if superko and ko_rule != KO_SIMPLE and (st[H_REMOVALS] > 0 or captures or suicide):
        h = hk[st[H_OFF_HIST] + st[H_MOVE]] ^ hk[K_ZOB + (color - 1) * s_len + p]
        for d in range(4):
            q = _neighbour(p, w, d)
            cq = st[OFF_COLOR + q]
            if cq == other and captures:
                chain = st[head + q]
                if st[plib + chain] == _adjacency(st, p, w, other, chain) and _first_seen(
                    st, p, w, d, other, chain
                ):
                    h ^= _chain_hash(st, hk, chain, other)
            elif cq == color and suicide:
                chain = st[head + q]
                if _first_seen(st, p, w, d, color, chain):
                    h ^= _chain_hash(st, hk, chain, color)
        if suicide:
            h ^= hk[K_ZOB + (color - 1) * s_len + p]
        if _seen(st, hk, _key(hk, h, other, ko_rule)):
            return ILLEGAL_SUPERKO
    return LEGAL


@njit(cache=True)
def _merge(st, jr, a, b, record):
    """Join chain b into chain a (the larger keeps its head)."""
    s_len = st[H_S]
    head = OFF_COLOR + s_len
    nxt = OFF_COLOR + 2 * s_len
    plib = OFF_COLOR + 3 * s_len
    size = OFF_COLOR + 4 * s_len
    if st[size + a] < st[size + b]:
        a, b = b, a
    s = b
    while True:
        _set(st, jr, head + s, a, record)
        s = st[nxt + s]
        if s == b:
            break
    next_a = st[nxt + a]
    next_b = st[nxt + b]
    _set(st, jr, nxt + a, next_b, record)
    _set(st, jr, nxt + b, next_a, record)
    _set(st, jr, size + a, st[size + a] + st[size + b], record)
    _set(st, jr, plib + a, st[plib + a] + st[plib + b], record)


@njit(cache=True)
def _remove_chain(st, hk, jr, chain, color, record):
    """Take a chain off the board; returns (stones removed, xor of their Zobrist keys)."""
    s_len = st[H_S]
    w = st[H_W]
    head = OFF_COLOR + s_len
    nxt = OFF_COLOR + 2 * s_len
    plib = OFF_COLOR + 3 * s_len
    zob = K_ZOB + (color - 1) * s_len
    x = np.uint64(0)
    n = 0
    s = chain
    while True:
        _set(st, jr, OFF_COLOR + s, EMPTY, record)
        _add_empty(st, jr, s, s_len, record)
        x ^= hk[zob + s]
        for d in range(4):
            q = _neighbour(s, w, d)
            cq = st[OFF_COLOR + q]
            if cq == BLACK or cq == WHITE:
                hq = st[head + q]
                _set(st, jr, plib + hq, st[plib + hq] + 1, record)
        n += 1
        s = st[nxt + s]
        if s == chain:
            break
    return n, x


@njit(cache=True)
def _put_stone(st, jr, p, color, record):
    """Place a stone and join it to its neighbours' chains, without captures."""
    s_len = st[H_S]
    w = st[H_W]
    head = OFF_COLOR + s_len
    nxt = OFF_COLOR + 2 * s_len
    plib = OFF_COLOR + 3 * s_len
    size = OFF_COLOR + 4 * s_len
    _set(st, jr, OFF_COLOR + p, color, record)
    _remove_empty(st, jr, p, s_len, record)
    _set(st, jr, head + p, p, record)
    _set(st, jr, nxt + p, p, record)
    _set(st, jr, size + p, 1, record)
    liberties = 0
    for d in range(4):
        q = _neighbour(p, w, d)
        cq = st[OFF_COLOR + q]
        if cq == EMPTY:
            liberties += 1
        elif cq == BLACK or cq == WHITE:
            hq = st[head + q]
            _set(st, jr, plib + hq, st[plib + hq] - 1, record)
    _set(st, jr, plib + p, liberties, record)
    for d in range(4):
        q = _neighbour(p, w, d)
        if st[OFF_COLOR + q] == color:
            a = st[head + p]
            b = st[head + q]
            if a != b:
                _merge(st, jr, a, b, record)


@njit(cache=True)
def needs_grow(st, jr):
    """True when one more recorded move might not fit in the history, hash set or journal."""
    s_len = st[H_S]
    return (
        st[H_MOVE] + 2 >= st[H_CAP]
        or 2 * (st[H_TUSED] + 2) >= st[H_TSIZE]
        or jr[J_TOP] + 2 * (16 * s_len + 64) > jr.shape[0]
    )


@njit(cache=True)
def play(st, hk, jr, p, color, record):
    """Play ``color`` at point p (PASS_POINT passes). Returns LEGAL or the illegality code,
    leaving the state untouched when the move is rejected; NEED_GROW asks for bigger arrays."""
    if record and needs_grow(st, jr):
        return NEED_GROW
    code = legal_code(st, hk, p, color, record)
    if code != LEGAL:
        return code
    other = 3 - color
    k = st[H_MOVE]
    if record:
        st[st[H_OFF_MARKS] + k] = jr[J_TOP]
    x = np.uint64(0)
    if p == PASS_POINT:
        _set(st, jr, H_KO, 0, record)
        _set(st, jr, H_PASSES, st[H_PASSES] + 1, record)
    else:
        s_len = st[H_S]
        w = st[H_W]
        head = OFF_COLOR + s_len
        plib = OFF_COLOR + 3 * s_len
        size = OFF_COLOR + 4 * s_len
        if record:
            x ^= hk[K_ZOB + (color - 1) * s_len + p]
        _put_stone(st, jr, p, color, record)
        captured = 0
        ko_point = 0
        for d in range(4):
            q = _neighbour(p, w, d)
            if st[OFF_COLOR + q] == other:
                hq = st[head + q]
                if st[plib + hq] == 0:
                    n, xs = _remove_chain(st, hk, jr, hq, other, record)
                    captured += n
                    x ^= xs
                    ko_point = q
        hp = st[head + p]
        suicided = 0
        if st[plib + hp] == 0:  # reached only when suicide is allowed
            suicided, xs = _remove_chain(st, hk, jr, hp, color, record)
            x ^= xs
            _set(st, jr, H_CAPS_BLACK + other - 1, st[H_CAPS_BLACK + other - 1] + suicided, record)
        if captured > 0:
            _set(st, jr, H_CAPS_BLACK + color - 1, st[H_CAPS_BLACK + color - 1] + captured, record)
            _set(st, jr, H_REMOVALS, st[H_REMOVALS] + captured, record)
        if suicided > 0:
            _set(st, jr, H_REMOVALS, st[H_REMOVALS] + suicided, record)
        if captured == 1 and suicided == 0 and st[size + hp] == 1 and st[plib + hp] == 1:
            _set(st, jr, H_KO, ko_point, record)
            _set(st, jr, H_KO_COLOR, other, record)
        elif st[H_KO] != 0:
            _set(st, jr, H_KO, 0, record)
        if st[H_PASSES] != 0:
            _set(st, jr, H_PASSES, 0, record)
    _set(st, jr, H_LAST, p, record)
    _set(st, jr, H_TO_PLAY, other, record)
    if record:
        _set(st, jr, H_MOVE, k + 1, record)
        h = hk[st[H_OFF_HIST] + k] ^ x
        hk[st[H_OFF_HIST] + k + 1] = h
        _count_key(st, hk, _key(hk, h, other, st[H_KO_RULE]), 1)
    else:
        st[H_MOVE] = k + 1
    return LEGAL


@njit(cache=True)
def undo(st, hk, jr):
    """Take back the last recorded move; False when there is none."""
    k = st[H_MOVE]
    if k == 0:
        return False
    _count_key(st, hk, _key(hk, hk[st[H_OFF_HIST] + k], st[H_TO_PLAY], st[H_KO_RULE]), -1)
    mark = st[st[H_OFF_MARKS] + k - 1]
    t = jr[J_TOP]
    while t > mark:
        t -= 2
        st[jr[t]] = jr[t + 1]
    jr[J_TOP] = t
    return True


@njit(cache=True)
def position_hash(st, hk):
    """Zobrist hash of the stones on the board, computed from scratch."""
    s_len = st[H_S]
    h = hk[K_SEED]
    for p in range(s_len):
        c = st[OFF_COLOR + p]
        if c == BLACK or c == WHITE:
            h ^= hk[K_ZOB + (c - 1) * s_len + p]
    return h


@njit(cache=True)
def reset_history(st, hk, jr):
    """Forget the move history: the current position becomes move 0 (after setup stones)."""
    st[H_MOVE] = 0
    st[H_KO] = 0
    st[H_PASSES] = 0
    st[H_LAST] = -1
    st[H_REMOVALS] = 0
    jr[J_TOP] = J_START
    tsize = st[H_TSIZE]
    st[st[H_OFF_TCOUNT] : st[H_OFF_TCOUNT] + tsize] = 0
    hk[st[H_OFF_TKEYS] : st[H_OFF_TKEYS] + tsize] = 0
    st[H_TUSED] = 0
    h = position_hash(st, hk)
    hk[st[H_OFF_HIST]] = h
    _count_key(st, hk, _key(hk, h, st[H_TO_PLAY], st[H_KO_RULE]), 1)


@njit(cache=True)
def rebuild(st, hk, jr, colors):
    """Set the board to ``colors`` (int8[N*N], row-major from the top-left) and forget the history.

    Returns -1 on success, else the action index of a stone whose chain would have no liberty
    (the state is then inconsistent and the caller restores a copy)."""
    n = st[H_N]
    w = st[H_W]
    s_len = st[H_S]
    st[OFF_COLOR : OFF_COLOR + 7 * s_len] = 0
    for p in range(s_len):
        st[OFF_COLOR + p] = BORDER
        st[OFF_COLOR + 5 * s_len + p] = -1
    st[H_NEMPTY] = 0
    for r in range(n):
        for c in range(n):
            p = (r + 1) * w + c + 1
            st[OFF_COLOR + p] = EMPTY
            _add_empty(st, jr, p, s_len, False)
    for a in range(n * n):
        if colors[a] == BLACK or colors[a] == WHITE:
            p = (a // n + 1) * w + a % n + 1
            _put_stone(st, jr, p, colors[a], False)
    head = OFF_COLOR + s_len
    plib = OFF_COLOR + 3 * s_len
    for a in range(n * n):
        p = (a // n + 1) * w + a % n + 1
        c = st[OFF_COLOR + p]
        if (c == BLACK or c == WHITE) and st[plib + st[head + p]] == 0:
            return a
    reset_history(st, hk, jr)
    return -1


@njit(cache=True)
def rebuild_hash_set(st, hk, sides):
    """Refill the superko hash set from the history (after the arrays were grown).
    ``sides[k]`` is the side to move at history index k."""
    tsize = st[H_TSIZE]
    st[st[H_OFF_TCOUNT] : st[H_OFF_TCOUNT] + tsize] = 0
    hk[st[H_OFF_TKEYS] : st[H_OFF_TKEYS] + tsize] = 0
    st[H_TUSED] = 0
    ko_rule = st[H_KO_RULE]
    for i in range(st[H_MOVE] + 1):
        _count_key(st, hk, _key(hk, hk[st[H_OFF_HIST] + i], sides[i], ko_rule), 1)


@njit(cache=True)
def chain_liberties(st, p):
    """Exact number of liberties of the chain through point p (0 for an empty point)."""
    s_len = st[H_S]
    w = st[H_W]
    if st[OFF_COLOR + p] != BLACK and st[OFF_COLOR + p] != WHITE:
        return 0
    nxt = OFF_COLOR + 2 * s_len
    seen = np.zeros(s_len, np.bool_)
    n = 0
    s = p
    while True:
        for d in range(4):
            q = _neighbour(s, w, d)
            if st[OFF_COLOR + q] == EMPTY and not seen[q]:
                seen[q] = True
                n += 1
        s = st[nxt + s]
        if s == p:
            break
    return n


@njit(cache=True)
def legal_actions(st, hk, color):
    """Legal actions of ``color`` in ascending order (row-major points, then N*N = pass)."""
    n = st[H_N]
    w = st[H_W]
    out = np.empty(n * n + 1, np.int64)
    count = 0
    for r in range(n):
        base = (r + 1) * w + 1
        for c in range(n):
            p = base + c
            if st[OFF_COLOR + p] == EMPTY and legal_code(st, hk, p, color, True) == LEGAL:
                out[count] = r * n + c
                count += 1
    out[count] = n * n
    return out[: count + 1]


@njit(cache=True)
def legal_mask(st, hk, color):
    """Boolean mask over the N*N+1 actions (last = pass, always legal)."""
    n = st[H_N]
    w = st[H_W]
    out = np.zeros(n * n + 1, np.bool_)
    for r in range(n):
        base = (r + 1) * w + 1
        for c in range(n):
            p = base + c
            if st[OFF_COLOR + p] == EMPTY and legal_code(st, hk, p, color, True) == LEGAL:
                out[r * n + c] = True
    out[n * n] = True
    return out


@njit(cache=True)
def stones(st):
    """The board as int8[N, N] (0 empty, 1 black, 2 white), row 0 at the top."""
    n = st[H_N]
    w = st[H_W]
    out = np.empty((n, n), np.int8)
    for r in range(n):
        for c in range(n):
            out[r, c] = st[OFF_COLOR + (r + 1) * w + c + 1]
    return out


@njit(cache=True)
def area_owner(colors_padded, n, w):
    """Tromp-Taylor ownership of every padded point: a stone owns its point; an empty region
    belongs to a colour when it reaches stones of that colour only, else to nobody (0)."""
    s_len = colors_padded.shape[0]
    owner = np.zeros(s_len, np.int8)
    done = np.zeros(s_len, np.bool_)
    stack = np.empty(s_len, np.int64)
    region = np.empty(s_len, np.int64)
    for r in range(n):
        for c in range(n):
            p = (r + 1) * w + c + 1
            color = colors_padded[p]
            if color == BLACK or color == WHITE:
                owner[p] = color
                continue
            if done[p]:
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
def area_difference(st):
    """Tromp-Taylor area of black minus area of white (no komi)."""
    n = st[H_N]
    w = st[H_W]
    s_len = st[H_S]
    owner = area_owner(st[OFF_COLOR : OFF_COLOR + s_len], n, w)
    diff = 0
    for p in range(s_len):
        if owner[p] == BLACK:
            diff += 1
        elif owner[p] == WHITE:
            diff -= 1
    return diff
