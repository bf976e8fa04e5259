"""Memory layout of a Go state: ONE flat int64 numpy array shared by every kernel.

One array keeps the numba dispatch cheap (each array argument costs about 70 ns per call) and
makes a copy a single ``memcpy``. With ``S = (N + 2) * (N + 1) + 1`` padded points::

    [0, HEADER)                   scalars, indexed by the H_* constants below
    OFF_COLOR + 0*S   COLOR       EMPTY / BLACK / WHITE / BORDER of each padded point
    OFF_COLOR + 1*S   HEAD        representative stone of the chain through the point
    OFF_COLOR + 2*S   NEXT        next stone of the chain (circular linked list)
    OFF_COLOR + 3*S   PLIB        pseudo-liberties of the chain, kept at its head (see below)
    OFF_COLOR + 4*S   SIZE        number of stones of the chain, kept at its head
    OFF_COLOR + 5*S   EPOS        index of the point in ELIST, -1 when the point holds a stone
    OFF_COLOR + 6*S   ELIST       the empty points, first st[H_NEMPTY] entries valid (unordered)
    OFF_COLOR + 7*S   ZOBRIST     Zobrist key of (colour, point): + (colour - 1) * S + point [2*S]
    OFF_COLOR + 9*S   SIDE, SEED  key xor-ed in for white to move (situational superko); empty-board hash
    OFF_COLOR + 9*S+2 LEGAL_OUT   output buffer of ``legal_actions`` [N*N + 1]
    --- base_len(N): a playout or search scratch copy needs only the part above ---
    H_OFF_MARKS   [CAP]   journal top before move k (undo)
    H_OFF_HIST    [CAP]   position hash after move k, k = 0 .. move number
    H_OFF_COUNTS  [CAP]   black * 4096 + white stone counts after move k (superko pre-filter)
    H_OFF_MOVES   [CAP]   colour * 4096 + action of move k
    H_OFF_SIDES   [CAP]   side to move at history index k (its superko key depends on it)
    H_OFF_TCOUNT  [TSIZE] multiplicity of the key in the same slot of TKEYS
    H_OFF_TKEYS   [TSIZE] open-addressing hash set over the history keys (0 = free slot)
    H_OFF_JOURNAL ...end  undo journal: pairs (index, old value); st[H_JTOP] is the next free slot

The padded board has a shared border column: with ``W = N + 1`` the point (row r, column c)
(row 0 is the top line, column 0 is file A) sits at ``p = (r + 1) * W + c + 1``; every ``p % W == 0``
and the rows above and below are BORDER. Point 0 is always border, so it doubles as the pass move
(``PASS_POINT``).

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
ILLEGAL_OFF_BOARD = 5  # an action outside 0..N*N
LEGAL_GAME_OVER = 6  # play_action: the move was played and it was the second pass in a row
LEGAL_RESUMED = 7  # play_action: the move was played after the game had ended (it is on again)
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
H_OFF_HIST = 17
H_OFF_COUNTS = 18
H_OFF_MOVES = 19
H_OFF_TCOUNT = 20
H_OFF_TKEYS = 21
H_OFF_JOURNAL = 22
H_JTOP = 23
H_REMOVALS = 24  # stones removed from the board since the start: 0 means no position can repeat
H_NEMPTY = 25
H_NBLACK = 26
H_NWHITE = 27
H_MAXBLACK = 28  # most black stones on the board in any position of the history
H_MAXWHITE = 29
H_OFF_SIDES = 30
HEADER = 32
OFF_COLOR = HEADER
COUNT_SHIFT = 4096  # packs (black, white) counts and (colour, action) pairs into one int


def padded_size(n: int) -> int:
    return (n + 2) * (n + 1) + 1


def zobrist_offset(n: int) -> int:
    return OFF_COLOR + 7 * padded_size(n)


def legal_out_offset(n: int) -> int:
    return OFF_COLOR + 9 * padded_size(n) + 2


def base_len(n: int) -> int:
    """Length of the part of ``st`` a playout or a search scratch copy needs."""
    return legal_out_offset(n) + n * n + 1


def journal_bound(n: int) -> int:
    """Upper bound of journal slots one move writes: two per write; a move writes at most about
    8 entries per stone it touches (placing, merging, capturing) plus a constant."""
    return 2 * (8 * n * n + 64)


_ZOBRIST_CACHE: dict[int, np.ndarray] = {}


def zobrist_keys(n: int) -> np.ndarray:
    """Fixed keys of an n x n board: black points, white points [2*S], then side and seed."""
    keys = _ZOBRIST_CACHE.get(n)
    if keys is None:
        rng = np.random.Generator(np.random.PCG64(0x7E4E0C1 + n))
        keys = rng.integers(1, np.iinfo(np.int64).max, size=2 * padded_size(n) + 2, dtype=np.int64)
        _ZOBRIST_CACHE[n] = keys
    return keys
