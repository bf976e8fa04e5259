"""The rollout policy's incremental playout, in numba (``playout_init`` / ``playout_choose`` /
``playout_step``, and ``_rollouts`` behind ``RolloutPolicy.playouts`` / ``ownership_counts``): each point's
exp(static score) is cached per colour and only the points a move disturbs are refreshed; the
previous two moves' features multiply the points near them at sampling time. Own true eyes are
never candidates (so that playouts end), and a player left with no candidate passes."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tenuki.agents.go.rollout.features import (
    DIAMOND_INDEX,
    F_DIST_LAST,
    F_DIST_LAST2,
    F_EYE,
    F_NEIGHBOUR,
    F_RESPONSE,
    MAX_DISTANCE,
    MAX_FEATURES,
    RING_INDEX,
    SCRATCH_LEN,
    all_liberties,
    chain_liberty_count,
    new_stamp,
    response_indices,
    static_features,
)
from tenuki.envs.go.kernel_base import _neighbour
from tenuki.envs.go.layout import (
    BLACK,
    EMPTY,
    H_KO,
    H_KO_COLOR,
    H_N,
    H_NEMPTY,
    H_PASSES,
    H_S,
    H_SUICIDE,
    H_TO_PLAY,
    H_W,
    OFF_COLOR,
    PASS_POINT,
    WHITE,
)
from tenuki.envs.go.playout import next_random, playout_play, terminal_area_difference
from tenuki.envs.go.scoring import count_area_owners


@njit(cache=True)
def _refresh(st, p, weights, seed, mask, libs, mark, fs, cache):
    """cache[(colour - 1) * S + p] = exp(static score of the empty point p) for both colours; 0
    when p is not a playout candidate for the colour (suicide, own true eye)."""
    s_len = st[H_S]
    for color in (1, 2):
        e = 0.0
        k = static_features(st, p, color, libs, mark, seed, mask, fs, 0)
        if k > 0 and fs[k - 1] != F_EYE:  # the eye feature comes last
            s = 0.0
            for i in range(k):
                s += weights[fs[i]]
            e = math.exp(s)
        cache[(color - 1) * s_len + p] = e


@njit(cache=True)
def playout_init(st, weights, seed, mask, libs, mark, fs, cache, factor):
    """Liberties of every chain and the static cache of every point; factor[:] = 1."""
    all_liberties(st, libs, mark)
    s_len = st[H_S]
    elist = OFF_COLOR + 6 * s_len
    cache[:] = 0.0
    factor[:] = 1.0
    for i in range(st[H_NEMPTY]):
        _refresh(st, st[elist + i], weights, seed, mask, libs, mark, fs, cache)


@njit(cache=True)
def _mark_dirty(q, dirty, nd, dmark, stamp):
    if dmark[q] != stamp:
        dmark[q] = stamp
        dirty[nd] = q
        nd += 1
    return nd


@njit(cache=True, inline="always")
def _ring_point(p, w, i):
    """The i-th of the 8 points around p, clockwise from north."""
    if i == 0:
        return p - w
    if i == 1:
        return p - w + 1
    if i == 2:
        return p + 1
    if i == 3:
        return p + w + 1
    if i == 4:
        return p + w
    if i == 5:
        return p + w - 1
    if i == 6:
        return p - 1
    return p - w - 1


@njit(cache=True)
def _affected_chain(st, h, libs, dirty, nd, dmark, dstamp, mark_libs, mark_atari):
    """After chain h's liberties changed: mark its liberties dirty (``mark_libs``) and the liberty
    of every adjacent enemy chain in atari (``mark_atari``: capturing it may now save, or no longer
    save, a chain of h's colour)."""
    s_len = st[H_S]
    w = st[H_W]
    head = OFF_COLOR + s_len
    nxt = OFF_COLOR + 2 * s_len
    enemy = 3 - st[OFF_COLOR + h]
    s = h
    while True:
        for d in range(4):
            q = _neighbour(s, w, d)
            c = st[OFF_COLOR + q]
            if c == EMPTY:
                if mark_libs:
                    nd = _mark_dirty(q, dirty, nd, dmark, dstamp)
            elif c == enemy and mark_atari and libs[st[head + q]] == 1:
                e = st[head + q]
                t = e
                while True:  # the enemy chain's only liberty
                    for d2 in range(4):
                        r = _neighbour(t, w, d2)
                        if st[OFF_COLOR + r] == EMPTY:
                            nd = _mark_dirty(r, dirty, nd, dmark, dstamp)
                    t = st[nxt + t]
                    if t == e:
                        break
        s = st[nxt + s]
        if s == h:
            break
    return nd


@njit(cache=True, inline="always")
def _add_chain(chains, nchains, h):
    for i in range(nchains):
        if chains[i] == h:
            return nchains
    chains[nchains] = h
    return nchains + 1


@njit(cache=True)
def playout_step(st, p, color, weights, seed, mask, libs, mark, fs, cache, work, dmark):
    """Play p (a playout candidate or PASS_POINT) for ``color`` and bring libs and the cache up to
    date. Refreshed: the 8 points around p and around each captured stone, and the liberties of
    each chain whose liberties changed, when its count was or is <= 3 (a chain with >= 4 liberties
    gives code 3 and 3 liberties after any move next to it, so only its count class matters).
    work [4 * S] int64 scratch: captured stones, affected chain heads, dirty points, old liberty
    counts of the affected chains. dmark [S + 1] stamps of the dirty points."""
    if p == PASS_POINT:
        playout_play(st, p, color)
        return
    s_len = st[H_S]
    w = st[H_W]
    head = OFF_COLOR + s_len
    nxt = OFF_COLOR + 2 * s_len
    other = 3 - color
    captured = work[:s_len]
    chains = work[s_len : 2 * s_len]
    dirty = work[2 * s_len : 3 * s_len]
    old = work[3 * s_len :]
    ncap = 0
    own_min = 4  # fewest liberties among the own chains p joins (4: none, or >= 4)
    for d in range(4):
        q = _neighbour(p, w, d)
        cq = st[OFF_COLOR + q]
        if cq == color:
            own_min = min(own_min, libs[st[head + q]])
        elif cq == other and libs[st[head + q]] == 1:
            h = st[head + q]
            libs[h] = 0  # listed (and about to be captured)
            s = h
            while True:
                captured[ncap] = s
                ncap += 1
                s = st[nxt + s]
                if s == h:
                    break
    playout_play(st, p, color)
    chains[0] = st[head + p]
    old[0] = own_min
    nchains = 1
    for d in range(4):
        q = _neighbour(p, w, d)
        if st[OFF_COLOR + q] == other:
            k = _add_chain(chains, nchains, st[head + q])
            if k > nchains:
                old[nchains] = libs[st[head + q]]
                nchains = k
    for i in range(ncap):
        for d in range(4):
            q = _neighbour(captured[i], w, d)
            if st[OFF_COLOR + q] == color:
                k = _add_chain(chains, nchains, st[head + q])
                if k > nchains:
                    old[nchains] = libs[st[head + q]]
                    nchains = k
    dstamp = new_stamp(dmark)
    nd = 0
    for i in range(8):
        nd = _mark_dirty(_ring_point(p, w, i), dirty, nd, dmark, dstamp)
    for j in range(ncap):
        s = captured[j]
        nd = _mark_dirty(s, dirty, nd, dmark, dstamp)
        for i in range(8):
            nd = _mark_dirty(_ring_point(s, w, i), dirty, nd, dmark, dstamp)
    # Recount every affected chain first: the atari test of the second pass reads them all.
    for i in range(nchains):
        libs[chains[i]] = chain_liberty_count(st, chains[i], mark)
    for i in range(nchains):
        new = libs[chains[i]]
        if old[i] <= 3 or new <= 3:
            nd = _affected_chain(st, chains[i], libs, dirty, nd, dmark, dstamp, True, old[i] == 1 or new == 1)
    for i in range(nd):
        q = dirty[i]
        if st[OFF_COLOR + q] == EMPTY:
            _refresh(st, q, weights, seed, mask, libs, mark, fs, cache)
        else:
            cache[q] = 0.0
            cache[s_len + q] = 0.0


@njit(cache=True)
def _near_factors(st, centre, is_last, w, n, expw, resp, factor, near, nn):
    """Multiply factor[q] by exp(weights of q's features relative to ``centre``) for every empty
    point q within MAX_DISTANCE of it: the previous move (``is_last``: distance, response, response
    pattern, neighbour; the same features as ``last_move_features``) or the player's own previous
    move (distance only, ``last2_features``). Appends the points to near[nn:]; returns nn."""
    rc = centre // w - 1
    cc = centre % w - 1
    dist = F_DIST_LAST if is_last else F_DIST_LAST2
    for dr in range(max(-MAX_DISTANCE, -rc), min(MAX_DISTANCE, n - 1 - rc) + 1):
        span = MAX_DISTANCE - abs(dr)
        row = (rc + dr + 1) * w + 1
        for c in range(max(cc - span, 0), min(cc + span, n - 1) + 1):
            q = row + c
            if st[OFF_COLOR + q] != EMPTY:
                continue
            dc = c - cc
            d = abs(dr) + abs(dc)
            if d == 0:
                continue
            f = expw[dist + d - 1]
            if is_last and d <= 2:
                f *= expw[F_RESPONSE] * expw[resp[DIAMOND_INDEX[dr + 2, dc + 2]]]
                if abs(dr) <= 1 and abs(dc) <= 1:
                    f *= expw[F_NEIGHBOUR + RING_INDEX[dr + 1, dc + 1]]
            factor[q] *= f
            near[nn] = q
            nn += 1
    return nn


@njit(cache=True)
def playout_choose(st, color, last, last2, expw, seed, mask, libs, mark, fs, resp, scratch, cache, factor, near,
                   rng):
    """Sample the move of ``color`` from the cached static weights times the last-move factors:
    a point, PASS_POINT when every candidate weighs 0."""
    s_len = st[H_S]
    w = st[H_W]
    n = st[H_N]
    elist = OFF_COLOR + 6 * s_len
    nn = 0
    if last > 0:
        response_indices(st, last, color, libs, seed, mask, resp, scratch)
        nn = _near_factors(st, last, True, w, n, expw, resp, factor, near, nn)
    if last2 > 0:
        nn = _near_factors(st, last2, False, w, n, expw, resp, factor, near, nn)
    if st[H_KO] != 0 and st[H_KO_COLOR] == color:
        factor[st[H_KO]] = 0.0
        near[nn] = st[H_KO]
        nn += 1
    base = (color - 1) * s_len
    total = 0.0
    for i in range(st[H_NEMPTY]):
        q = st[elist + i]
        total += cache[base + q] * factor[q]
    chosen = PASS_POINT
    if total > 0.0:
        u = next_random(rng) / 2147483648.0 * total
        acc = 0.0
        for i in range(st[H_NEMPTY]):
            q = st[elist + i]
            e = cache[base + q] * factor[q]
            if e > 0.0:
                chosen = q
                acc += e
                if acc > u:
                    break
    for i in range(nn):
        factor[near[i]] = 1.0
    return chosen


@njit(cache=True)
def _playout_in_place(st, weights, expw, seed, mask, last, last2, rng, max_moves, libs, mark, fs, resp, scratch,
                      cache, factor, near, work, dmark):
    """One rollout on the scratch state ``st`` (changed in place) until two passes or max_moves.
    Returns the moves played."""
    playout_init(st, weights, seed, mask, libs, mark, fs, cache, factor)
    moves = 0
    while moves < max_moves and st[H_PASSES] < 2:
        color = st[H_TO_PLAY]
        p = playout_choose(st, color, last, last2, expw, seed, mask, libs, mark, fs, resp, scratch, cache, factor,
                           near, rng)
        playout_step(st, p, color, weights, seed, mask, libs, mark, fs, cache, work, dmark)
        last2 = last
        last = p
        moves += 1
    return moves


@njit(cache=True)
def _rollouts(st, weights, expw, seed, mask, rng_seed, count, max_moves, last, last2, out_diff, base,
              ownership, black_counts, white_counts):
    """``count`` rollouts from ``st`` (unchanged); out_diff[i] = black area - white area at the end of
    rollout i. With ``ownership`` (an estimate of a position, often a finished game's): the pass count
    is reset, black moves first in even-numbered rollouts and white in odd ones, and every point's
    final area owner is counted into black_counts / white_counts (int[N*N]). Returns the moves played."""
    s_len = st[H_S]
    scratch_st = np.empty(base, np.int64)
    rng = np.empty(1, np.uint64)
    rng[0] = np.uint64(rng_seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)
    libs = np.zeros(s_len, np.int64)
    mark = np.zeros(s_len + 1, np.int64)
    dmark = np.zeros(s_len + 1, np.int64)
    fs = np.zeros(MAX_FEATURES, np.int64)
    resp = np.zeros(12, np.int64)
    scratch = np.zeros(SCRATCH_LEN, np.int64)
    cache = np.zeros(2 * s_len, np.float64)
    factor = np.ones(s_len, np.float64)
    near = np.zeros(2 * s_len, np.int64)
    work = np.zeros(4 * s_len, np.int64)
    total = 0
    for i in range(count):
        scratch_st[:] = st[:base]
        scratch_st[H_SUICIDE] = 0
        if ownership:
            scratch_st[H_PASSES] = 0
            scratch_st[H_TO_PLAY] = BLACK if i % 2 == 0 else WHITE
        total += _playout_in_place(scratch_st, weights, expw, seed, mask, last, last2, rng, max_moves, libs, mark,
                                   fs, resp, scratch, cache, factor, near, work, dmark)
        out_diff[i] = terminal_area_difference(scratch_st)
        if ownership:
            count_area_owners(scratch_st, black_counts, white_counts)
    return total
