"""Fast local features of AlphaGo's rollout policy (Silver et al. 2016, Extended Data Table 4), in numba.

A candidate move ``p`` of the player ``color`` activates a handful of binary features; each is an
index into ONE weight table of ``2 ** table_bits`` floats. Small features own fixed slots below
``RESERVED``; pattern features are hashed (splitmix64 of the pattern code, a per-kind salt and the
model's ``hash_seed``) into ``[RESERVED, 2 ** table_bits)``. Colours are seen by the player:
0 empty, 1 own, 2 opponent, 3 off the board. Liberties are exact chain liberties (``libs[head]``).

========================  =====  =====================================================================
feature                   slots  active when
========================  =====  =====================================================================
non-response pattern      hash   always: the 3x3 pattern around p (8 colours; for the 4 orthogonal
                                 stones their liberties 1, 2, >= 3), reduced over the 8 symmetries
capture                   6      p captures: captured stones 1, 2, >= 3, x (an own chain in atari
                                 touches a captured chain: "save atari by capture")
save atari                4      no capture, an own neighbour chain is in atari and the chain after
                                 p has liberties 2 / >= 3, x (the saved chain has 1 / > 1 stones)
self-atari                3      no capture and the chain after p has 1 liberty: its size 1, 2, >= 3
atari                     2      no capture, an opponent neighbour chain has 2 liberties, x (the
                                 chain after p has 1 / >= 2 liberties)
edge line                 4      p is on line 1, 2, 3 or 4 (from the nearest edge)
own eye                   1      p fills a true eye of the player (``tenuki.envs.go.playout.is_true_eye``)
response                  1      p is in the 12-point diamond around the previous move
response pattern          hash   same: the diamond around the previous move (12 colours, an atari bit
                                 for each stone), the previous move's liberties and p's place in it,
                                 reduced over the 8 symmetries
neighbour                 8      p is 8-connected to the previous move (one slot per direction)
distance to last move     8      Manhattan distance d = 1..MAX_DISTANCE to the previous move
distance to own last      8      same to the move before it (the player's own last move)
========================  =====  =====================================================================

The static group (pattern .. own eye) depends on p's neighbourhood and on the liberties of the
chains touching p only, so a playout can cache its weight per point and refresh only the points a
move disturbs; the last-move group is added near the two previous moves.

Deviations from the paper: patterns are hashed (collisions allowed) and symmetry-reduced; capture,
self-atari, atari, edge-line, own-eye and distance features are extra (the paper's tree policy has
self-atari and the distances); there is no nakade feature. "Liberties after p" counts the empty
neighbours of p, the liberties of the own chains p joins and the captured stones next to p (not
captured stones elsewhere along the chain), capped at 3. Suicide is never a candidate.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tenuki.envs.go.kernel_base import _neighbour
from tenuki.envs.go.layout import BORDER, EMPTY, H_KO, H_KO_COLOR, H_N, H_S, H_W, OFF_COLOR
from tenuki.envs.go.playout import is_true_eye

# Fixed slots.
F_RESPONSE = 0
F_NEIGHBOUR = 1  # 8
F_CAPTURE = 9  # 6
F_SAVE_ATARI = 15  # 4
F_SELF_ATARI = 19  # 3
F_ATARI = 22  # 2
F_LINE = 24  # 4
F_EYE = 28
MAX_DISTANCE = 8
F_DIST_LAST = 32  # MAX_DISTANCE
F_DIST_LAST2 = F_DIST_LAST + MAX_DISTANCE  # MAX_DISTANCE
RESERVED = 64
SALT_PATTERN3 = 1
SALT_RESPONSE = 2
MAX_STATIC = 7  # static features of one move at most
MAX_DYNAMIC = 6  # last-move features of one move at most
MAX_FEATURES = MAX_STATIC + MAX_DYNAMIC
MARK_LEN_EXTRA = 1  # mark arrays are [S + 1]; the last entry holds the current stamp
SCRATCH_LEN = 32

FIXED_NAMES = {F_RESPONSE: "response"}
FIXED_NAMES.update({F_NEIGHBOUR + i: f"neighbour_{d}" for i, d in enumerate(["N", "NE", "E", "SE", "S", "SW", "W", "NW"])})
FIXED_NAMES.update({F_CAPTURE + i + 3 * s: f"capture_{n}{'_saves' if s else ''}"
                    for s in range(2) for i, n in enumerate(("1", "2", "3+"))})
FIXED_NAMES.update({F_SAVE_ATARI + 2 * a + b: f"save_atari_libs{('2', '3+')[a]}_size{('1', '2+')[b]}"
                    for a in range(2) for b in range(2)})
FIXED_NAMES.update({F_SELF_ATARI + i: f"self_atari_size_{n}" for i, n in enumerate(("1", "2", "3+"))})
FIXED_NAMES.update({F_ATARI: "atari_in_self_atari", F_ATARI + 1: "atari"})
FIXED_NAMES.update({F_LINE + i: f"line_{i + 1}" for i in range(4)})
FIXED_NAMES[F_EYE] = "own_eye"
FIXED_NAMES.update({F_DIST_LAST + i: f"distance_last_{i + 1}" for i in range(MAX_DISTANCE)})
FIXED_NAMES.update({F_DIST_LAST2 + i: f"distance_last2_{i + 1}" for i in range(MAX_DISTANCE)})


def _symmetries() -> list:
    """The 8 symmetries of the square acting on (dr, dc) offsets."""
    out = []
    for flip in (False, True):
        for turns in range(4):
            def f(dr, dc, flip=flip, turns=turns):
                if flip:
                    dc = -dc
                for _ in range(turns):
                    dr, dc = dc, -dr
                return dr, dc
            out.append(f)
    return out


# 3x3 ring, clockwise from north; orthogonal slots are the even ones.
RING = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))
# 12-point diamond around the previous move.
DIAMOND = ((-1, 0), (0, 1), (1, 0), (0, -1), (-2, 0), (-1, 1), (0, 2), (1, 1), (2, 0), (1, -1), (0, -2), (-1, -1))
RING_POS = np.array([[RING.index(f(*o)) for o in RING] for f in _symmetries()], np.int64)  # [8 symmetries, 8]
DIAMOND_POS = np.array([[DIAMOND.index(f(*o)) for o in DIAMOND] for f in _symmetries()], np.int64)  # [8, 12]
DIAMOND_INDEX = np.full((5, 5), -1, np.int64)  # [dr + 2, dc + 2] -> diamond slot
for _j, (_dr, _dc) in enumerate(DIAMOND):
    DIAMOND_INDEX[_dr + 2, _dc + 2] = _j
DIAMOND_OFFSETS = np.array(DIAMOND, np.int64)  # [12, 2]
RING_INDEX = np.full((3, 3), -1, np.int64)  # [dr + 1, dc + 1] -> ring slot
for _j, (_dr, _dc) in enumerate(RING):
    RING_INDEX[_dr + 1, _dc + 1] = _j


@njit(cache=True, inline="always")
def hashed_index(code, salt, seed, mask):
    """splitmix64 of (code, salt, seed) into the hashed part of the table ``[RESERVED, mask]``."""
    z = np.uint64(code) ^ (np.uint64(salt) * np.uint64(0x9E3779B97F4A7C15)) ^ np.uint64(seed)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    i = np.int64(z & np.uint64(mask))
    if i < RESERVED:
        i += RESERVED
    return i


@njit(cache=True, inline="always")
def new_stamp(mark):
    mark[-1] += 1
    return mark[-1]


@njit(cache=True)
def chain_liberty_count(st, chain, mark):
    """Exact liberties of the chain with head ``chain`` (walks it; ``mark`` [S + 1] scratch)."""
    s_len = st[H_S]
    w = st[H_W]
    nxt = OFF_COLOR + 2 * s_len
    stamp = new_stamp(mark)
    n = 0
    s = chain
    while True:
        for d in range(4):
            q = _neighbour(s, w, d)
            if st[OFF_COLOR + q] == EMPTY and mark[q] != stamp:
                mark[q] = stamp
                n += 1
        s = st[nxt + s]
        if s == chain:
            break
    return n


@njit(cache=True)
def all_liberties(st, libs, mark):
    """libs[head] = exact liberties of every chain on the board ([S]; other entries untouched)."""
    n = st[H_N]
    w = st[H_W]
    head = OFF_COLOR + st[H_S]
    for r in range(n):
        for c in range(n):
            p = (r + 1) * w + c + 1
            col = st[OFF_COLOR + p]
            if col != EMPTY and st[head + p] == p:
                libs[p] = chain_liberty_count(st, p, mark)


@njit(cache=True, inline="always")
def relative_colour(col, color):
    if col == EMPTY:
        return 0
    if col == BORDER:
        return 3
    return 1 if col == color else 2


@njit(cache=True)
def liberties_after(st, p, color, libs, mark):
    """Liberties (capped at 3) of the player's chain after playing p; see the module's deviations."""
    s_len = st[H_S]
    w = st[H_W]
    head = OFF_COLOR + s_len
    nxt = OFF_COLOR + 2 * s_len
    other = 3 - color
    stamp = new_stamp(mark)
    mark[p] = stamp
    n = 0
    for d in range(4):
        q = _neighbour(p, w, d)
        c = st[OFF_COLOR + q]
        if c == EMPTY or (c == other and libs[st[head + q]] == 1):
            mark[q] = stamp
            n += 1
    if n >= 3:
        return 3
    for d in range(4):
        q = _neighbour(p, w, d)
        if st[OFF_COLOR + q] != color:
            continue
        chain = st[head + q]
        seen = False
        for e in range(d):
            r = _neighbour(p, w, e)
            seen |= st[OFF_COLOR + r] == color and st[head + r] == chain
        if seen:
            continue
        s = chain
        while True:
            for e in range(4):
                r = _neighbour(s, w, e)
                if st[OFF_COLOR + r] == EMPTY and mark[r] != stamp:
                    mark[r] = stamp
                    n += 1
                    if n >= 3:
                        return 3
            s = st[nxt + s]
            if s == chain:
                break
    return n


@njit(cache=True)
def _touches_own_atari(st, chain, color, libs):
    """Does the (opponent) chain touch a chain of ``color`` in atari?"""
    s_len = st[H_S]
    w = st[H_W]
    head = OFF_COLOR + s_len
    nxt = OFF_COLOR + 2 * s_len
    s = chain
    while True:
        for d in range(4):
            q = _neighbour(s, w, d)
            if st[OFF_COLOR + q] == color and libs[st[head + q]] == 1:
                return True
        s = st[nxt + s]
        if s == chain:
            break
    return False


@njit(cache=True)
def static_features(st, p, color, libs, mark, seed, mask, out, k):
    """Write the static features of the empty point p for ``color`` to out[k:]; return the new k,
    or -1 when p is suicide (not a candidate). Ko is the caller's business."""
    s_len = st[H_S]
    w = st[H_W]
    n = st[H_N]
    head = OFF_COLOR + s_len
    size = OFF_COLOR + 4 * s_len
    other = 3 - color
    # 3x3 ring values (4 bits a slot: colour * 4 + liberty code of orthogonal stones).
    v0 = v1 = v2 = v3 = v4 = v5 = v6 = v7 = 0
    n_empty = 0
    own_atari_size = 0
    own_size_after = 1
    capture_size = 0
    save_by_capture = False
    opp_two = False
    for slot in range(8):
        if slot == 0:
            q = p - w
        elif slot == 1:
            q = p - w + 1
        elif slot == 2:
            q = p + 1
        elif slot == 3:
            q = p + w + 1
        elif slot == 4:
            q = p + w
        elif slot == 5:
            q = p + w - 1
        elif slot == 6:
            q = p - 1
        else:
            q = p - w - 1
        col = st[OFF_COLOR + q]
        v = relative_colour(col, color) * 4
        if slot % 2 == 0 and (col == color or col == other):
            h = st[head + q]
            lib = libs[h]
            v += min(3, lib)
            # first time this chain is seen among the orthogonal neighbours?
            first = True
            for e in range(0, slot, 2):
                if e == 0:
                    r = p - w
                elif e == 2:
                    r = p + 1
                else:
                    r = p + w
                first &= not (st[OFF_COLOR + r] == col and st[head + r] == h)
            if first:
                if col == color:
                    own_size_after += st[size + h]
                    if lib == 1 and st[size + h] > own_atari_size:
                        own_atari_size = st[size + h]
                elif lib == 1:
                    capture_size += st[size + h]
                    if not save_by_capture:
                        save_by_capture = _touches_own_atari(st, h, color, libs)
                elif lib == 2:
                    opp_two = True
        elif slot % 2 == 0 and col == EMPTY:
            n_empty += 1
        if slot == 0:
            v0 = v
        elif slot == 1:
            v1 = v
        elif slot == 2:
            v2 = v
        elif slot == 3:
            v3 = v
        elif slot == 4:
            v4 = v
        elif slot == 5:
            v5 = v
        elif slot == 6:
            v6 = v
        else:
            v7 = v
    la = 3
    if n_empty <= 1 or own_atari_size > 0 or opp_two:
        la = liberties_after(st, p, color, libs, mark)
    if la == 0 and capture_size == 0:
        return -1
    best = -1
    for t in range(8):
        code = ((v0 << (4 * RING_POS[t, 0])) | (v1 << (4 * RING_POS[t, 1])) | (v2 << (4 * RING_POS[t, 2]))
                | (v3 << (4 * RING_POS[t, 3])) | (v4 << (4 * RING_POS[t, 4])) | (v5 << (4 * RING_POS[t, 5]))
                | (v6 << (4 * RING_POS[t, 6])) | (v7 << (4 * RING_POS[t, 7])))
        if best < 0 or code < best:
            best = code
    out[k] = hashed_index(best, SALT_PATTERN3, seed, mask)
    k += 1
    if capture_size > 0:
        out[k] = F_CAPTURE + min(capture_size, 3) - 1 + 3 * save_by_capture
        k += 1
    else:
        if own_atari_size > 0 and la >= 2:
            out[k] = F_SAVE_ATARI + 2 * (la >= 3) + (own_atari_size > 1)
            k += 1
        if la == 1:
            out[k] = F_SELF_ATARI + min(own_size_after, 3) - 1
            k += 1
        if opp_two:
            out[k] = F_ATARI + (la >= 2)
            k += 1
    r = p // w - 1
    c = p % w - 1
    line = min(min(r, c), min(n - 1 - r, n - 1 - c))
    if line <= 3:
        out[k] = F_LINE + line
        k += 1
    if is_true_eye(st, p, color):
        out[k] = F_EYE
        k += 1
    return k


@njit(cache=True)
def response_indices(st, last, color, libs, seed, mask, out, scratch):
    """Hashed response-pattern index of each of the 12 diamond slots around the previous move
    ``last`` (a point, > 0) for the player ``color``: out[j] [12]. ``scratch`` [>= 8] int64."""
    n = st[H_N]
    w = st[H_W]
    head = OFF_COLOR + st[H_S]
    rl = last // w - 1
    cl = last % w - 1
    for t in range(8):
        scratch[t] = 0
    for j in range(12):
        rr = rl + DIAMOND_OFFSETS[j, 0]
        cc = cl + DIAMOND_OFFSETS[j, 1]
        if rr < 0 or rr >= n or cc < 0 or cc >= n:
            v = 3
        else:
            q = (rr + 1) * w + cc + 1
            col = st[OFF_COLOR + q]
            v = relative_colour(col, color)
            if col != EMPTY and libs[st[head + q]] == 1:
                v += 4
        for t in range(8):
            scratch[t] |= v << (3 * DIAMOND_POS[t, j])
    centre = 0
    if st[OFF_COLOR + last] != EMPTY:
        centre = min(libs[st[head + last]], 3)
    for j in range(12):
        best = -1
        for t in range(8):
            code = scratch[t] | (centre << 36) | (DIAMOND_POS[t, j] << 38)
            if best < 0 or code < best:
                best = code
        out[j] = hashed_index(best, SALT_RESPONSE, seed, mask)


@njit(cache=True, inline="always")
def last_move_features(p, last, w, resp, out, k):
    """Features of p relative to the previous move ``last`` (> 0): response, response pattern
    (``resp`` from response_indices), neighbour, distance. Returns the new k."""
    dr = p // w - last // w
    dc = p % w - last % w
    d = abs(dr) + abs(dc)
    if d <= 2:
        out[k] = F_RESPONSE
        out[k + 1] = resp[DIAMOND_INDEX[dr + 2, dc + 2]]
        k += 2
    if abs(dr) <= 1 and abs(dc) <= 1:
        out[k] = F_NEIGHBOUR + RING_INDEX[dr + 1, dc + 1]
        k += 1
    if d <= MAX_DISTANCE:
        out[k] = F_DIST_LAST + d - 1
        k += 1
    return k


@njit(cache=True, inline="always")
def last2_features(p, last2, w, out, k):
    """Distance of p to the player's own previous move ``last2`` (> 0)."""
    d = abs(p // w - last2 // w) + abs(p % w - last2 % w)
    if 1 <= d <= MAX_DISTANCE:
        out[k] = F_DIST_LAST2 + d - 1
        k += 1
    return k


@njit(cache=True)
def candidate_features(st, color, last, last2, seed, mask, libs, mark, scratch, resp, cand, offsets, feats):
    """Every candidate move of ``color`` in ``st`` (empty, not suicide, not the simple-ko point;
    own eyes included) in point order, with its features: cand[i] the point, feats[offsets[i]:
    offsets[i + 1]] its feature indices. ``last`` / ``last2``: previous two moves as points (<= 0:
    none or a pass). Fills libs (all chains). Returns the number of candidates.
    Shapes: cand [N*N], offsets [N*N + 1], feats [N*N * MAX_FEATURES], resp [12]."""
    n = st[H_N]
    w = st[H_W]
    all_liberties(st, libs, mark)
    if last > 0:
        response_indices(st, last, color, libs, seed, mask, resp, scratch)
    ko = st[H_KO] if st[H_KO_COLOR] == color else -1
    count = 0
    k = 0
    offsets[0] = 0
    for r in range(n):
        for c in range(n):
            p = (r + 1) * w + c + 1
            if st[OFF_COLOR + p] != EMPTY or p == ko:
                continue
            k1 = static_features(st, p, color, libs, mark, seed, mask, feats, k)
            if k1 < 0:
                continue
            if last > 0:
                k1 = last_move_features(p, last, w, resp, feats, k1)
            if last2 > 0:
                k1 = last2_features(p, last2, w, feats, k1)
            cand[count] = p
            count += 1
            offsets[count] = k1
            k = k1
    return count
