"""Go rules as numba kernels over the state array described in ``layout.py``.

Every kernel is ``@njit(cache=True)`` and touches only the int64 state array ``st`` and scalars.
``record`` selects between the two ways a kernel runs:

- ``record=True`` (the ``Board`` object, MCTS roots): every write goes through the undo journal,
  the move and the position hash are appended to the history and the superko hash set, and
  superko is checked according to ``st[H_KO_RULE]``;
- ``record=False`` (playouts, search scratch copies of ``base_len`` entries): no journal, no
  history, simple ko only.

Colours are ints (BLACK = 1, WHITE = 2); moves are padded points (``PASS_POINT`` = 0 is the pass)
except in the ``*_action`` entry points, which take actions (row-major, ``N * N`` = pass).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tenuki.envs.go.kernel_base import (
    _add_empty,
    _neighbour,
    _remove_empty,
    _set,
    _zobrist,
    action_to_point,
    legal_out_offset,
    point_to_action,
)
from tenuki.envs.go.layout import (
    BLACK,
    BORDER,
    COUNT_SHIFT,
    EMPTY,
    H_CAP,
    H_CAPS_BLACK,
    H_JTOP,
    H_KO,
    H_KO_COLOR,
    H_LAST,
    H_MAXBLACK,
    H_MOVE,
    H_N,
    H_NBLACK,
    H_NEMPTY,
    H_OFF_COUNTS,
    H_OFF_HIST,
    H_OFF_MARKS,
    H_OFF_MOVES,
    H_OFF_SIDES,
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
    ILLEGAL_OFF_BOARD,
    ILLEGAL_SUICIDE,
    ILLEGAL_SUPERKO,
    LEGAL,
    LEGAL_GAME_OVER,
    LEGAL_RESUMED,
    NEED_GROW,
    OFF_COLOR,
    PASS_POINT,
    WHITE,
)
from tenuki.envs.go.scoring import area_difference, area_owner  # noqa: F401
from tenuki.envs.go.superko import (  # noqa: F401
    _chain_hash,
    _count_key,
    _key,
    _seen,
    _stone_counts,
    change_side_to_move,
    compact_hash_set,
    position_hash,
    quiet_move_may_repeat,
    rebuild_hash_set,
    reset_history,
    superko_active,
)


@njit(cache=True, inline="always")
def _adjacency(st, p, w, color, chain):
    """How many of p's neighbours belong to ``chain`` (a head) of ``color``."""
    head = OFF_COLOR + st[H_S]
    n = 0
    for d in range(4):
        q = _neighbour(p, w, d)
        if st[OFF_COLOR + q] == color and st[head + q] == chain:
            n += 1
    return n


@njit(cache=True, inline="always")
def _first_seen(st, p, w, d, color, chain):
    """True when no neighbour before direction d belongs to the same chain."""
    head = OFF_COLOR + st[H_S]
    for j in range(d):
        q = _neighbour(p, w, j)
        if st[OFF_COLOR + q] == color and st[head + q] == chain:
            return False
    return True


@njit(cache=True, inline="always")
def _same(c, h, color, chain):
    return 1 if c == color and h == chain else 0


@njit(cache=True)
def _hash_after(st, p, color, captures, suicide):
    """Position hash after ``color`` plays p (captures / suicide as found by _legal_code)."""
    s_len = st[H_S]
    w = st[H_W]
    head = OFF_COLOR + s_len
    plib = OFF_COLOR + 3 * s_len
    other = 3 - color
    h = st[st[H_OFF_HIST] + st[H_MOVE]] ^ _zobrist(st, color, p)
    for d in range(4):
        q = _neighbour(p, w, d)
        cq = st[OFF_COLOR + q]
        if cq == other and captures:
            chain = st[head + q]
            if st[plib + chain] == _adjacency(st, p, w, other, chain) and _first_seen(st, p, w, d, other, chain):
                h ^= _chain_hash(st, chain, other)
        elif cq == color and suicide:
            chain = st[head + q]
            if _first_seen(st, p, w, d, color, chain):
                h ^= _chain_hash(st, chain, color)
    if suicide:
        h ^= _zobrist(st, color, p)
    return h


@njit(cache=True, inline="always")
def _legal_code(st, p, color, superko, quiet_may_repeat):
    """Legality with the four neighbours unrolled (the hot path of legal_actions and playouts).

    ``superko``: check the superko rule of st[H_KO_RULE] (the caller passes False when it is
    off, or when superko_active says no move can repeat a position). ``quiet_may_repeat``:
    see quiet_move_may_repeat."""
    if p == PASS_POINT:
        return LEGAL
    s_len = st[H_S]
    w = st[H_W]
    if st[OFF_COLOR + p] != EMPTY:
        return ILLEGAL_OCCUPIED
    if p == st[H_KO] and color == st[H_KO_COLOR]:
        return ILLEGAL_KO
    c0 = st[OFF_COLOR + p - w]
    c1 = st[OFF_COLOR + p - 1]
    c2 = st[OFF_COLOR + p + 1]
    c3 = st[OFF_COLOR + p + w]
    has_liberty = c0 == EMPTY or c1 == EMPTY or c2 == EMPTY or c3 == EMPTY
    if has_liberty and not superko:
        return LEGAL  # the usual case: a liberty, and captures don't matter without superko
    head = OFF_COLOR + s_len
    plib = OFF_COLOR + 3 * s_len
    other = 3 - color
    h0 = st[head + p - w]
    h1 = st[head + p - 1]
    h2 = st[head + p + 1]
    h3 = st[head + p + w]
    # An enemy chain is captured when p is its only liberty: its pseudo-liberties all come from p.
    captures = (
        (c0 == other and st[plib + h0] == 1 + _same(c1, h1, other, h0) + _same(c2, h2, other, h0)
         + _same(c3, h3, other, h0))
        or (c1 == other and st[plib + h1] == 1 + _same(c0, h0, other, h1) + _same(c2, h2, other, h1)
            + _same(c3, h3, other, h1))
        or (c2 == other and st[plib + h2] == 1 + _same(c0, h0, other, h2) + _same(c1, h1, other, h2)
            + _same(c3, h3, other, h2))
        or (c3 == other and st[plib + h3] == 1 + _same(c0, h0, other, h3) + _same(c1, h1, other, h3)
            + _same(c2, h2, other, h3))
    )
    if not has_liberty and not captures:
        # A friendly chain with a liberty other than p keeps the new stone alive.
        has_liberty = (
            (c0 == color and st[plib + h0] > 1 + _same(c1, h1, color, h0) + _same(c2, h2, color, h0)
             + _same(c3, h3, color, h0))
            or (c1 == color and st[plib + h1] > 1 + _same(c0, h0, color, h1) + _same(c2, h2, color, h1)
                + _same(c3, h3, color, h1))
            or (c2 == color and st[plib + h2] > 1 + _same(c0, h0, color, h2) + _same(c1, h1, color, h2)
                + _same(c3, h3, color, h2))
            or (c3 == color and st[plib + h3] > 1 + _same(c0, h0, color, h3) + _same(c1, h1, color, h3)
                + _same(c2, h2, color, h3))
        )
    suicide = not has_liberty and not captures
    if suicide and st[H_SUICIDE] == 0:
        return ILLEGAL_SUICIDE
    if superko and (captures or suicide or quiet_may_repeat):
        h = _hash_after(st, p, color, captures, suicide)
        if _seen(st, _key(st, h, other)):
            return ILLEGAL_SUPERKO
    return LEGAL


@njit(cache=True)
def legal_code(st, p, color, superko):
    """LEGAL or the reason the move is illegal; never changes the state."""
    check = superko and superko_active(st, color)
    return _legal_code(st, p, color, check, check and quiet_move_may_repeat(st, color))


@njit(cache=True)
def _merge(st, a, b, record):
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
        _set(st, head + s, a, record)
        s = st[nxt + s]
        if s == b:
            break
    next_a = st[nxt + a]
    next_b = st[nxt + b]
    _set(st, nxt + a, next_b, record)
    _set(st, nxt + b, next_a, record)
    _set(st, size + a, st[size + a] + st[size + b], record)
    _set(st, plib + a, st[plib + a] + st[plib + b], record)


@njit(cache=True)
def _remove_chain(st, chain, color, record):
    """Take a chain off the board; returns (stones removed, xor of their Zobrist keys)."""
    s_len = st[H_S]
    w = st[H_W]
    head = OFF_COLOR + s_len
    nxt = OFF_COLOR + 2 * s_len
    plib = OFF_COLOR + 3 * s_len
    x = 0
    n = 0
    s = chain
    while True:
        _set(st, OFF_COLOR + s, EMPTY, record)
        _add_empty(st, s, s_len, record)
        if record:
            x ^= _zobrist(st, color, s)
        for d in range(4):
            q = _neighbour(s, w, d)
            cq = st[OFF_COLOR + q]
            if cq == BLACK or cq == WHITE:
                hq = st[head + q]
                _set(st, plib + hq, st[plib + hq] + 1, record)
        n += 1
        s = st[nxt + s]
        if s == chain:
            break
    _set(st, H_NBLACK + color - 1, st[H_NBLACK + color - 1] - n, record)
    return n, x


@njit(cache=True, inline="always")
def _put_stone(st, p, color, record):
    """Place a stone and join it to its neighbours' chains, without captures."""
    s_len = st[H_S]
    w = st[H_W]
    head = OFF_COLOR + s_len
    nxt = OFF_COLOR + 2 * s_len
    plib = OFF_COLOR + 3 * s_len
    size = OFF_COLOR + 4 * s_len
    _set(st, OFF_COLOR + p, color, record)
    _remove_empty(st, p, s_len, record)
    _set(st, head + p, p, record)
    _set(st, nxt + p, p, record)
    _set(st, size + p, 1, record)
    _set(st, H_NBLACK + color - 1, st[H_NBLACK + color - 1] + 1, record)
    liberties = 0
    for d in range(4):
        q = _neighbour(p, w, d)
        cq = st[OFF_COLOR + q]
        if cq == EMPTY:
            liberties += 1
        elif cq == BLACK or cq == WHITE:
            hq = st[head + q]
            _set(st, plib + hq, st[plib + hq] - 1, record)
    _set(st, plib + p, liberties, record)
    for d in range(4):
        q = _neighbour(p, w, d)
        if st[OFF_COLOR + q] == color:
            a = st[head + p]
            b = st[head + q]
            if a != b:
                _merge(st, a, b, record)


@njit(cache=True, inline="always")
def needs_grow(st):
    """True when one more recorded move might not fit in the history, hash set or journal."""
    return (
        st[H_MOVE] + 2 >= st[H_CAP]
        or 2 * (st[H_TUSED] + 2) >= st[H_TSIZE]
        or st[H_JTOP] + 2 * (8 * st[H_N] * st[H_N] + 64) > st.shape[0]
    )


@njit(cache=True)
def play(st, p, color, record):
    """Play ``color`` at point p (PASS_POINT passes). Returns LEGAL or the illegality code,
    leaving the state untouched when the move is rejected; NEED_GROW asks for bigger arrays."""
    if record and needs_grow(st):
        return NEED_GROW
    code = legal_code(st, p, color, record)
    if code != LEGAL:
        return code
    play_unchecked(st, p, color, record)
    return LEGAL


@njit(cache=True)
def play_unchecked(st, p, color, record):
    """``play`` of a move already known to be legal (playouts test legality themselves)."""
    other = 3 - color
    k = st[H_MOVE]
    if record:
        st[st[H_OFF_MARKS] + k] = st[H_JTOP]
    x = 0
    if p == PASS_POINT:
        _set(st, H_KO, 0, record)
        _set(st, H_PASSES, st[H_PASSES] + 1, record)
    else:
        s_len = st[H_S]
        w = st[H_W]
        head = OFF_COLOR + s_len
        plib = OFF_COLOR + 3 * s_len
        size = OFF_COLOR + 4 * s_len
        if record:
            x ^= _zobrist(st, color, p)
        _put_stone(st, p, color, record)
        captured = 0
        ko_point = 0
        for d in range(4):
            q = _neighbour(p, w, d)
            if st[OFF_COLOR + q] == other:
                hq = st[head + q]
                if st[plib + hq] == 0:
                    n, xs = _remove_chain(st, hq, other, record)
                    captured += n
                    x ^= xs
                    ko_point = q
        hp = st[head + p]
        suicided = 0
        if st[plib + hp] == 0:  # reached only when suicide is allowed
            suicided, xs = _remove_chain(st, hp, color, record)
            x ^= xs
            _set(st, H_CAPS_BLACK + other - 1, st[H_CAPS_BLACK + other - 1] + suicided, record)
        if captured > 0:
            _set(st, H_CAPS_BLACK + color - 1, st[H_CAPS_BLACK + color - 1] + captured, record)
        if captured + suicided > 0:
            _set(st, H_REMOVALS, st[H_REMOVALS] + captured + suicided, record)
        if captured == 1 and suicided == 0 and st[size + hp] == 1 and st[plib + hp] == 1:
            _set(st, H_KO, ko_point, record)
            _set(st, H_KO_COLOR, other, record)
        elif st[H_KO] != 0:
            _set(st, H_KO, 0, record)
        if st[H_PASSES] != 0:
            _set(st, H_PASSES, 0, record)
    _set(st, H_LAST, p, record)
    _set(st, H_TO_PLAY, other, record)
    if record:
        _set(st, H_MOVE, k + 1, record)
        h = st[st[H_OFF_HIST] + k] ^ x
        st[st[H_OFF_HIST] + k + 1] = h
        st[st[H_OFF_COUNTS] + k + 1] = _stone_counts(st)
        if st[H_NBLACK + color - 1] > st[H_MAXBLACK + color - 1]:
            _set(st, H_MAXBLACK + color - 1, st[H_NBLACK + color - 1], record)
        st[st[H_OFF_MOVES] + k] = color * COUNT_SHIFT + point_to_action(st, p)
        st[st[H_OFF_SIDES] + k + 1] = other
        _count_key(st, _key(st, h, other), 1)
    else:
        st[H_MOVE] = k + 1


@njit(cache=True)
def play_action(st, action, color):
    """``play`` of an action with recording (the Board's entry point); ``color`` < 0 means the
    side to move. An action outside 0..N*N gives ILLEGAL_OFF_BOARD; a legal move that ends the
    game (two passes in a row) gives LEGAL_GAME_OVER, one played after the end LEGAL_RESUMED."""
    if action < 0 or action > st[H_N] * st[H_N]:
        return ILLEGAL_OFF_BOARD
    if color < 0:
        color = st[H_TO_PLAY]
    passes_before = st[H_PASSES]
    code = play(st, action_to_point(st, action), color, True)
    if code == LEGAL:
        if st[H_PASSES] >= 2:
            return LEGAL_GAME_OVER
        if passes_before >= 2:
            return LEGAL_RESUMED
    return code


@njit(cache=True)
def undo(st):
    """Take back the last recorded move; False when there is none."""
    k = st[H_MOVE]
    if k == 0:
        return False
    _count_key(st, _key(st, st[st[H_OFF_HIST] + k], st[H_TO_PLAY]), -1)
    mark = st[st[H_OFF_MARKS] + k - 1]
    t = st[H_JTOP]
    while t > mark:
        t -= 2
        st[st[t]] = st[t + 1]
    st[H_JTOP] = t
    return True


@njit(cache=True)
def rebuild(st, colors):
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
    st[H_NBLACK] = 0
    st[H_NBLACK + 1] = 0
    for r in range(n):
        for c in range(n):
            p = (r + 1) * w + c + 1
            st[OFF_COLOR + p] = EMPTY
            _add_empty(st, p, s_len, False)
    for a in range(n * n):
        if colors[a] == BLACK or colors[a] == WHITE:
            _put_stone(st, action_to_point(st, a), colors[a], False)
    head = OFF_COLOR + s_len
    plib = OFF_COLOR + 3 * s_len
    for a in range(n * n):
        p = action_to_point(st, a)
        c = st[OFF_COLOR + p]
        if (c == BLACK or c == WHITE) and st[plib + st[head + p]] == 0:
            return a
    reset_history(st)
    return -1


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
def legal_actions_into(st, color, out_array, out):
    """Write the legal actions of ``color`` (< 0: the side to move) in ascending order, pass
    (N*N) last and always legal, to out_array[out:]; return how many there are."""
    if color < 0:
        color = st[H_TO_PLAY]
    n = st[H_N]
    w = st[H_W]
    check = superko_active(st, color)
    quiet = check and quiet_move_may_repeat(st, color)
    count = 0
    for r in range(n):
        base = (r + 1) * w + 1
        for c in range(n):
            p = base + c
            # Branch-free in the common case (whether a point is empty is a coin flip for the
            # branch predictor): an empty point with an empty neighbour is legal unless superko
            # is in play; the rest (no empty neighbour, or superko) takes the full test.
            empty = st[OFF_COLOR + p] == EMPTY
            breathes = (
                (st[OFF_COLOR + p - w] == EMPTY)
                | (st[OFF_COLOR + p - 1] == EMPTY)
                | (st[OFF_COLOR + p + 1] == EMPTY)
                | (st[OFF_COLOR + p + w] == EMPTY)
            )
            legal = empty & breathes
            if empty and (check or not breathes):
                legal = _legal_code(st, p, color, check, quiet) == LEGAL
            out_array[out + count] = r * n + c
            count += 1 if legal else 0
    out_array[out + count] = n * n
    return count + 1


@njit(cache=True)
def legal_actions(st, color):
    """``legal_actions_into`` the LEGAL_OUT section of the state itself."""
    return legal_actions_into(st, color, st, legal_out_offset(st))


@njit(cache=True)
def legal_mask(st, color):
    """Boolean mask over the N*N+1 actions (last = pass, always legal)."""
    n = st[H_N]
    w = st[H_W]
    check = superko_active(st, color)
    quiet = check and quiet_move_may_repeat(st, color)
    mask = np.zeros(n * n + 1, np.bool_)
    for r in range(n):
        base = (r + 1) * w + 1
        for c in range(n):
            p = base + c
            if st[OFF_COLOR + p] == EMPTY and _legal_code(st, p, color, check, quiet) == LEGAL:
                mask[r * n + c] = True
    mask[n * n] = True
    return mask


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
