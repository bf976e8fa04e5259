"""AlphaGo's rollout policy: a linear softmax over fast local features (Silver et al. 2016, Methods
"Rollout policy" and Extended Data Table 4), trained on expert moves and applied in numba.

    p(a | s) = exp(w . phi(s, a)) / sum_b exp(w . phi(s, b))     over the candidate moves b

``phi`` is the sparse binary feature vector of ``rollout_features`` (hashed into one table ``w`` of
``2 ** table_bits`` float32 weights). Candidates are the empty points that are not suicide and not
the simple-ko point; pass is never a candidate. In playouts the player's own true eyes are also
excluded (so that playouts end), and a player left with no candidate passes.

Sections of this file:

- kernels: ``train_game`` (replay a game, score each expert move, one Adagrad step per position),
  ``policy_from_scratch`` / ``rollout_move`` (any position, every candidate's features extracted),
  and the incremental playout (``playout_init`` / ``playout_choose`` / ``playout_step``): each
  point's exp(static score) is cached per colour and only the points a move disturbs are
  refreshed; the previous two moves' features multiply the points near them at sampling time;
- ``RolloutPolicy``: weights + hash seed; ``probabilities(board)``, ``sample(board)``,
  ``playouts(st, ...)`` (the contract of ``envs.go.playout.playouts``), ``save`` / ``load``;
- files: safetensors (one float32 tensor) + a JSON sidecar, written atomically, validated on
  load (``RolloutWeightsError`` names the file and the problem), never unpickled;
- training: ``train_rollout(sources, out_path, games, val_games, epochs, lr, seed)``; games are
  split into train / validation by game.

Accuracy is top-1 (argmax of the scores) over the candidates (own eyes included), on the
positions where the expert did not pass: a pass move is skipped, neither right nor wrong.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from envs.go.kernel_base import _neighbour, action_to_point, point_to_action
from envs.go.kernels import play
from envs.go.layout import (
    COUNT_SHIFT,
    EMPTY,
    H_KO,
    H_KO_COLOR,
    H_LAST,
    H_N,
    H_NEMPTY,
    H_PASSES,
    H_S,
    H_SUICIDE,
    H_TO_PLAY,
    H_W,
    LEGAL,
    OFF_COLOR,
    PASS_POINT,
    base_len,
    padded_size,
)
from envs.go.playout import is_true_eye, next_random, playout_play, terminal_area_difference

from .rollout_features import (
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
    candidate_features,
    chain_liberty_count,
    new_stamp,
    response_indices,
    static_features,
)

FORMAT_NAME = "tenuki-rollout-policy"
FORMAT_VERSION = 1
DEFAULT_TABLE_BITS = 18
MIN_TABLE_BITS, MAX_TABLE_BITS = 8, 24
WEIGHTS_KEY = "weights"


class RolloutWeightsError(ValueError):
    """A rollout-policy weights file cannot be read or written: the message names the file and the problem."""


# ----------------------------------------------------------------------------- workspace


@dataclass
class Workspace:
    """Scratch arrays of the kernels for an n x n board (allocated once, reused)."""

    libs: np.ndarray  # [S] liberties of each chain, at its head
    mark: np.ndarray  # [S + 1] stamp marks, last entry = current stamp
    scratch: np.ndarray  # [SCRATCH_LEN]
    resp: np.ndarray  # [12] hashed response-pattern index of each diamond slot
    cand: np.ndarray  # [N*N] candidate points
    offsets: np.ndarray  # [N*N + 1] feature offsets of each candidate
    feats: np.ndarray  # [N*N * MAX_FEATURES] feature indices
    scores: np.ndarray  # [N*N] float64

    @classmethod
    def new(cls, n: int) -> Workspace:
        s = padded_size(n)
        return cls(np.zeros(s, np.int64), np.zeros(s + 1, np.int64), np.zeros(SCRATCH_LEN, np.int64),
                   np.zeros(12, np.int64), np.zeros(n * n, np.int64), np.zeros(n * n + 1, np.int64),
                   np.zeros(n * n * MAX_FEATURES, np.int64), np.zeros(n * n, np.float64))

    def args(self) -> tuple:
        return self.libs, self.mark, self.scratch, self.resp, self.cand, self.offsets, self.feats


# ----------------------------------------------------------------------------- scoring and training


@njit(cache=True)
def score_candidates(weights, count, offsets, feats, scores):
    """scores[i] = sum of the weights of candidate i's features; returns the argmax (first)."""
    best = 0
    for i in range(count):
        s = 0.0
        for o in range(offsets[i], offsets[i + 1]):
            s += weights[feats[o]]
        scores[i] = s
        if s > scores[best]:
            best = i
    return best


@njit(cache=True)
def _softmax_in_place(scores, count, exclude):
    """scores[:count] -> probabilities; candidates with exclude[i] get 0. Returns the sum before
    normalisation (0 when every candidate is excluded)."""
    m = -1e300
    for i in range(count):
        if not exclude[i] and scores[i] > m:
            m = scores[i]
    z = 0.0
    for i in range(count):
        e = 0.0 if exclude[i] else math.exp(scores[i] - m)
        scores[i] = e
        z += e
    if z > 0.0:
        for i in range(count):
            scores[i] /= z
    return z


@njit(cache=True)
def train_game(st, moves, weights, accum, lr, update, seed, mask, libs, mark, scratch, resp, cand, offsets,
               feats, scores, grad, stats):
    """Replay one game on ``st`` (a scratch state, record=False, changed in place) and, before each
    non-pass move, score the expert move: stats += [positions, correct, -log p, skipped]. With
    ``update``: one Adagrad step on the position's cross-entropy (grad [T] float64 scratch, zero).
    moves: int64 colour * COUNT_SHIFT + action. Returns moves replayed (stops at an illegal one)."""
    last = 0
    last2 = 0
    for i in range(moves.shape[0]):
        color = moves[i] // COUNT_SHIFT
        p = action_to_point(st, moves[i] % COUNT_SHIFT)
        if p != PASS_POINT:
            count = candidate_features(st, color, last, last2, seed, mask, libs, mark, scratch, resp, cand,
                                       offsets, feats)
            target = -1
            for j in range(count):
                if cand[j] == p:
                    target = j
                    break
            if target < 0:
                stats[3] += 1
            else:
                best = score_candidates(weights, count, offsets, feats, scores)
                m = scores[best]
                z = 0.0
                for j in range(count):
                    z += math.exp(scores[j] - m)
                stats[0] += 1
                stats[1] += best == target
                stats[2] += math.log(z) - (scores[target] - m)
                if update:
                    for j in range(count):
                        g = math.exp(scores[j] - m) / z - (1.0 if j == target else 0.0)
                        for o in range(offsets[j], offsets[j + 1]):
                            grad[feats[o]] += g
                    for o in range(offsets[count]):
                        f = feats[o]
                        g = grad[f]
                        if g != 0.0:
                            accum[f] += g * g
                            weights[f] -= lr * g / math.sqrt(accum[f] + 1e-12)
                            grad[f] = 0.0
        if play(st, p, color, False) != LEGAL:
            return i
        last2 = last
        last = p
    return moves.shape[0]


@njit(cache=True)
def policy_from_scratch(st, color, last, last2, weights, seed, mask, exclude_eyes, libs, mark, scratch, resp,
                        cand, offsets, feats, scores):
    """Softmax over the candidates of ``color``: cand[:count] points, scores[:count] probabilities
    (all 0 when no candidate is left). ``exclude_eyes``: own true eyes get 0 (the playout rule)."""
    count = candidate_features(st, color, last, last2, seed, mask, libs, mark, scratch, resp, cand, offsets, feats)
    score_candidates(weights, count, offsets, feats, scores)
    exclude = np.zeros(count, np.bool_)
    if exclude_eyes:
        for i in range(count):
            exclude[i] = is_true_eye(st, cand[i], color)
    _softmax_in_place(scores, count, exclude)
    return count


@njit(cache=True)
def rollout_move(st, weights, seed, mask, last, last2, rng, libs, mark, scratch, resp, cand, offsets, feats,
                 scores):
    """A move of the side to move sampled from the rollout policy, computed from scratch (own eyes
    excluded): a point, PASS_POINT when no candidate is left. rng: uint64[1] xorshift state."""
    color = st[H_TO_PLAY]
    count = policy_from_scratch(st, color, last, last2, weights, seed, mask, True, libs, mark, scratch, resp,
                                cand, offsets, feats, scores)
    u = next_random(rng) / 2147483648.0
    acc = 0.0
    chosen = PASS_POINT
    for i in range(count):
        if scores[i] > 0.0:
            chosen = cand[i]
            acc += scores[i]
            if acc > u:
                break
    return chosen


# ----------------------------------------------------------------------------- incremental playouts


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
def _rollout_playouts(st, weights, expw, seed, mask, rng_seed, count, max_moves, last, last2, out_diff, base):
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
        total += _playout_in_place(scratch_st, weights, expw, seed, mask, last, last2, rng, max_moves, libs, mark,
                                   fs, resp, scratch, cache, factor, near, work, dmark)
        out_diff[i] = terminal_area_difference(scratch_st)
    return total


# ----------------------------------------------------------------------------- the model


@dataclass(eq=False)
class RolloutPolicy:
    """Weights of the rollout policy: ``weights`` float32[2 ** table_bits], the feature ``hash_seed``
    and ``meta`` (the sidecar's "training" object: accuracy, games trained, ...). The methods reuse
    scratch arrays: one object per thread."""

    weights: np.ndarray
    hash_seed: int = 0
    meta: dict = field(default_factory=dict)
    _expw: np.ndarray | None = field(default=None, repr=False)
    _work: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        size = self.weights.shape[0] if self.weights.ndim == 1 else 0
        if size & (size - 1) or not (1 << MIN_TABLE_BITS) <= size <= (1 << MAX_TABLE_BITS):
            raise RolloutWeightsError(f"weights of shape {list(self.weights.shape)}: expected one dimension of "
                                      f"2**B entries, B in {MIN_TABLE_BITS}..{MAX_TABLE_BITS}")

    @classmethod
    def zeros(cls, table_bits: int = DEFAULT_TABLE_BITS, hash_seed: int = 0) -> RolloutPolicy:
        if not MIN_TABLE_BITS <= table_bits <= MAX_TABLE_BITS:
            raise RolloutWeightsError(f"table_bits {table_bits} is outside {MIN_TABLE_BITS}..{MAX_TABLE_BITS}")
        return cls(np.zeros(1 << table_bits, np.float32), int(hash_seed))

    @property
    def table_bits(self) -> int:
        return int(self.weights.shape[0]).bit_length() - 1

    @property
    def mask(self) -> int:
        return self.weights.shape[0] - 1

    def exp_weights(self) -> np.ndarray:
        """exp(w) [T] float64, cached (reset it with ``changed()`` after editing the weights)."""
        if self._expw is None:
            self._expw = np.exp(self.weights.astype(np.float64))
        return self._expw

    def changed(self) -> None:
        self._expw = None

    def workspace(self, n: int) -> Workspace:
        if n not in self._work:
            self._work[n] = Workspace.new(n)
        return self._work[n]

    def probabilities(self, board, exclude_eyes: bool = False) -> np.ndarray:
        """p(a | board) over the N*N + 1 actions of the side to move (pass gets 0 unless no
        candidate is left, then 1). ``exclude_eyes``: the playout variant (own eyes get 0)."""
        st = board._st
        n = int(st[H_N])
        ws = self.workspace(n)
        last, last2 = last_two_moves(board)
        count = policy_from_scratch(st, int(st[H_TO_PLAY]), last, last2, self.weights, self.hash_seed, self.mask,
                                    exclude_eyes, *ws.args(), ws.scores)
        probs = np.zeros(n * n + 1)
        for point, prob in zip(ws.cand[:count], ws.scores[:count]):
            probs[point_to_action(st, int(point))] = prob
        if probs.sum() == 0.0:
            probs[n * n] = 1.0
        return probs

    def sample(self, board, seed: int = 0) -> int:
        """An action for the side to move sampled as in a rollout (own eyes excluded; pass when no
        candidate is left)."""
        st = board._st
        ws = self.workspace(int(st[H_N]))
        last, last2 = last_two_moves(board)
        rng = np.array([(seed * 0x9E3779B97F4A7C15 + 1) % (1 << 64) or 1], np.uint64)
        p = rollout_move(st, self.weights, self.hash_seed, self.mask, last, last2, rng, *ws.args(), ws.scores)
        return int(point_to_action(st, p))

    def playouts(self, st: np.ndarray, seed: int, count: int, max_moves: int, out_diff: np.ndarray,
                 last: int = -1, last2: int = -1) -> int:
        """``count`` rollouts from ``st`` (left unchanged), as ``envs.go.playout.playouts``: out_diff[i]
        = black area - white area (no komi) at the end of rollout i; returns the moves played.
        last / last2: previous two moves as points (default: st's last move, no move before it)."""
        if last < 0:
            last = max(int(st[H_LAST]), 0)
        return _rollout_playouts(st, self.weights, self.exp_weights(), self.hash_seed, self.mask, seed, count,
                                 max_moves, last, max(last2, 0), out_diff, base_len(int(st[H_N])))

    # ------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        return save_rollout_policy(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RolloutPolicy:
        return load_rollout_policy(path)


def last_two_moves(board) -> tuple[int, int]:
    """The previous two moves of a Board as points (0: none, or a pass)."""
    moves = board.moves
    last = int(action_to_point(board._st, moves[-1][1])) if len(moves) >= 1 else 0
    last2 = int(action_to_point(board._st, moves[-2][1])) if len(moves) >= 2 else 0
    return last, last2


# ----------------------------------------------------------------------------- files

# sidecar key -> (JSON type, what it is); all required, others rejected
_SIDECAR_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "format": (str, f'the string "{FORMAT_NAME}"'),
    "format_version": (int, f"the integer {FORMAT_VERSION}"),
    "table_bits": (int, f"an integer in {MIN_TABLE_BITS}..{MAX_TABLE_BITS}"),
    "hash_seed": (int, "an integer >= 0"),
    "features": (dict, "an object (the feature layout: reserved slots, max distance)"),
    "training": (dict, "an object (accuracy, games trained, ...)"),
    "weights_sha256": (str, "a hex string"),
    "weights_bytes": (int, "an integer"),
}


def rollout_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(weights, sidecar) of ``path`` given with the .safetensors or .json suffix, or none."""
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".safetensors"), path.with_name(path.name + ".json")


def _feature_layout() -> dict:
    from . import rollout_features as rf

    return {"reserved": rf.RESERVED, "max_distance": rf.MAX_DISTANCE, "salts": [rf.SALT_PATTERN3, rf.SALT_RESPONSE]}


def _write_atomic(target: Path, data: bytes) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def save_rollout_policy(policy: RolloutPolicy, path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``path.safetensors`` (one float32 tensor "weights") and ``path.json``, atomically: both
    are written to temporary files first, then renamed weights first; the sidecar carries the
    weights' hash, so an interrupted save is caught at load time."""
    from safetensors.numpy import save as st_save

    weights_path, sidecar_path = rollout_paths(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    data = st_save({WEIGHTS_KEY: np.ascontiguousarray(policy.weights, np.float32)},
                   metadata={"format": FORMAT_NAME})
    sidecar = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "table_bits": policy.table_bits,
               "hash_seed": int(policy.hash_seed), "features": _feature_layout(),
               "training": dict(policy.meta), "weights_sha256": hashlib.sha256(data).hexdigest(),
               "weights_bytes": len(data)}
    temporaries = []
    try:
        temporaries.append(_write_atomic(weights_path, data))
        temporaries.append(_write_atomic(sidecar_path, (json.dumps(sidecar, indent=1) + "\n").encode()))
        os.replace(temporaries[0], weights_path)
        os.replace(temporaries[1], sidecar_path)
    except OSError as e:
        for tmp in temporaries:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise RolloutWeightsError(f"{weights_path}: cannot write the rollout policy: {e}") from e
    return weights_path, sidecar_path


def load_rollout_policy(path: str | os.PathLike[str]) -> RolloutPolicy:
    """Read and validate a rollout policy (sidecar keys and types, feature layout, size and hash of
    the weights file, tensor name, dtype and shape). Never unpickles."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    weights_path, sidecar_path = rollout_paths(path)
    try:
        sidecar = json.loads(sidecar_path.read_text())
    except FileNotFoundError as e:
        raise RolloutWeightsError(f"{sidecar_path}: no such sidecar file") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RolloutWeightsError(f"{sidecar_path}: not a JSON sidecar: {e}") from e
    if not isinstance(sidecar, dict):
        raise RolloutWeightsError(f"{sidecar_path}: the sidecar is not a JSON object")
    for key, (kind, what) in _SIDECAR_KEYS.items():
        value = sidecar.get(key)
        if key not in sidecar or not isinstance(value, kind) or isinstance(value, bool):
            raise RolloutWeightsError(f"{sidecar_path}: key {key!r} must be {what}, got {value!r}")
    unknown = sorted(set(sidecar) - set(_SIDECAR_KEYS))
    if unknown:
        raise RolloutWeightsError(f"{sidecar_path}: unknown keys {unknown} (allowed: {sorted(_SIDECAR_KEYS)})")
    if sidecar["format"] != FORMAT_NAME or sidecar["format_version"] != FORMAT_VERSION:
        raise RolloutWeightsError(f"{sidecar_path}: format {sidecar['format']!r} version {sidecar['format_version']} "
                                  f"is not {FORMAT_NAME!r} version {FORMAT_VERSION}")
    bits = sidecar["table_bits"]
    if not MIN_TABLE_BITS <= bits <= MAX_TABLE_BITS:
        raise RolloutWeightsError(f"{sidecar_path}: table_bits {bits} is outside {MIN_TABLE_BITS}..{MAX_TABLE_BITS}")
    if sidecar["features"] != _feature_layout():
        raise RolloutWeightsError(f"{sidecar_path}: feature layout {sidecar['features']} differs from this "
                                  f"version's {_feature_layout()} (weights trained on other features)")
    try:
        data = weights_path.read_bytes()
    except OSError as e:
        raise RolloutWeightsError(f"{weights_path}: cannot read the weights: {e}") from e
    if len(data) != sidecar["weights_bytes"] or hashlib.sha256(data).hexdigest() != sidecar["weights_sha256"]:
        raise RolloutWeightsError(f"{weights_path}: size or hash differs from the sidecar's (a different or "
                                  "interrupted save?)")
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError) as e:
        raise RolloutWeightsError(f"{weights_path}: not a safetensors file: {e}") from e
    if set(tensors) != {WEIGHTS_KEY}:
        raise RolloutWeightsError(f"{weights_path}: tensors {sorted(tensors)}, expected exactly [{WEIGHTS_KEY!r}]")
    weights = tensors[WEIGHTS_KEY]
    if weights.dtype != np.float32 or weights.shape != (1 << bits,):
        raise RolloutWeightsError(f"{weights_path}: {WEIGHTS_KEY!r} is {weights.dtype}{list(weights.shape)}, "
                                  f"expected float32[{1 << bits}] (table_bits {bits})")
    if not np.all(np.isfinite(weights)):
        raise RolloutWeightsError(f"{weights_path}: the weights contain NaN or infinity")
    return RolloutPolicy(np.array(weights), int(sidecar["hash_seed"]), dict(sidecar["training"]))


# ----------------------------------------------------------------------------- training

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def read_games(sources: Iterable[str | os.PathLike[str]], count: int, size: int = 19,
               progress: Progress | None = None) -> tuple[list[tuple[np.ndarray | None, np.ndarray]], dict]:
    """Up to ``count`` games of ``size`` from the sources in order (``iter_games``, bad games
    skipped): (start state or None for the empty board, moves int64 colour * COUNT_SHIFT + action).
    Games with setup stones after the root are left out. Returns (games, counts)."""
    from envs.go.sgf_archives import LoadStats, iter_games

    games: list[tuple[np.ndarray | None, np.ndarray]] = []
    counts = {"read": 0, "bad": 0, "other_size": 0, "mid_game_setup": 0}
    base = base_len(size)
    for source in sources:
        stats = LoadStats()
        for record in iter_games(source, errors="skip", stats=stats):
            counts["read"] += 1
            if record.size != size:
                counts["other_size"] += 1
                continue
            if record.setups:
                counts["mid_game_setup"] += 1
                continue
            start = None
            if record.setup_black or record.setup_white:
                start = record.start_board(ko_rule="simple")._st[:base].copy()
            moves = np.array([c * COUNT_SHIFT + a for c, a in record.moves], np.int64)
            games.append((start, moves))
            if progress is not None:
                progress("read", len(games), count)
            if len(games) >= count:
                break
        counts["bad"] += stats.skipped
        if len(games) >= count:
            break
    return games, counts


def run_games(policy: RolloutPolicy, games, update: bool, lr: float = 0.0, accum: np.ndarray | None = None,
              progress: Progress | None = None, stage: str = "eval") -> dict:
    """Replay ``games`` and score every non-pass expert move (one Adagrad step each when ``update``).
    Returns positions, top-1 accuracy, mean cross-entropy (nats) and positions skipped (the expert
    move was not a candidate)."""
    from envs.go.board import Board

    n = 19 if not games else (int(games[0][0][H_N]) if games[0][0] is not None else 19)
    template = Board(n, ko_rule="simple")._st[: base_len(n)].copy()
    ws = Workspace.new(n)
    grad = np.zeros(policy.weights.shape[0], np.float64) if update else np.zeros(1, np.float64)
    accum = accum if accum is not None else np.zeros(1, np.float64)
    stats = np.zeros(4, np.float64)
    for i, (start, moves) in enumerate(games):
        st = (start if start is not None else template).copy()
        train_game(st, moves, policy.weights, accum, lr, update, policy.hash_seed, policy.mask, *ws.args(),
                   ws.scores, grad, stats)
        if progress is not None and (i % 16 == 15 or i + 1 == len(games)):
            progress(stage, i + 1, len(games))
    policy.changed()
    positions = int(stats[0])
    return {"positions": positions, "accuracy": float(stats[1] / max(positions, 1)),
            "cross_entropy": float(stats[2] / max(positions, 1)), "skipped_positions": int(stats[3])}


def split_games(sources: list[str], games: int, val_games: int, seed: int, progress: Progress | None = None):
    """The first games + val_games usable games of the sources, shuffled with ``seed`` and split by
    game: (train, val, read counts, the generator, to be used next for the training order)."""
    data, counts = read_games(sources, games + val_games, progress=progress)
    if len(data) < 2:
        raise ValueError(f"only {len(data)} usable 19x19 games in {sources}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))
    n_val = min(val_games, len(data) // 2) if val_games else 0
    return [data[i] for i in order[n_val:]], [data[i] for i in order[:n_val]], counts, rng


def held_out_games(meta: dict, limit: int | None = None) -> list:
    """The validation games of a trained policy, re-read from its sidecar's sources and seed."""
    _, val, _, _ = split_games(meta["sources"], meta["games_trained"], meta["val_games"], meta["seed"])
    return val[:limit]


def train_rollout(sources: Iterable[str | os.PathLike[str]], out_path: str | os.PathLike[str] | None,
                  games: int = 5000, val_games: int = 500, epochs: int = 1, lr: float = 0.05, seed: int = 0,
                  table_bits: int = DEFAULT_TABLE_BITS, progress: Progress | None = None) -> dict:
    """Train the rollout policy on ``games`` expert games and measure it on ``val_games`` other games.

    The first games + val_games 19x19 games of the sources are read, shuffled with ``seed`` and
    split by game. Each epoch replays the training games (in a fresh seeded order) with one Adagrad
    step per position (learning rate ``lr``), then measures the validation games. Writes
    ``out_path``.safetensors / .json when given. Returns the summary (also kept in the sidecar)."""
    if games < 1 or val_games < 0 or epochs < 1 or not lr > 0:
        raise ValueError(f"need games >= 1, val_games >= 0, epochs >= 1, lr > 0 (got {games}, {val_games}, "
                         f"{epochs}, {lr})")
    sources = [str(s) for s in sources]
    t0 = time.perf_counter()
    train, val, counts, rng = split_games(sources, games, val_games, seed, progress)
    read_s = time.perf_counter() - t0
    policy = RolloutPolicy.zeros(table_bits, hash_seed=int(rng.integers(0, 2**62)))
    accum = np.zeros(policy.weights.shape[0], np.float64)
    history = []
    t1 = time.perf_counter()
    for epoch in range(epochs):
        epoch_order = rng.permutation(len(train))
        fit = run_games(policy, [train[i] for i in epoch_order], True, lr, accum, progress, f"epoch {epoch + 1}")
        check = run_games(policy, val, False, progress=progress, stage="validate") if val else None
        history.append({"epoch": epoch + 1, "train_accuracy": round(fit["accuracy"], 4),
                        "train_cross_entropy": round(fit["cross_entropy"], 4),
                        "val_accuracy": None if check is None else round(check["accuracy"], 4),
                        "val_cross_entropy": None if check is None else round(check["cross_entropy"], 4)})
    train_s = time.perf_counter() - t1
    last = history[-1]
    summary = {
        "sources": sources, "games_trained": len(train), "val_games": len(val), "epochs": epochs, "lr": lr,
        "seed": seed, "table_bits": table_bits, "train_positions": fit["positions"],
        "val_positions": 0 if check is None else check["positions"],
        "val_accuracy": last["val_accuracy"], "val_cross_entropy": last["val_cross_entropy"],
        "val_skipped_positions": 0 if check is None else check["skipped_positions"],
        "train_accuracy": last["train_accuracy"], "history": history, "games_read": counts,
        "accuracy_definition": "top-1 argmax over candidate moves (empty, not suicide, not the ko point; "
                               "own eyes included), positions where the expert passed are skipped",
        "read_seconds": round(read_s, 1), "train_seconds": round(train_s, 1),
        "positions_per_second": round(fit["positions"] * epochs / max(train_s, 1e-9), 1),
    }
    policy.meta = summary
    if out_path is not None:
        weights_path, sidecar_path = save_rollout_policy(policy, out_path)
        summary = {**summary, "weights": str(weights_path), "sidecar": str(sidecar_path)}
    return summary

