"""Memory layout of a Go state: a few flat numpy arrays shared by every kernel.

A position lives in three arrays so that a numba call takes few arguments (each array argument
costs about 70 ns of dispatch):

``st`` (int32) — header, board sections, undo marks, superko table counts::

    [0, HEADER)                      scalars, indexed by the H_* constants below
    [OFF_COLOR,  +S)                 colour of each padded point: EMPTY / BLACK / WHITE / BORDER
    [OFF_COLOR + 1*S, +S)  HEAD      representative stone of the chain through the point
    [OFF_COLOR + 2*S, +S)  NEXT      next stone of the chain (circular linked list)
    [OFF_COLOR + 3*S, +S)  PLIB      pseudo-liberties of the chain, kept at its head (see below)
    [OFF_COLOR + 4*S, +S)  SIZE      number of stones of the chain, kept at its head
    [OFF_COLOR + 5*S, +S)  EPOS      index of the point in ELIST, -1 when the point holds a stone
    [OFF_COLOR + 6*S, +S)  ELIST     the empty points, first H_NEMPTY entries valid (unordered)
    [H_OFF_MARKS, +CAP)              journal top before move k (for undo)
    [H_OFF_TCOUNT, +TSIZE)           how many history entries hold the key in the same slot of TKEYS

``hk`` (uint64) — Zobrist keys, hash history and superko hash-set keys::

    [0] side-to-move key (xor-ed in for situational superko), [1] hash of the empty board,
    [K_ZOB, +2*S)                    Zobrist key of (colour, point): K_ZOB + (colour-1)*S + point
    [H_OFF_HIST, +CAP)               position hash after move k, k = 0 .. move number
    [H_OFF_TKEYS, +TSIZE)            open-addressing hash set over the history (0 = free slot)

``jr`` (int32) — the undo journal: ``jr[0]`` is the top; pairs ``(index into st, old value)`` follow.

The padded board has a shared border column: with ``W = N + 1`` the point (row r, column c)
(row 0 is the top line, column 0 is file A) sits at ``p = (r + 1) * W + c + 1``; every ``p % W == 0``
and the rows above and below are BORDER. ``S = (N + 2) * (N + 1) + 1`` points in all. Point 0 is
always border, so it doubles as the pass move (``PASS_POINT``).

Pseudo-liberties: PLIB counts (stone, empty neighbour) pairs of a chain, so a liberty shared by
two stones counts twice. It is updated in O(1) per stone placed or removed, and is exact for what
the rules need: a chain is captured iff its count is 0, and a chain's only liberty is p iff its
count equals the number of p's neighbours in the chain. Exact liberty counts come from
``kernels.chain_liberties`` (a walk), used outside hot loops.
"""

from __future__ import annotations

import numpy as np

EMPTY, BLACK, WHITE, BORDER = 0, 1, 2, 3
PASS_POINT = 0

KO_SIMPLE, KO_POSITIONAL, KO_SITUATIONAL = 0, 1, 2
KO_RULES = {"simple": KO_SIMPLE, "positional": KO_POSITIONAL, "situational": KO_SITUATIONAL}

# Legality codes returned by the kernels.
LEGAL = 0
ILLEGAL_OCCUPIED = 1
ILLEGAL_SUICIDE = 2
ILLEGAL_KO = 3
ILLEGAL_SUPERKO = 4
NEED_GROW = -1  # the history / journal / hash set is full: the caller grows the arrays and retries

# Header slots of ``st``.
H_N = 0
H_W = 1
H_S = 2
H_TO_PLAY = 3
H_KO = 4  # point the player H_KO_COLOR may not play (simple ko), 0 when none
H_KO_COLOR = 5
H_PASSES = 6  # consecutive passes
H_MOVE = 7  # moves played since the start (or the last setup)
H_CAPS_BLACK = 8  # stones captured by black
H_CAPS_WHITE = 9
H_KO_RULE = 10
H_SUICIDE = 11
H_LAST = 12  # last move as a point, 0 = pass, -1 = none yet
H_CAP = 13  # history capacity (moves)
H_TSIZE = 14  # hash-set slots (power of two)
H_TUSED = 15  # hash-set slots ever occupied
H_OFF_MARKS = 16
H_OFF_TCOUNT = 17
H_OFF_HIST = 18
H_OFF_TKEYS = 19
H_REMOVALS = 20  # stones removed from the board since the start: 0 means no position can repeat
H_NEMPTY = 21
HEADER = 32
OFF_COLOR = HEADER

K_SIDE = 0
K_SEED = 1
K_ZOB = 2

J_TOP = 0
J_START = 1


def padded_size(n: int) -> int:
    return (n + 2) * (n + 1) + 1


def base_len(n: int) -> int:
    """Length of the part of ``st`` that a playout needs (header and board sections)."""
    return OFF_COLOR + 7 * padded_size(n)


def journal_bound(n: int) -> int:
    """Upper bound of int32 slots one move writes into the journal (pairs)."""
    return 2 * (16 * padded_size(n) + 64)


_ZOBRIST_CACHE: dict[int, np.ndarray] = {}


def zobrist_keys(n: int) -> np.ndarray:
    """The fixed Zobrist keys of an n x n board: [side, empty, black points..., white points...]."""
    keys = _ZOBRIST_CACHE.get(n)
    if keys is None:
        rng = np.random.Generator(np.random.PCG64(0x7E4E0C1 + n))
        keys = rng.integers(1, np.iinfo(np.uint64).max, size=K_ZOB + 2 * padded_size(n), dtype=np.uint64)
        _ZOBRIST_CACHE[n] = keys
    return keys
