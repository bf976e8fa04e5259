"""PUCT Monte-Carlo tree search guided by an evaluator (AlphaZero / AlphaGo Zero style).

    evaluator(planes: float32[B, C, N, N]) -> (policy_logits: float32[B, N*N+1], values: float32[B])

C is the evaluator's ``in_planes`` attribute: 17 (AlphaZero's planes, the default when it has
none) or AlphaGo's 48 / 49 feature planes. Values are from the side to move of each position. The evaluator is the only place a network
appears; everything else runs in the numba kernels of ``search/puct.py``. The settings
(``MCTSConfig``) are built from a config by ``tenuki.search.settings.search_params``; a searcher
never changes them, and nobody else should: what varies per search (budget, root noise) is an
argument of ``run``.

Ownership and score (``MCTS(..., ownership=True)``, for analysis): an evaluator whose
``has_ownership`` is true also answers ``evaluate_with_ownership(planes) -> (policy_logits, values,
ownership float32[B, N*N])``, the expected final owner of every point in [-1, 1] for the side to
move (KataGo's ownership head, Wu 2019 section 4.1: the tanh of the head's logit). The search then
gives every evaluated leaf a score estimate, the expected final Tromp-Taylor area margin of its side
to move: ``sum(ownership) - komi`` for black, ``+ komi`` for white (the ownership target is the
final area owner, so its sum is the expected area difference). Terminal leaves get their exact
margin. Scores are backed up like values (``SearchResult.score``: their mean over the simulations
through each root move), and ``SearchResult.ownership`` is the mean, over the simulations of the
search that ended in a network evaluation, of that leaf's ownership turned to the root's side to
move -- an average over the tree like the root's value, not the root's raw evaluation.

A search can keep growing (``run(..., keep_tree=True)``): the next call adds simulations to the
same tree instead of starting again, which is how analysis reports a search every interval.

>>> result = MCTS(uniform_evaluator(9), MCTSConfig(num_simulations=64)).run(Board(9))
>>> result.best_action, result.visits.sum()
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tenuki.envs.go.board import Board
from tenuki.envs.go.coords import to_gtp
from tenuki.envs.go.layout import BLACK, H_JTOP, base_len
from tenuki.envs.go.playout import playout_len
from tenuki.search import puct
from tenuki.search.settings import MCTSConfig, SearchConfigError, check_root_noise
from tenuki.search.symmetry import apply_symmetry, invert_policy_symmetry
from tenuki.search.tree import (
    ACTION,
    CHILD,
    EDGE_COUNT,
    EDGE_START,
    EDGE_VISITS,
    PRIOR,
    ROOT_INDEX,
    SCORE_SUM,
    TO_PLAY,
    VALUE_SQUARE_SUM,
    VALUE_SUM,
    Tree,
    new_tree,
    reset_tree,
)

__all__ = ["MCTS", "Evaluator", "MCTSConfig", "Rollout", "SearchConfigError", "SearchResult", "dirichlet_alpha",
           "uniform_evaluator"]

Evaluator = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
# rollout(states int64[K, L], komi) -> float64[K]: one rollout's outcome (+1 / -1 / 0, Tromp-Taylor area with
# komi) for the side to move in each of K leaf states (the first L = base_len(N) entries of a board state),
# e.g. AlphaGo's learned fast rollout policy (tenuki.agents.go.rollout.RolloutPolicy.leaf_values).
Rollout = Callable[[np.ndarray, float], np.ndarray]
# Leaves in the first batch of a timed search that has no measured cost per leaf yet (``MCTS.run``).
FIRST_TIMED_BATCH = 4


@dataclass
class SearchResult:
    """Root statistics. Arrays are over the root's legal actions (``actions``)."""

    actions: np.ndarray  # int64[k]
    visits: np.ndarray  # int64[k]
    q: np.ndarray  # float64[k], from the side to move at the root; nan where unvisited
    prior: np.ndarray  # float64[k]
    root_value: float  # the evaluator's value of the root, side to move
    pv: list[int] = field(default_factory=list)
    size: int = 19
    move_pvs: dict[int, list[int]] = field(default_factory=dict)  # principal variation after each root move
    q_variance: np.ndarray | None = None  # float64[k], sample variance of the backed-up values; nan below 2 visits
    score: np.ndarray | None = None  # float64[k], mean score estimate (points, side to move); None: no estimate
    ownership: np.ndarray | None = None  # float64[N*N], mean ownership (side to move, row-major from A19/top-left)
    simulations: int = 0  # simulations this run added (a reused or continued tree holds more)

    @property
    def best_action(self) -> int:
        return int(self.actions[int(np.argmax(self.visits))])

    def policy(self, temperature: float = 1.0) -> np.ndarray:
        """Visit distribution over all N*N+1 actions, sharpened by ``temperature`` (0: argmax)."""
        out = np.zeros(self.size * self.size + 1)
        if temperature <= 1e-6:
            out[self.best_action] = 1.0
            return out
        weights = self.visits.astype(np.float64) ** (1.0 / temperature)
        out[self.actions] = weights / weights.sum()
        return out

    def analysis(self, max_moves: int = 10) -> list[dict]:
        """Most visited moves: move, visits, winrate (0..1 for the side to move), prior, pv."""
        order = np.argsort(-self.visits, kind="stable")[:max_moves]
        rows = []
        for i in order:
            if self.visits[i] == 0:
                break
            rows.append({
                "move": to_gtp(int(self.actions[i]), self.size),
                "visits": int(self.visits[i]),
                "winrate": float((self.q[i] + 1.0) / 2.0),
                "prior": float(self.prior[i]),
                "pv": [to_gtp(a, self.size) for a in self.move_pvs.get(int(self.actions[i]), [int(self.actions[i])])],
            })
        return rows


def uniform_evaluator(size: int) -> Evaluator:
    """Equal priors and value 0 (the trivial evaluator of the tree-speed benchmark)."""

    def evaluate(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        batch = planes.shape[0]
        return np.zeros((batch, size * size + 1), np.float32), np.zeros(batch, np.float32)

    return evaluate


class MCTS:
    """A reusable PUCT searcher: ``run(board)`` searches from a position; ``advance(action)``
    keeps the chosen subtree for the next search (tree reuse); ``reset()`` forgets it.
    ``ownership=True``: ask the evaluator for ownership too when it has it (``has_ownership``),
    so results carry scores and an ownership map (module docstring); ignored otherwise.
    ``rollout``: who values leaves by rollouts when the config mixes them in (``mix_lambda`` > 0, or a leaf
    under ``expand_threshold``): a ``Rollout`` callback; default None: light playouts inside the tree walk."""

    def __init__(self, evaluator: Evaluator, config: MCTSConfig | None = None, *, ownership: bool = False,
                 rollout: Rollout | None = None):
        self.evaluator = evaluator
        self.rollout = rollout
        self.config = config or MCTSConfig()
        self.rng = np.random.default_rng(self.config.seed)
        self.tree: Tree | None = None
        self._reused = False
        self._advanceable = False  # the tree's root is the last searched position (or a subtree advanced to)
        self._spare: Tree | None = None  # the tree before the last advance: the next advance copies into it
        self.ownership = bool(ownership and getattr(evaluator, "has_ownership", False))
        self._ownership_sum: np.ndarray | None = None  # float64[N*N], root side to move
        self._ownership_count = 0
        self._simulations = 0
        self._leaf_cost = 0.0  # seconds a leaf of a batch may take, from the timed searches (``run``)

    # ------------------------------------------------------------------ search

    def run(self, board: Board, num_simulations: int | None = None, seconds: float | None = None, *,
            root_noise: float | None = None, keep_tree: bool = False) -> SearchResult:
        """Search from ``board`` (unchanged) for ``num_simulations`` (default: the config's), or
        until ``seconds`` have passed when given (then num_simulations is only the tree's size).
        With ``seconds``, each batch holds only as many leaves as fit before the deadline at the highest cost
        per leaf seen lately, so the search overruns it only when a batch's leaves cost more than any lately.
        ``root_noise``: the Dirichlet noise's weight in the root priors for this search (default:
        the config's ``dirichlet_weight``; 0: none, as self-play's capped searches want).
        ``keep_tree``: continue the tree of the previous ``run``, which the caller guarantees was on
        this same position: ``num_simulations`` more go into it (the tree doubles when full), the
        root noise is not drawn again. ``ValueError`` when there is no such tree."""
        cfg = self.config
        noise = cfg.dirichlet_weight if root_noise is None else root_noise
        check_root_noise(noise)
        sims = num_simulations or cfg.num_simulations
        deadline = None if seconds is None else time.perf_counter() + seconds
        size = board.size
        num_actions = size * size + 1
        batch = cfg.batch_size
        komi = board.komi if cfg.komi is None else cfg.komi
        fits = self.tree is not None and self.tree.edges.shape[0] == self.tree.nodes.shape[0] * num_actions
        if keep_tree:
            if not fits or self.tree.nodes[ROOT_INDEX, TO_PLAY] != board.to_play:
                raise ValueError("keep_tree: no search of this position to continue")
            needed = self.tree.num_nodes + sims + batch + 2
            if needed > self.tree.nodes.shape[0]:
                self._grow(max(needed, 2 * self.tree.nodes.shape[0]), num_actions)
        else:
            reuse = self._reused and fits and self.tree.nodes[ROOT_INDEX, TO_PLAY] == board.to_play
            if reuse and self.tree.num_nodes + sims + batch + 2 > self.tree.nodes.shape[0]:
                self._grow(self.tree.num_nodes + sims + batch + 2, num_actions)
            elif not reuse:
                if not fits or self.tree.nodes.shape[0] < sims + batch + 2:
                    self.tree = new_tree(sims + batch + 2, num_actions)
                reset_tree(self.tree, board.to_play)
            self._ownership_sum = np.zeros(size * size) if self.ownership else None
            self._ownership_count = 0
        tree = self.tree
        self._reused = False
        root = board.copy()
        root.reserve(cfg.max_depth + 16)
        # Work states: copies of the root up to the journal top (the rest is free journal space).
        state = root.state  # read-only: the rows of ``work`` are the writable copies the kernels play on
        used = int(state[H_JTOP])
        work = np.empty((batch, state.shape[0]), np.int64)
        work[:, :used] = state[:used]
        paths = np.zeros((batch, cfg.max_depth + 2), np.int64)
        path_len = np.zeros(batch, np.int64)
        leaf_node = np.zeros(batch, np.int64)
        leaf_status = np.zeros(batch, np.int64)
        leaf_value = np.zeros(batch)
        leaf_score = np.zeros(batch)
        planes = np.zeros((batch, getattr(self.evaluator, "in_planes", 17), size, size), np.float32)
        legal = np.zeros((batch, num_actions), np.int64)
        legal_count = np.zeros(batch, np.int64)
        c_base = cfg.c_base if cfg.c_base > 0 else 0.0
        scratch = np.empty(playout_len(size), np.int64)
        rng_state = np.array([self.rng.integers(1, 2**62)], np.uint64)
        # leaf states for the rollout callback (None: light rollouts inside collect_leaves)
        rollout_states = None if self.rollout is None else np.zeros((batch, base_len(size)), np.int64)

        def step(width: int) -> int:
            puct.collect_leaves(*tree, work, width, cfg.c_init, c_base, cfg.fpu_reduction, komi, paths, path_len,
                                leaf_node, leaf_status, leaf_value, leaf_score, planes, legal, legal_count,
                                cfg.mix_lambda, cfg.expand_threshold, scratch, rng_state, cfg.pass_min_move,
                                cfg.score_weight, cfg.score_scale or float(size), rollout_states)
            if rollout_states is not None:
                wanted = puct.rollout_wanted(leaf_status, width, cfg.mix_lambda)
                if wanted.size:
                    leaf_value[wanted] = self.rollout(rollout_states[wanted], komi)
            need = np.flatnonzero(leaf_status[:width] == puct.NEEDS_EVAL)
            logits = np.zeros((width, num_actions), np.float32)
            values = np.zeros(width, np.float32)
            if need.size:
                x = planes[need]
                ks = None
                if cfg.random_symmetry:  # one random symmetry of the 8 for every evaluated position
                    ks = self.rng.integers(8, size=need.size)
                    x = np.stack([apply_symmetry(x[i], int(k)) for i, k in enumerate(ks)])
                owner = None
                if self.ownership:
                    out_logits, out_values, owner = self.evaluator.evaluate_with_ownership(x)
                else:
                    out_logits, out_values = self.evaluator(x)
                out_logits = np.asarray(out_logits, np.float32)
                if ks is not None:
                    out_logits = np.concatenate(
                        [invert_policy_symmetry(out_logits[i : i + 1], int(k), size) for i, k in enumerate(ks)])
                logits[need] = out_logits
                values[need] = np.asarray(out_values, np.float32).reshape(-1)
                if owner is not None:
                    leaf_score[need] = self._add_ownership(np.asarray(owner, np.float64).reshape(need.size, -1), ks,
                                                           tree.nodes[leaf_node[need], TO_PLAY], komi, size)
            return puct.expand_and_backup(*tree, width, paths, path_len, leaf_node, leaf_status, leaf_value,
                                          leaf_score, legal, legal_count, logits, values, cfg.mix_lambda)

        done = 0
        if tree.nodes[ROOT_INDEX, EDGE_COUNT] < 0:
            done += step(1)  # expand the root alone, so that its noise applies to every simulation
        elif self.ownership and not keep_tree:
            self._root_ownership(work[0], planes[:1], komi, size)  # a reused root: evaluated once more, for its map
        if noise > 0 and not keep_tree:
            self._add_root_noise(size, noise)
        stalls = 0
        # With a deadline, each batch is sized to end before it: as many leaves as fit in the time left at the
        # cost a leaf may take -- the highest cost per leaf seen lately, forgotten slowly (x0.9 a batch), kept
        # from one timed search to the next; a search with no such figure yet starts with a small batch that
        # measures it. Batches vary (collisions, terminal leaves, long rollouts early in a 19x19 game, the
        # network's fixed cost a call): the last batch's length alone under-guessed and moves overran.
        leaf_cost = self._leaf_cost if deadline is not None else 0.0
        while done < sims:
            width = min(batch, sims - done)
            if deadline is not None:
                if leaf_cost <= 0.0:
                    width = min(width, FIRST_TIMED_BATCH)
                else:
                    fit = int((deadline - time.perf_counter()) / leaf_cost)
                    if fit < 1:
                        break
                    width = min(width, fit)
            began = time.perf_counter()
            got = step(width)
            leaf_cost = max((time.perf_counter() - began) / width, 0.9 * leaf_cost)
            done += got
            stalls = stalls + 1 if got == 0 else 0
            if stalls > 8:  # only collisions / terminal root / a full tree: nothing more to learn
                break
        self._simulations = done
        self._advanceable = True
        if deadline is not None:
            self._leaf_cost = leaf_cost
        return self._result(size)

    def _grow(self, capacity: int, num_actions: int) -> None:
        """Move the tree into one with room for ``capacity`` nodes (renumbered from the root)."""
        bigger = new_tree(capacity, num_actions)
        puct.copy_subtree(*self.tree[:4], ROOT_INDEX, *bigger)
        self.tree = bigger

    def _add_ownership(self, owner: np.ndarray, ks: np.ndarray | None, to_play: np.ndarray, komi: float,
                       size: int) -> np.ndarray:
        """Add the ownership of evaluated leaves (``owner`` float64[L, N*N], each for its side to move
        ``to_play`` int[L]), turned to the root's side to move, to the running mean; returns their score
        estimates float64[L] (points, each leaf's side to move)."""
        if ks is not None:  # back from the symmetry the leaf was evaluated under (a pass column rides along)
            padded = np.concatenate([owner, np.zeros((owner.shape[0], 1))], axis=1)
            owner = np.concatenate([invert_policy_symmetry(padded[i : i + 1], int(k), size)
                                    for i, k in enumerate(ks)])[:, : size * size]
        sign = np.where(to_play == self.tree.nodes[ROOT_INDEX, TO_PLAY], 1.0, -1.0)
        self._ownership_sum += sign @ owner
        self._ownership_count += owner.shape[0]
        return owner.sum(axis=1) - np.where(to_play == BLACK, komi, -komi)

    def _root_ownership(self, root_state: np.ndarray, planes: np.ndarray, komi: float, size: int) -> None:
        """The ownership of a root that was expanded by an earlier search (tree reuse): one evaluation."""
        if planes.shape[1] != 2 * puct.HISTORY_STEPS + 1:
            return
        puct.write_planes(root_state, planes[0])  # restores the state it reads
        _, _, owner = self.evaluator.evaluate_with_ownership(planes.copy())
        owner = np.asarray(owner, np.float64).reshape(1, size * size)
        self._add_ownership(owner, None, self.tree.nodes[ROOT_INDEX : ROOT_INDEX + 1, TO_PLAY], komi, size)

    def _add_root_noise(self, size: int, w: float) -> None:
        """Root priors (1 - w) P + w Dir(alpha) (Silver et al. 2017, "Self-play")."""
        tree = self.tree
        start, count = tree.nodes[ROOT_INDEX, EDGE_START], tree.nodes[ROOT_INDEX, EDGE_COUNT]
        if count <= 0:
            return
        alpha = self.config.dirichlet_alpha or dirichlet_alpha(size)
        noise = self.rng.dirichlet(np.full(count, alpha))
        priors = tree.stats[start : start + count, PRIOR]
        tree.stats[start : start + count, PRIOR] = (1 - w) * priors + w * noise

    def result(self, size: int, pv_moves: int = 10) -> SearchResult:
        """The root statistics of the last search, with a principal variation for the ``pv_moves``
        most visited moves (``run`` returns the same with 10)."""
        return self._result(size, pv_moves)

    def _result(self, size: int, pv_moves: int = 10) -> SearchResult:
        tree = self.tree
        start, count = int(tree.nodes[ROOT_INDEX, EDGE_START]), int(tree.nodes[ROOT_INDEX, EDGE_COUNT])
        count = max(count, 0)
        edges = tree.edges[start : start + count]
        stats = tree.stats[start : start + count]
        visits = edges[:, EDGE_VISITS].copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            q = np.where(visits > 0, stats[:, VALUE_SUM] / np.maximum(visits, 1), np.nan)
            mean_square = stats[:, VALUE_SQUARE_SUM] / np.maximum(visits, 1)
            q_variance = np.where(visits > 1, np.maximum(mean_square - q * q, 0.0) * visits / np.maximum(visits - 1, 1),
                                  np.nan)
            score = np.where(visits > 0, stats[:, SCORE_SUM] / np.maximum(visits, 1), np.nan) if self.ownership \
                else None
        pv = [int(a) for a in puct.principal_variation(tree.nodes, tree.edges, ROOT_INDEX, 32)]
        move_pvs = {}
        for i in np.argsort(-visits, kind="stable")[:pv_moves]:
            if visits[i] == 0:
                break
            child = int(edges[i, CHILD])
            tail = [] if child < 0 else [int(a) for a in puct.principal_variation(tree.nodes, tree.edges, child, 31)]
            move_pvs[int(edges[i, ACTION])] = [int(edges[i, ACTION])] + tail
        ownership = None
        if self._ownership_sum is not None and self._ownership_count > 0:
            ownership = self._ownership_sum / self._ownership_count
        return SearchResult(edges[:, ACTION].copy(), visits, q, stats[:, PRIOR].copy(),
                            float(tree.values[ROOT_INDEX]), pv, size, move_pvs, q_variance, score, ownership,
                            self._simulations)

    # ------------------------------------------------------------------ tree reuse

    def reset(self) -> None:
        """Forget the kept subtree: the next ``run`` starts from an empty tree (a new game). The
        tree's memory and the random generator are kept."""
        self._reused = False
        self._advanceable = False

    def reuse_root(self) -> None:
        """Keep the whole tree for the next ``run``, whose board the caller guarantees is the same
        position (an analysis of the game's position followed by a genmove of it)."""
        self._reused = self.tree is not None

    def advance(self, action: int) -> bool:
        """Keep the subtree under ``action`` for the next ``run`` (call it after the move is played
        on the board). Returns False (and starts afresh next time) when the move was not searched."""
        tree = self.tree
        if tree is None or not self._advanceable:
            self._reused = False
            return False
        start, count = int(tree.nodes[ROOT_INDEX, EDGE_START]), int(tree.nodes[ROOT_INDEX, EDGE_COUNT])
        child = -1
        for e in range(start, start + max(count, 0)):
            if tree.edges[e, ACTION] == action:
                child = int(tree.edges[e, CHILD])
        if child < 0:
            self._reused = False
            self._advanceable = False  # a second advance must not look in this root's moves
            return False
        fresh = self._spare
        if fresh is None or fresh.nodes.shape != tree.nodes.shape or fresh.edges.shape != tree.edges.shape:
            fresh = new_tree(tree.nodes.shape[0], tree.edges.shape[0] // tree.nodes.shape[0])
        else:
            reset_tree(fresh, int(tree.nodes[child, TO_PLAY]))  # clears the part its last use filled
        puct.copy_subtree(tree.nodes, tree.values, tree.edges, tree.stats, child, *fresh)
        self._spare, self.tree = tree, fresh  # two trees take turns: no allocation between moves
        self._reused = True
        return True


def dirichlet_alpha(size: int) -> float:
    """AlphaZero's alpha 0.03 on 19x19, scaled inversely with the number of points."""
    return 0.03 * 361 / (size * size)

