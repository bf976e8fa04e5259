"""``RolloutPolicy``: the rollout policy's weights + feature hash seed, and what it does with a
``Board`` or a state: ``probabilities(board)``, ``sample(board)``, ``playouts(st, ...)`` (the
contract of ``tenuki.envs.go.playout.playouts``), ``save`` / ``load`` (``rollout.weights``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tenuki.agents.go.rollout.kernels import Workspace, policy_from_scratch, rollout_move
from tenuki.agents.go.rollout.playout import _rollouts
from tenuki.agents.go.rollout.weights import (
    DEFAULT_TABLE_BITS,
    MAX_TABLE_BITS,
    MIN_TABLE_BITS,
    RolloutWeightsError,
    load_rollout_policy,
    save_rollout_policy,
)
from tenuki.envs.go.coords import from_point, to_point
from tenuki.envs.go.layout import BLACK, H_LAST, H_N, H_TO_PLAY, base_len


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
        st = board.state  # only read: the kernels always get the read-only view (one compiled type)
        n = int(st[H_N])
        ws = self.workspace(n)
        last, last2 = last_two_moves(board)
        count = policy_from_scratch(st, int(st[H_TO_PLAY]), last, last2, self.weights, self.hash_seed, self.mask,
                                    exclude_eyes, *ws.args(), ws.scores)
        probs = np.zeros(n * n + 1)
        for point, prob in zip(ws.cand[:count], ws.scores[:count]):
            probs[from_point(int(point), n)] = prob
        if probs.sum() == 0.0:
            probs[n * n] = 1.0
        return probs

    def sample(self, board, seed: int = 0) -> int:
        """An action for the side to move sampled as in a rollout (own eyes excluded; pass when no
        candidate is left)."""
        st = board.state  # only read, as in ``probabilities``
        ws = self.workspace(board.size)
        last, last2 = last_two_moves(board)
        rng = np.array([(seed * 0x9E3779B97F4A7C15 + 1) % (1 << 64) or 1], np.uint64)
        p = rollout_move(st, self.weights, self.hash_seed, self.mask, last, last2, rng, *ws.args(), ws.scores)
        return from_point(int(p), board.size)

    def playouts(self, st: np.ndarray, seed: int, count: int, max_moves: int, out_diff: np.ndarray,
                 last: int = -1, last2: int = -1) -> int:
        """``count`` rollouts from ``st`` (left unchanged), as ``tenuki.envs.go.playout.playouts``: out_diff[i]
        = black area - white area (no komi) at the end of rollout i; returns the moves played.
        last / last2: previous two moves as points (default: st's last move, no move before it)."""
        if last < 0:
            last = max(int(st[H_LAST]), 0)
        none = np.zeros(0, np.int64)
        return _rollouts(st, self.weights, self.exp_weights(), self.hash_seed, self.mask, seed, count, max_moves,
                         last, max(last2, 0), out_diff, base_len(int(st[H_N])), False, none, none)

    def ownership_counts(self, st: np.ndarray, seed: int, count: int, max_moves: int) -> tuple[np.ndarray, np.ndarray]:
        """``count`` rollouts of this policy from the position ``st`` (left unchanged; often a finished
        game: the passes are forgotten, black moves first in even-numbered rollouts, white in odd ones):
        how many times black and white owned each point at the end (Tromp-Taylor area), int64[N*N]
        each. ``tenuki.play.dead_stones`` judges dead stones from them."""
        n = int(st[H_N])
        black, white = np.zeros(n * n, np.int64), np.zeros(n * n, np.int64)
        diff = np.zeros(count, np.int64)
        _rollouts(st, self.weights, self.exp_weights(), self.hash_seed, self.mask, seed, count, max_moves, 0, 0, diff,
                  base_len(n), True, black, white)
        return black, white

    def leaf_rollout(self, seed: int = 0):
        """A ``tenuki.search.mcts.Rollout`` for APV-MCTS: ``rollout(states, komi)`` plays one rollout of this
        policy from each leaf state (the first ``base_len(N)`` entries of a board state) and answers its
        outcome for the side to move there: +1 / -1 / 0 by Tromp-Taylor area with ``komi``. Each call draws
        new seeds from ``seed``; the returned callable keeps its own scratch (one per thread)."""
        calls = [0]
        diff = np.zeros(1, np.int64)

        def rollout(states: np.ndarray, komi: float) -> np.ndarray:
            values = np.empty(states.shape[0])
            for i, st in enumerate(states):
                calls[0] += 1
                n = int(st[H_N])
                self.playouts(st, (seed * 1_000_003 + calls[0]) % (1 << 62), 1, 3 * n * n, diff)
                margin = float(diff[0]) - komi
                outcome = 1.0 if margin > 0 else -1.0 if margin < 0 else 0.0
                values[i] = outcome if int(st[H_TO_PLAY]) == BLACK else -outcome
            return values

        return rollout

    # ------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        return save_rollout_policy(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RolloutPolicy:
        return load_rollout_policy(path)


def last_two_moves(board) -> tuple[int, int]:
    """The previous two moves of a Board as points (0: none, or a pass)."""
    moves = board.moves
    last = to_point(moves[-1][1], board.size) if len(moves) >= 1 else 0
    last2 = to_point(moves[-2][1], board.size) if len(moves) >= 2 else 0
    return last, last2
