"""The rollout policy's numba kernels on any position (Silver et al. 2016, Methods "Rollout policy"):
every candidate's features extracted (``rollout.features.candidate_features``), scored and turned
into a softmax (``policy_from_scratch``) or a sampled move (``rollout_move``); ``Workspace`` holds
their scratch arrays. The incremental playout is in ``rollout.playout``.

    p(a | s) = exp(w . phi(s, a)) / sum_b exp(w . phi(s, b))     over the candidate moves b
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from tenuki.agents.go.rollout.features import MAX_FEATURES, SCRATCH_LEN, candidate_features
from tenuki.envs.go.layout import H_TO_PLAY, PASS_POINT, padded_size
from tenuki.envs.go.playout import is_true_eye, next_random

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



# ----------------------------------------------------------------------------- scoring


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
