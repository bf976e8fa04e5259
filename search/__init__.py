"""tenuki.search: Monte-Carlo tree search over ``tenuki.envs.go`` boards (numpy + numba; never torch, never Ray).

Parts:

==============  =====================================================================================
``settings``    ``SearchConfig`` (the YAML ``search:`` section), ``MCTSConfig`` (what one search runs
                with) and ``search_params``, the one translation from the first to the second that
                self-play, gating and the players share
``mcts``        ``MCTS``: PUCT guided by an ``Evaluator`` (planes -> policy logits, values), batched
                leaves with virtual loss, tree reuse (``advance`` / ``reset``), root noise per call;
                ``SearchResult``: the root's visits, Q values, priors and principal variations
``tree``        the struct-of-arrays tree (``Tree``, ``new_tree``, ``ROOT_INDEX``, ``UNVISITED``, ...)
``puct``        the PUCT kernels: ``select_edge``, ``collect_leaves``, ``expand_and_backup``, ...
``uct``         ``uct_run``: UCT with random rollouts, the pure Monte-Carlo baseline
``rollout``     light / uniform rollouts from a leaf (``ROLLOUT_LIGHT``, ``ROLLOUT_UNIFORM``)
``symmetry``    the 8 board symmetries for planes and policies
``player``      ``Player`` (the protocol every bot answers to) and ``Move``
``players``     the searching players (``UCTPlayer``, ``PUCTPlayer``, ``PolicyPlayer``; ``GrowingSearch`` for analysis)
``flat_mc``     ``FlatMonteCarloPlayer``, the flat Monte-Carlo bot
==============  =====================================================================================

The players are loaded on first use (PEP 562 ``__getattr__``): a self-play worker that only runs
``MCTS`` does not import them. Modules of this package import each other by their defining module,
never through this face.
"""

from __future__ import annotations

from tenuki.common.lazy import lazy_exports
from tenuki.search.mcts import MCTS, Evaluator, SearchResult, dirichlet_alpha, uniform_evaluator
from tenuki.search.rollout import ROLLOUT_LIGHT, ROLLOUT_UNIFORM
from tenuki.search.settings import (
    SEARCH_RANGES,
    MCTSConfig,
    SearchConfig,
    SearchConfigError,
    pass_min_move,
    search_params,
)
from tenuki.search.symmetry import apply_symmetry, invert_policy_symmetry
from tenuki.search.tree import NOT_EXPANDED, PENDING, ROOT_INDEX, UNVISITED, Tree, new_tree, reset_tree
from tenuki.search.uct import uct_run

# name -> defining module, imported when the name is first asked for
_LAZY = {
    "Move": "tenuki.search.player",
    "Player": "tenuki.search.player",
    "Analysis": "tenuki.search.player",
    "AnalysingPlayer": "tenuki.search.player",
    "GrowingSearch": "tenuki.search.players",
    "UCTPlayer": "tenuki.search.players",
    "PUCTPlayer": "tenuki.search.players",
    "PolicyPlayer": "tenuki.search.players",
    "FlatMonteCarloPlayer": "tenuki.search.flat_mc",
}

__all__ = [
    "MCTS",
    "NOT_EXPANDED",
    "PENDING",
    "ROLLOUT_LIGHT",
    "ROLLOUT_UNIFORM",
    "ROOT_INDEX",
    "SEARCH_RANGES",
    "UNVISITED",
    "AnalysingPlayer",
    "Analysis",
    "Evaluator",
    "FlatMonteCarloPlayer",
    "GrowingSearch",
    "MCTSConfig",
    "Move",
    "PUCTPlayer",
    "Player",
    "PolicyPlayer",
    "SearchConfig",
    "SearchConfigError",
    "SearchResult",
    "Tree",
    "UCTPlayer",
    "apply_symmetry",
    "dirichlet_alpha",
    "invert_policy_symmetry",
    "new_tree",
    "pass_min_move",
    "reset_tree",
    "search_params",
    "uct_run",
    "uniform_evaluator",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
