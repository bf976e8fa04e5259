"""Position history kernels: Zobrist hashing, the superko hash set over every earlier position,
its exact pre-filters, and resetting / re-keying the history."""

from __future__ import annotations

from numba import njit

from tenuki.envs.go.kernel_base import _seed_key, _side_key, _zobrist
from tenuki.envs.go.layout import (
    BLACK,
    COUNT_SHIFT,
    H_JTOP,
    H_KO,
    H_KO_RULE,
    H_LAST,
    H_MAXBLACK,
    H_MOVE,
    H_NBLACK,
    H_OFF_COUNTS,
    H_OFF_HIST,
    H_OFF_JOURNAL,
    H_OFF_SIDES,
    H_OFF_TCOUNT,
    H_OFF_TKEYS,
    H_PASSES,
    H_REMOVALS,
    H_S,
    H_SUICIDE,
    H_TO_PLAY,
    H_TSIZE,
    H_TUSED,
    KO_SIMPLE,
    KO_SITUATIONAL,
    OFF_COLOR,
    WHITE,
)


@njit(cache=True, inline="always")
def _key(st, position_hash, next_color):
    """Hash-set key of a position: with situational superko the side to move is part of it."""
    key = position_hash
    if st[H_KO_RULE] == KO_SITUATIONAL and next_color == WHITE:
        key ^= _side_key(st)
    if key == 0:  # 0 marks a free slot
        key = 1
    return key


@njit(cache=True, inline="always")
def _slot(st, key):
    mask = st[H_TSIZE] - 1
    base = st[H_OFF_TKEYS]
    i = key & mask
    while True:
        k = st[base + i]
        if k == key or k == 0:
            return i
        i = (i + 1) & mask


@njit(cache=True, inline="always")
def _seen(st, key):
    i = _slot(st, key)
    return st[st[H_OFF_TKEYS] + i] == key and st[st[H_OFF_TCOUNT] + i] > 0


@njit(cache=True, inline="always")
def _count_key(st, key, delta):
    i = _slot(st, key)
    if st[st[H_OFF_TKEYS] + i] == 0:
        st[st[H_OFF_TKEYS] + i] = key
        st[H_TUSED] += 1
    st[st[H_OFF_TCOUNT] + i] += delta


@njit(cache=True, inline="always")
def _stone_counts(st):
    return st[H_NBLACK] * COUNT_SHIFT + st[H_NBLACK + 1]


@njit(cache=True)
def quiet_move_may_repeat(st, color):
    """Can a move of ``color`` that captures nothing recreate an earlier position? Only if some
    position of the history has exactly one stone of ``color`` more than now (exact pre-filter
    that spares the hash-set probes in almost every position)."""
    if st[H_KO_RULE] == KO_SIMPLE or st[H_REMOVALS] == 0:
        return False
    target = _stone_counts(st) + (COUNT_SHIFT if color == BLACK else 1)
    counts = st[H_OFF_COUNTS]
    for i in range(st[H_MOVE] + 1):
        if st[counts + i] == target:
            return True
    return False


@njit(cache=True, inline="always")
def superko_active(st, color):
    """Can a move of ``color`` repeat an earlier position? Not under simple ko; otherwise only
    when ``color`` has fewer stones than in some earlier position: a move that is not suicide
    leaves the mover one stone more, and every count up to the historical maximum was seen
    (counts rise by one per move). Suicide can always repeat, so allowing it keeps the check."""
    if st[H_KO_RULE] == KO_SIMPLE:
        return False
    return st[H_SUICIDE] != 0 or st[H_NBLACK + color - 1] < st[H_MAXBLACK + color - 1]


@njit(cache=True)
def _chain_hash(st, head_stone, color):
    nxt = OFF_COLOR + 2 * st[H_S]
    x = 0
    s = head_stone
    while True:
        x ^= _zobrist(st, color, s)
        s = st[nxt + s]
        if s == head_stone:
            break
    return x


@njit(cache=True)
def position_hash(st):
    """Zobrist hash of the stones on the board, computed from scratch."""
    s_len = st[H_S]
    h = _seed_key(st)
    for p in range(s_len):
        c = st[OFF_COLOR + p]
        if c == BLACK or c == WHITE:
            h ^= _zobrist(st, c, p)
    return h


@njit(cache=True)
def reset_history(st):
    """Forget the move history: the current position becomes move 0 (after setup stones)."""
    st[H_MOVE] = 0
    st[H_KO] = 0
    st[H_PASSES] = 0
    st[H_LAST] = -1
    st[H_REMOVALS] = 0
    st[H_JTOP] = st[H_OFF_JOURNAL]
    tsize = st[H_TSIZE]
    st[st[H_OFF_TCOUNT] : st[H_OFF_TCOUNT] + tsize] = 0
    st[st[H_OFF_TKEYS] : st[H_OFF_TKEYS] + tsize] = 0
    st[H_TUSED] = 0
    st[H_MAXBLACK] = st[H_NBLACK]
    st[H_MAXBLACK + 1] = st[H_NBLACK + 1]
    h = position_hash(st)
    st[st[H_OFF_HIST]] = h
    st[st[H_OFF_COUNTS]] = _stone_counts(st)
    st[st[H_OFF_SIDES]] = st[H_TO_PLAY]
    _count_key(st, _key(st, h, st[H_TO_PLAY]), 1)


@njit(cache=True)
def rebuild_hash_set(st):
    """Refill the superko hash set from the history (after the arrays were grown)."""
    tsize = st[H_TSIZE]
    st[st[H_OFF_TCOUNT] : st[H_OFF_TCOUNT] + tsize] = 0
    st[st[H_OFF_TKEYS] : st[H_OFF_TKEYS] + tsize] = 0
    st[H_TUSED] = 0
    for i in range(st[H_MOVE] + 1):
        _count_key(st, _key(st, st[st[H_OFF_HIST] + i], st[st[H_OFF_SIDES] + i]), 1)


@njit(cache=True)
def change_side_to_move(st, color):
    """Set the side to move of the current position (SGF PL, GTP colour changes) and re-key
    it in the superko hash set."""
    k = st[H_MOVE]
    h = st[st[H_OFF_HIST] + k]
    _count_key(st, _key(st, h, st[H_TO_PLAY]), -1)
    st[H_TO_PLAY] = color
    st[st[H_OFF_SIDES] + k] = color
    _count_key(st, _key(st, h, color), 1)


@njit(cache=True)
def compact_hash_set(st):
    """Drop the keys of undone positions (they stay in the open-addressing set as tombstones)
    once a quarter of the slots is used: search work states play and undo millions of moves."""
    if 4 * st[H_TUSED] > st[H_TSIZE]:
        rebuild_hash_set(st)
