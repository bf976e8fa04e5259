"""The search players: UCT, PUCT and the network's policy behind the one ``Player`` interface.

    player.genmove(board, visits=None, seconds=None) -> Move(action, resigned, analysis, ...)

``UCTPlayer`` (``mcts``: UCT + light rollouts, no network), ``PUCTPlayer`` (``az-mcts``: PUCT + network;
``alphago``: APV-MCTS with AlphaGo's settings), ``PolicyPlayer`` (``policy``: the network's most likely legal
move). Players by name, with their networks loaded and their search settings, come from
``tenuki.play.registry``.

A budget is a number of simulations (``visits``) or a time (``seconds``): the search runs in
slices until the time is spent. ``resign_threshold``: resign when the root's best winrate is
below it (as a winrate in 0..1; None never resigns). Playout cap randomization (KataGo, Wu 2019):
with ``cap_visits`` set, each move is a full search with probability ``full_probability`` and a
cheap one otherwise; ``Move.full_search`` says which, so self-play records only full ones.
"""

from __future__ import annotations

import time

import numpy as np

from tenuki.envs.go.alphago_planes import alphago_planes
from tenuki.envs.go.board import Board
from tenuki.envs.go.features import board_planes
from tenuki.search.mcts import MCTS, Evaluator, SearchResult
from tenuki.search.player import Move
from tenuki.search.settings import MCTSConfig, SearchConfigError
from tenuki.search.uct import uct_run


class SearchPlayer:
    """What the search players share: the budget (visits, time, playout cap randomization), resignation and
    the choice of the move from the root statistics; subclasses implement ``search``."""

    name = "player"

    def __init__(self, visits: int = 800, resign_threshold: float | None = None, temperature: float = 0.0,
                 cap_visits: int | None = None, full_probability: float = 0.25, seed: int = 0):
        if visits < 1:
            raise SearchConfigError(f"visits must be >= 1, got {visits}")
        if resign_threshold is not None and not 0.0 <= resign_threshold < 0.5:
            raise SearchConfigError(f"resign_threshold is a winrate in [0, 0.5), got {resign_threshold}")
        self.visits = visits
        self.resign_threshold = resign_threshold
        self.temperature = temperature
        self.cap_visits = cap_visits
        self.full_probability = full_probability
        self.rng = np.random.default_rng(seed)

    def search(self, board: Board, visits: int) -> SearchResult:
        raise NotImplementedError

    def notify_played(self, action: int) -> None:
        """Nothing is kept between moves (``PUCTPlayer`` keeps the searched subtree)."""

    def genmove(self, board: Board, visits: int | None = None, seconds: float | None = None) -> Move:
        start = time.perf_counter()
        full = True
        budget = visits or self.visits
        if visits is None and self.cap_visits is not None:
            full = bool(self.rng.random() < self.full_probability)
            budget = self.visits if full else self.cap_visits
        if seconds is not None:
            result = self._search_for(board, seconds)
        else:
            result = self.search(board, budget)
        elapsed = time.perf_counter() - start
        if result is None or result.visits.size == 0:
            return Move(board.size * board.size, full_search=full, seconds=elapsed)
        best = int(np.argmax(result.visits))
        winrate = (result.q[best] + 1.0) / 2.0
        if self.resign_threshold is not None and np.isfinite(winrate) and winrate < self.resign_threshold:
            return Move(-1, resigned=True, full_search=full, result=result, seconds=elapsed,
                        analysis=result.analysis())
        if self.temperature > 0:
            policy = result.policy(self.temperature)
            action = int(self.rng.choice(policy.shape[0], p=policy))
        else:
            action = result.best_action
        return Move(action, full_search=full, result=result, seconds=elapsed, analysis=result.analysis())

    def _search_for(self, board: Board, seconds: float) -> SearchResult:
        """A search sized to ``seconds``: a 64-simulation probe measures the speed, then one
        search uses 90% of the time left (the probe's statistics are not kept)."""
        start = time.perf_counter()
        probe = self.search(board, 64)
        elapsed = time.perf_counter() - start
        remaining = seconds - elapsed
        if remaining <= 0:
            return probe
        rate = 64 / max(elapsed, 1e-6)
        return self.search(board, max(64, int(0.9 * rate * remaining)))


class UCTPlayer(SearchPlayer):
    """``mcts``: UCT with light random rollouts (the pure Monte-Carlo baseline)."""

    name = "mcts"

    def __init__(self, c_uct: float = 1.4, **kwargs):
        super().__init__(**{"visits": 10000, **kwargs})
        self.c_uct = c_uct

    def search(self, board: Board, visits: int) -> SearchResult:
        return uct_run(board, visits, c_uct=self.c_uct, rollout="light", seed=int(self.rng.integers(1 << 30)))

    def _search_for(self, board: Board, seconds: float) -> SearchResult:
        # Long searches expand a node at its 8th visit: memory stays near 50 MB for 1 s on 9x9.
        return uct_run(board, None, c_uct=self.c_uct, rollout="light", seed=int(self.rng.integers(1 << 30)),
                       seconds=seconds, expand_visits=8)


class PUCTPlayer(SearchPlayer):
    """``az-mcts`` (AlphaZero settings) or ``alphago`` (APV: c_puct 5, lambda 0.5, threshold): the settings
    are ``config`` (default: AlphaZero's with ``visits`` simulations), ``name`` says which."""

    name = "az-mcts"

    def __init__(self, evaluator: Evaluator, config: MCTSConfig | None = None, reuse_tree: bool = True,
                 name: str = "az-mcts", **kwargs):
        super().__init__(**kwargs)
        self.name = name
        self.searcher = MCTS(evaluator, config or MCTSConfig(num_simulations=self.visits))
        self.reuse_tree = reuse_tree

    def search(self, board: Board, visits: int) -> SearchResult:
        return self.searcher.run(board, visits)

    def _search_for(self, board: Board, seconds: float) -> SearchResult:
        # The tree is sized for a generous 20,000 simulations a second; the deadline stops it.
        return self.searcher.run(board, max(256, int(20_000 * seconds)), seconds=seconds)

    def notify_played(self, action: int) -> None:
        """Tell the player a move was played, so the searched subtree is kept (tree reuse)."""
        if self.reuse_tree:
            self.searcher.advance(action)


class PolicyPlayer(SearchPlayer):
    """``policy``: the network's most likely legal move, no search."""

    name = "policy"

    def __init__(self, evaluator: Evaluator, **kwargs):
        super().__init__(**kwargs)
        self.evaluator = evaluator

    def search(self, board: Board, visits: int) -> SearchResult:
        if getattr(self.evaluator, "in_planes", 17) in (48, 49):  # AlphaGo's networks read its feature planes
            planes = alphago_planes(board, value=self.evaluator.in_planes == 49).astype(np.float32)
        else:
            planes = board_planes(board, board.to_play)
        logits, values = self.evaluator(planes[None])
        legal = board.legal_moves()
        z = np.exp(logits[0, legal] - logits[0, legal].max())
        prior = z / z.sum()
        visits_like = np.zeros(len(legal), np.int64)
        visits_like[int(np.argmax(prior))] = 1
        q = np.full(len(legal), np.nan)
        q[int(np.argmax(prior))] = float(values[0])
        return SearchResult(legal, visits_like, q, prior, float(values[0]), [int(legal[np.argmax(prior)])], board.size)

