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

``PUCTPlayer`` is also an ``AnalysingPlayer`` (``tenuki.search.player``): ``analyse(board)`` is a
``GrowingSearch``, one tree that every ``grow`` call makes larger, for GTP analysis; with a network
that has an ownership head its results carry scores and ownership (``tenuki.search.mcts``).
"""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np

from tenuki.envs.go.alphago_planes import alphago_planes
from tenuki.envs.go.board import Board
from tenuki.envs.go.features import board_planes
from tenuki.search.mcts import MCTS, Evaluator, Rollout, SearchResult
from tenuki.search.player import Move
from tenuki.search.settings import MCTSConfig, SearchConfigError
from tenuki.search.tree import bytes_per_node
from tenuki.search.uct import uct_run

# Memory an analysis tree may take before it stops growing (~200,000 simulations on 9x9, ~46,000 on 19x19).
ANALYSIS_TREE_BYTES = 1 << 30


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
        return self.choose(board, result, time.perf_counter() - start, full)

    def choose(self, board: Board, result: SearchResult | None, seconds: float = 0.0,
               full_search: bool = True) -> Move:
        """The move from the root statistics ``result`` of ``board``: pass when nothing was searched, resign
        when the most visited move's winrate is below ``resign_threshold``, else the most visited move (or one
        sampled from the visits at ``temperature``)."""
        if result is None or result.visits.size == 0:
            return Move(board.size * board.size, full_search=full_search, seconds=seconds)
        best = int(np.argmax(result.visits))
        winrate = (result.q[best] + 1.0) / 2.0
        if self.resign_threshold is not None and np.isfinite(winrate) and winrate < self.resign_threshold:
            return Move(-1, resigned=True, full_search=full_search, result=result, seconds=seconds,
                        analysis=result.analysis())
        if self.temperature > 0:
            policy = result.policy(self.temperature)
            action = int(self.rng.choice(policy.shape[0], p=policy))
        else:
            action = result.best_action
        return Move(action, full_search=full_search, result=result, seconds=seconds, analysis=result.analysis())

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
    # Simulations a second of the timed searches by board size, measured; kept by the class, so that the
    # player a GTP engine builds for each new game starts from what the previous games measured.
    _rates: ClassVar[dict[int, float]] = {}

    def __init__(self, c_uct: float = 1.4, **kwargs):
        super().__init__(**{"visits": 10000, **kwargs})
        self.c_uct = c_uct

    def search(self, board: Board, visits: int) -> SearchResult:
        return uct_run(board, visits, c_uct=self.c_uct, rollout="light", seed=int(self.rng.integers(1 << 30)))

    def _search_for(self, board: Board, seconds: float) -> SearchResult:
        """Until ``seconds`` have passed, a node expanded at its 8th visit (memory near 50 MB for 1 s on 9x9).
        The tree starts with room for 1.5 times the simulations the previous timed searches made in that
        time: growing it copies its arrays (tens of ms on 19x19, which overran the clock near the deadline)."""
        rate = self._rates.get(board.size)
        capacity = None if rate is None else int(1.5 * rate * seconds)
        start = time.perf_counter()
        result = uct_run(board, None, c_uct=self.c_uct, rollout="light", seed=int(self.rng.integers(1 << 30)),
                         seconds=seconds, expand_visits=8, capacity=capacity)
        elapsed = time.perf_counter() - start
        simulations = int(result.visits.sum())
        if simulations >= 256 and elapsed > 0:
            measured = simulations / elapsed
            self._rates[board.size] = measured if rate is None else max(measured, 0.5 * (rate + measured))
        return result


class PUCTPlayer(SearchPlayer):
    """``az-mcts`` (AlphaZero settings) or ``alphago`` (APV: c_puct 5, lambda 0.5, threshold): the settings
    are ``config`` (default: AlphaZero's with ``visits`` simulations), ``name`` says which. ``ownership``:
    ask a network with an ownership head for it at every evaluation (scores and ownership for analysis,
    ``tenuki.search.mcts``; a network without one is not asked). ``rollout``: the leaves' rollouts when the
    config mixes them in (``tenuki.search.mcts.Rollout``; default: light playouts)."""

    name = "az-mcts"

    def __init__(self, evaluator: Evaluator, config: MCTSConfig | None = None, reuse_tree: bool = True,
                 name: str = "az-mcts", ownership: bool = True, rollout: Rollout | None = None, **kwargs):
        super().__init__(**kwargs)
        self.name = name
        self.searcher = MCTS(evaluator, config or MCTSConfig(num_simulations=self.visits), ownership=ownership,
                             rollout=rollout)
        self.reuse_tree = reuse_tree
        # The moves of the game the kept tree belongs to: the searched position's, then each move notified.
        # A search of a board whose moves differ (undo, a loaded game, a new game) starts a fresh tree.
        self._line: tuple[int, ...] | None = None
        self._rate: float | None = None  # simulations a second of the timed searches, measured

    def _prepare(self, board: Board) -> None:
        """Before a search of the game's position: keep the tree only when ``board`` is the position it
        was advanced to (same moves since the start); then remember this position's moves."""
        line = tuple(action for _, action in board.moves)
        if self._line != line:
            self.searcher.reset()
        self._line = line if self.reuse_tree else None

    def analyse(self, board: Board, keep: bool = True) -> GrowingSearch:
        """A search of ``board`` that keeps growing (``GrowingSearch``). ``keep``: ``board`` is the game's
        position: the search starts from the kept subtree when there is one and stays for the next move;
        otherwise (analysis of the side not to move) it runs in a tree of its own."""
        searcher = self.searcher
        if not (keep and self.reuse_tree):
            searcher = MCTS(searcher.evaluator, searcher.config, ownership=searcher.ownership,
                            rollout=searcher.rollout)
        else:
            self._prepare(board)
        return GrowingSearch(searcher, board, keep=keep and self.reuse_tree)

    def search(self, board: Board, visits: int) -> SearchResult:
        self._prepare(board)
        return self.searcher.run(board, visits)

    def _search_for(self, board: Board, seconds: float) -> SearchResult:
        """A search until ``seconds`` have passed. The tree is sized for twice the speed measured on the
        previous timed searches (20,000 simulations a second before any); the deadline stops it."""
        self._prepare(board)
        rate = 20_000.0 if self._rate is None else 2.0 * self._rate
        start = time.perf_counter()
        result = self.searcher.run(board, max(256, int(rate * seconds)), seconds=seconds)
        elapsed = time.perf_counter() - start
        if result.simulations >= 64 and elapsed > 0:  # a few simulations say little about the speed
            measured = result.simulations / elapsed
            self._rate = measured if self._rate is None else max(measured, 0.5 * (self._rate + measured))
        return result

    def notify_played(self, action: int) -> None:
        """Tell the player a move was played on the game's board, so the searched subtree is kept for
        the next search (tree reuse); any move after a search may be notified, the opponent's included."""
        if not self.reuse_tree:
            return
        if self._line is not None and self.searcher.advance(action):
            self._line = (*self._line, action)
        else:
            self._line = None
            self.searcher.reset()


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



class GrowingSearch:
    """One PUCT search of one position that keeps growing: every ``grow`` adds simulations to the same
    tree (``MCTS.run(keep_tree=True)``), so the visits of successive results never decrease; no root
    noise. The tree doubles as it fills, up to ``max_nodes`` (default: ``ANALYSIS_TREE_BYTES`` of
    memory); then ``full`` turns true and ``grow`` adds nothing (the statistics stay as they are).
    Each ``grow`` asks the tree for room for about twice what the measured speed does in the time
    given, so a short slice does not allocate a large tree."""

    def __init__(self, searcher: MCTS, board: Board, keep: bool = False, max_nodes: int | None = None):
        self.searcher = searcher
        self.board = board.copy()
        self.keep = keep
        num_actions = board.size * board.size + 1
        self.max_nodes = max_nodes or max(1024, ANALYSIS_TREE_BYTES // bytes_per_node(num_actions))
        self.simulations = 0
        self.full = False
        self._started = False
        self._rate: float | None = None  # simulations a second, measured

    def grow(self, seconds: float, max_simulations: int | None = None) -> int:
        """Search up to ``seconds`` more, and at most ``max_simulations`` more; returns the simulations added."""
        batch = self.searcher.config.batch_size
        used = self.searcher.tree.num_nodes if self._started else 0
        room = self.max_nodes - used - batch - 2
        if room <= 0:
            self.full = True
            return 0
        chunk = room if max_simulations is None else min(room, max_simulations)
        chunk = min(chunk, 256 if self._rate is None else max(64, int(2 * self._rate * seconds) + batch))
        if chunk <= 0:
            return 0
        start = time.perf_counter()
        result = self.searcher.run(self.board, chunk, seconds=seconds, root_noise=0.0, keep_tree=self._started)
        elapsed = time.perf_counter() - start
        self._started = True
        added = result.simulations
        self.simulations += added
        if added and elapsed > 0:
            rate = added / elapsed
            self._rate = rate if self._rate is None else 0.5 * (self._rate + rate)
        return added

    def result(self, pv_moves: int = 10) -> SearchResult:
        """The root statistics so far (an empty result before the first ``grow``)."""
        if not self._started:
            self.grow(0.0, 1)  # at least the root's evaluation: priors, no visits yet
        return self.searcher.result(self.board.size, pv_moves)

    def close(self) -> None:
        """The analysis is over. On the game's position (``keep``) the tree stays the searcher's root for the
        next search of this position, so a genmove right after an analysis continues it (tree reuse)."""
        if self.keep and self._started:
            self.searcher.reuse_root()
