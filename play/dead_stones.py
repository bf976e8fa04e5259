"""Dead stones at the end of a game, estimated by playouts (Monte-Carlo ownership).

Method: from the position to judge, ``playouts`` playouts are played to the end on copies of the
board's state, and each finished playout is counted by Tromp-Taylor area (an empty point belongs to
the colour that alone surrounds it), which gives for every point the fraction of playouts that black
and white own it (``OwnershipEstimate``, float[N, N] each). The playouts are

- **the learned rollout policy** where one is shipped for the board size (``rollout19`` on 19x19,
  ``tenuki.play.registry.shipped_rollout``): AlphaGo's fast policy, which answers ataris and plays
  out capturing races far better than chance;
- **light playouts** elsewhere, or with ``policy="light"`` (envs/go/playout.py: uniform over legal
  moves that do not fill an own true eye, simple ko, no suicide).

Why the rollout policy on 19x19 (measured, ``python -m bench.dead_stones``, docs/bench/dead-stones.json):
on the 57 finished 19x19 games of docs/strength/alphago19/ (2026-12-07), each final position also counted
by GNU Go 3.8, light playouts named GNU Go's winner in 49 (the other 8: capturing races in crowded
endgames, a one-eyed group counted alive or a living wall counted dead), the rollout policy in 56, at
0.76 s an estimate of 1,000 playouts against 0.04 s. Those games include the four that showed the
problem, so the 8 : 1 is not an unbiased error rate; it says the rollout policy fixes what was seen.

A chain is **dead** when the other colour owns its points in more than ``threshold`` (default
70 %) of the playouts, averaged over the chain's stones so a chain is judged as one unit. The
playouts start with black to move in even-numbered playouts and white in odd ones: after two
passes nobody is owed the next move, and alternating keeps one side from getting a free tempo
in every playout.

Limits (those of any Monte-Carlo dead-stone guess): random play breaks sekis about half of the
time, so a seki usually stays below the threshold and counts as alive, which is right; a group
that needs exact play to live or to be killed (a big eye shape, a semeai, a ko) can be misjudged
either way. The terminal shows the removed stones and the count for that reason.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from tenuki.envs.go.board import Board
from tenuki.envs.go.layout import BLACK, H_PASSES, H_SUICIDE, H_TO_PLAY, WHITE
from tenuki.envs.go.playout import playout_in_place, playout_len
from tenuki.envs.go.scoring import count_area_owners

DEFAULT_PLAYOUTS = 1000
DEAD_THRESHOLD = 0.7


@njit(cache=True)
def _ownership_counts(st, playouts, seed, max_moves, scratch_len, black_counts, white_counts):
    """Run ``playouts`` playouts from ``st`` (unchanged) and add, for every action a < N*N, one
    to black_counts[a] / white_counts[a] each time black / white owns the point at the end."""
    scratch = np.empty(scratch_len, np.int64)
    rng = np.empty(1, np.uint64)
    rng[0] = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x5DEECE66D)
    if rng[0] == 0:
        rng[0] = np.uint64(1)
    for i in range(playouts):
        scratch[:] = st[:scratch_len]
        scratch[H_SUICIDE] = 0
        scratch[H_PASSES] = 0  # the game may have just ended with two passes: play on from there
        scratch[H_TO_PLAY] = BLACK if i % 2 == 0 else WHITE
        playout_in_place(scratch, rng, max_moves)
        count_area_owners(scratch, black_counts, white_counts)


@dataclass(frozen=True)
class OwnershipEstimate:
    """Fractions of the playouts in which each colour owned each point at the end.

    ``black`` and ``white`` are float[N, N] in [0, 1] (row 0 = top line); a point owned by nobody
    (dame) in a playout counts for neither, so ``black + white <= 1``."""

    black: np.ndarray  # float[N, N]
    white: np.ndarray  # float[N, N]
    playouts: int

    @property
    def ownership(self) -> np.ndarray:
        """float[N, N] in [-1, 1]: +1 black owns the point in every playout, -1 white."""
        return self.black - self.white

    def expected_margin(self, komi: float) -> float:
        """Mean over the playouts of black area - white area - komi (positive: black ahead)."""
        return float(self.black.sum() - self.white.sum() - komi)


@functools.lru_cache(maxsize=4)
def _rollout_policy(path: Path) -> Any:
    from tenuki.agents.go.rollout.weights import load_rollout_policy

    return load_rollout_policy(path)


def playout_policy(size: int, policy: Any = "auto") -> Any:
    """The playouts an estimate uses on a ``size`` board: a ``RolloutPolicy`` or ``"light"``.
    ``policy``: ``"auto"`` (the shipped rollout policy of that size where there is one, else light),
    ``"light"``, or a ``RolloutPolicy``."""
    if policy == "auto":
        from tenuki.play.registry import shipped_rollout

        path = shipped_rollout(size)
        return _rollout_policy(path) if path is not None else "light"
    if policy == "light" or hasattr(policy, "ownership_counts"):
        return policy
    raise ValueError(f"policy must be 'auto', 'light' or a RolloutPolicy, got {policy!r}")


def estimate_ownership(board: Board, playouts: int = DEFAULT_PLAYOUTS, seed: int = 0,
                       max_moves: int | None = None, policy: Any = "auto") -> OwnershipEstimate:
    """Ownership of every point from ``playouts`` playouts of the position (the board is not
    changed). ``max_moves`` caps a playout (default 3 N^2, far above a playout's length);
    ``policy``: see ``playout_policy`` (default: the shipped rollout policy where there is one)."""
    if playouts < 1:
        raise ValueError(f"playouts must be >= 1, got {playouts}")
    n = board.size
    moves = 3 * n * n if max_moves is None else max_moves
    chosen = playout_policy(n, policy)
    if chosen == "light":
        black = np.zeros(n * n, np.int64)
        white = np.zeros(n * n, np.int64)
        # The kernel only reads the state: it always gets the read-only view (one compiled type).
        _ownership_counts(board.state, playouts, seed, moves, playout_len(n), black, white)
    else:
        # a writable copy: the type the search's rollouts compiled the kernel for (no second compilation)
        black, white = chosen.ownership_counts(board.state.copy(), seed, playouts, moves)
    return OwnershipEstimate((black / playouts).reshape(n, n), (white / playouts).reshape(n, n), playouts)


def chains(stones: np.ndarray) -> list[list[int]]:
    """The chains of a position: lists of actions (``row * N + col``) of orthogonally connected
    stones of one colour, in ascending order of their first stone. ``stones``: int8[N, N]."""
    n = stones.shape[0]
    flat = stones.reshape(-1)
    seen = np.zeros(n * n, np.bool_)
    out: list[list[int]] = []
    for start in range(n * n):
        color = flat[start]
        if color not in (BLACK, WHITE) or seen[start]:
            continue
        seen[start] = True
        chain, stack = [], [start]
        while stack:
            a = stack.pop()
            chain.append(a)
            r, c = divmod(a, n)
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                b = rr * n + cc
                if 0 <= rr < n and 0 <= cc < n and not seen[b] and flat[b] == color:
                    seen[b] = True
                    stack.append(b)
        out.append(sorted(chain))
    return out


def dead_stones(board: Board, estimate: OwnershipEstimate | None = None, threshold: float = DEAD_THRESHOLD,
                playouts: int = DEFAULT_PLAYOUTS, seed: int = 0, policy: Any = "auto") -> list[int]:
    """Actions of the stones judged dead, ascending: every stone of each chain whose points the
    other colour owns in more than ``threshold`` of the playouts (mean over the chain).
    ``estimate`` is computed with ``playouts``, ``seed`` and ``policy`` when not given."""
    if not 0.5 <= threshold < 1.0:
        raise ValueError(f"threshold is a fraction of playouts in [0.5, 1), got {threshold}")
    if estimate is None:
        estimate = estimate_ownership(board, playouts, seed, policy=policy)
    stones = board.stones()
    black_owned = estimate.black.reshape(-1)
    white_owned = estimate.white.reshape(-1)
    flat = stones.reshape(-1)
    dead: list[int] = []
    for chain in chains(stones):
        enemy = white_owned if flat[chain[0]] == BLACK else black_owned
        if float(np.mean(enemy[chain])) > threshold:
            dead.extend(chain)
    return sorted(dead)


def split_by_color(board: Board, actions: Iterable[int]) -> dict[int, list[int]]:
    """``{BLACK: [...], WHITE: [...]}``: the given stones by their colour on ``board``."""
    flat = board.stones().reshape(-1)
    out: dict[int, list[int]] = {BLACK: [], WHITE: []}
    for a in actions:
        if flat[a] in out:
            out[int(flat[a])].append(int(a))
    return out
