"""UCT with random rollouts: the pure Monte-Carlo tree search baseline, all in one compiled call.

Selection is UCB1 (Kocsis & Szepesvari 2006): an unvisited edge first (edges are created for all
legal moves, superko included, in a random order), then ``Q + c * sqrt(ln N / n)``. The leaf
value is the outcome of one rollout from the new node:

- ``ROLLOUT_LIGHT``: the light playout of envs/go/playout.py (uniform over legal moves that do
  not fill the mover's own true eye);
- ``ROLLOUT_UNIFORM``: uniform over all legal moves including pass, until two passes or until the
  game reaches 2*N*N moves (OpenSpiel's RandomRolloutEvaluator on its Go game does the same work).

Rollouts are scored by Tromp-Taylor area with komi, +1 / -1 / 0.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tenuki.envs.go.kernels import action_to_point, compact_hash_set, legal_actions_into, play, undo
from tenuki.envs.go.layout import H_N, H_PASSES, H_TO_PLAY, LEGAL
from tenuki.search.puct import _new_node
from tenuki.search.rollout import ROLLOUT_LIGHT, ROLLOUT_UNIFORM, _random_bits, rollout_value
from tenuki.search.tree import (
    ACTION,
    CHILD,
    EDGE_COUNT,
    EDGE_START,
    EDGE_VISITS,
    EDGES_USED,
    NOT_EXPANDED,
    PRIOR,
    ROOT_INDEX,
    TERMINAL,
    TO_PLAY,
    UNVISITED,
    VALUE_SUM,
    VISITS,
)


@njit(cache=True)
def _expand_uniform(nodes, edges, stats, counts, node, st, legal, rng):
    """Create the node's edges (all legal moves, random order); False when the edges are full."""
    count = legal_actions_into(st, -1, legal, 0)
    if counts[EDGES_USED] + count > edges.shape[0]:
        return False
    # Random order, so that "first unvisited edge" is a uniformly random one (Fisher-Yates).
    for i in range(count - 1, 0, -1):
        j = (_random_bits(rng) * (i + 1)) >> 31
        legal[i], legal[j] = legal[j], legal[i]
    start = counts[EDGES_USED]
    for i in range(count):
        edges[start + i, ACTION] = legal[i]
        edges[start + i, CHILD] = UNVISITED
        edges[start + i, EDGE_VISITS] = 0
        stats[start + i, PRIOR] = 1.0 / count
        stats[start + i, VALUE_SUM] = 0.0
    nodes[node, EDGE_START] = start
    nodes[node, EDGE_COUNT] = count
    counts[EDGES_USED] = start + count
    return True


@njit(cache=True)
def _select_ucb1(nodes, edges, stats, node, c_uct):
    start = nodes[node, EDGE_START]
    count = nodes[node, EDGE_COUNT]
    log_n = math.log(max(nodes[node, VISITS], 1))
    best = start
    best_score = -np.inf
    for e in range(start, start + count):
        n = edges[e, EDGE_VISITS]
        if n == 0:
            return e
        score = stats[e, VALUE_SUM] / n + c_uct * math.sqrt(log_n / n)
        if score > best_score:
            best_score = score
            best = e
    return best


@njit(cache=True)
def uct_search(nodes, values, edges, stats, counts, st, num_simulations, c_uct, seed, kind, komi, scratch_len,
               expand_visits):
    """Run ``num_simulations`` UCT simulations from the recorded state ``st`` (restored on return),
    adding to the statistics already in the tree. A node gets its edges once it has been visited
    ``expand_visits`` times (the root at once); until then a simulation ending there is valued by
    a rollout (Coulom 2006; Fuego and Pachi expand the same way). Returns the simulations
    completed (fewer only when the tree is full)."""
    n = st[H_N]
    legal = np.empty(n * n + 1, np.int64)
    path = np.empty(4 * n * n + 64, np.int64)
    scratch = np.empty(scratch_len, np.int64)
    rng = np.empty(1, np.uint64)
    rng[0] = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(12345)
    done = 0
    for _ in range(num_simulations):
        compact_hash_set(st)
        node = ROOT_INDEX
        depth = 0
        full = False
        while True:
            if nodes[node, TERMINAL] != 0:
                v = rollout_value(st, scratch, rng, kind, komi)  # the game is over: counts as is
                break
            if nodes[node, EDGE_COUNT] == NOT_EXPANDED:
                waiting = node != ROOT_INDEX and nodes[node, VISITS] < expand_visits
                if waiting or not _expand_uniform(nodes, edges, stats, counts, node, st, legal, rng):
                    if node == ROOT_INDEX:
                        full = True
                        break
                    v = rollout_value(st, scratch, rng, kind, komi)
                    break
            e = _select_ucb1(nodes, edges, stats, node, c_uct)
            if play(st, action_to_point(st, edges[e, ACTION]), nodes[node, TO_PLAY], True) != LEGAL:
                full = True
                break
            path[depth] = e
            depth += 1
            child = edges[e, CHILD]
            if child == UNVISITED:
                child = _new_node(nodes, counts, e, st[H_TO_PLAY], 1 if st[H_PASSES] >= 2 else 0)
                if child < 0:
                    full = True
                    break
                edges[e, CHILD] = child
                node = child
                v = rollout_value(st, scratch, rng, kind, komi)
                break
            node = child
        if full:
            for _ in range(depth):
                undo(st)
            break
        leaf_to_play = nodes[node, TO_PLAY]
        nodes[node, VISITS] += 1
        for i in range(depth - 1, -1, -1):
            e = path[i]
            chooser = 3 - nodes[edges[e, CHILD], TO_PLAY]
            edges[e, EDGE_VISITS] += 1
            stats[e, VALUE_SUM] += v if chooser == leaf_to_play else -v
            parent = ROOT_INDEX if i == 0 else edges[path[i - 1], CHILD]
            nodes[parent, VISITS] += 1
        for _ in range(depth):
            undo(st)
        done += 1
    return done


def uct_run(board, num_simulations: int | None = None, c_uct: float = 1.4, rollout: str = "light", seed: int = 0,
            komi: float | None = None, seconds: float | None = None, expand_visits: int = 1,
            capacity: int | None = None):
    """UCT search from ``board`` (unchanged): ``num_simulations``, or as many as fit in
    ``seconds`` (searched in slices on one tree). ``capacity``: the simulations a timed search makes room
    for at the start (default 4096); after its first slice of 256 simulations a timed search grows the tree
    once to 1.5 times what its measured speed fits in the time left, so that later growth (a copy of the
    arrays, tens of ms on 19x19) is rare, and a search that would have to grow in the last quarter of its
    time stops instead. Returns a ``tenuki.search.mcts.SearchResult``."""
    import time

    from tenuki.envs.go.playout import playout_len
    from tenuki.search.mcts import SearchConfigError, SearchResult
    from tenuki.search.puct import principal_variation
    from tenuki.search.tree import new_tree, reset_tree

    kinds = {"light": ROLLOUT_LIGHT, "uniform": ROLLOUT_UNIFORM}
    if rollout not in kinds:
        raise SearchConfigError(f"rollout {rollout!r} is unknown (allowed: {', '.join(kinds)})")
    if num_simulations is None and seconds is None:
        raise SearchConfigError("give num_simulations or seconds")
    if num_simulations is not None and num_simulations < 1:
        raise SearchConfigError(f"num_simulations must be >= 1, got {num_simulations}")
    size = board.size
    actions = size * size + 1
    limit = num_simulations if num_simulations is not None else 1 << 40
    deadline = None if seconds is None else time.perf_counter() + seconds  # making the tree counts too
    capacity = num_simulations if num_simulations is not None else max(256, capacity or 4096)
    # + 3: the root and the slack of the growth check below, so that a search of ``num_simulations`` fits as made
    tree = new_tree(capacity + 3, actions, (capacity // max(expand_visits, 1) + 2) * actions)
    reset_tree(tree, board.to_play)
    work = board.copy()
    work.reserve(4 * size * size + 64)
    st = work.state.copy()  # uct_search plays and undoes on it: its own writable array, room reserved
    komi = board.komi if komi is None else komi
    done = 0
    chunk = limit if deadline is None else 256
    while done < limit:
        step = min(chunk, limit - done)
        began = time.perf_counter()  # a slice that grew the tree counts the copy in its time (the check below)
        if not _fits(tree, done, step, actions, expand_visits):
            if deadline is not None and done > 0 and deadline - began < 0.25 * seconds:
                break  # no copy of a large tree in the last quarter of the time: the search ends here
            tree = _grown(tree, done, step, actions, expand_visits)
        got = uct_search(*tree, st, step, c_uct, seed + done, kinds[rollout], komi, playout_len(size),
                         expand_visits)
        if deadline is not None and done == 0 and got == step:
            # After the first slice, the room this move will need at its own speed (1.5 times the simulations
            # that fit in the time left): grown now, once, while the tree is small and the deadline far, not
            # by doublings later, the last of which could copy a large tree just before the deadline.
            now = time.perf_counter()
            wanted = int(1.5 * got / max(now - began, 1e-9) * max(deadline - now, 0.0))
            if not _fits(tree, got, wanted, actions, expand_visits):
                tree = _grown(tree, got, wanted, actions, expand_visits)
        done += got
        # a chunk that would end past the deadline (as long as this one) is not started
        if got < step or (deadline is not None and 2 * time.perf_counter() - began >= deadline):
            break
    start, count = int(tree.nodes[ROOT_INDEX, EDGE_START]), max(int(tree.nodes[ROOT_INDEX, EDGE_COUNT]), 0)
    visits = tree.edges[start : start + count, EDGE_VISITS].copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(visits > 0, tree.stats[start : start + count, VALUE_SUM] / np.maximum(visits, 1), np.nan)
    pv = [int(a) for a in principal_variation(tree.nodes, tree.edges, ROOT_INDEX, 32)]
    return SearchResult(tree.edges[start : start + count, ACTION].copy(), visits, q,
                        tree.stats[start : start + count, PRIOR].copy(), float("nan"), pv, size)


def _new_edges(tree, done: int, step: int, actions: int, expand_visits: int) -> int:
    """The most edges ``step`` more simulations after the ``done`` ones can add. A leaf is expanded (its
    ``actions`` edges at most) once ``expand_visits`` simulations ended at it, counted over the whole search:
    leaves that collected visits in earlier slices can all expand in the next one, so the bound is on the
    expansions of the whole search, the root's and one in ``expand_visits`` simulations, less those made."""
    expanded = int(np.count_nonzero(tree.nodes[: tree.num_nodes, EDGE_COUNT] != NOT_EXPANDED))
    return max((done + step) // max(expand_visits, 1) + 2 - expanded, 0) * actions


def _fits(tree, done: int, step: int, actions: int, expand_visits: int) -> bool:
    """Whether ``step`` more simulations after ``done`` fit the tree's arrays: a node each at most, the
    edges ``_new_edges`` bounds."""
    return (tree.num_nodes + step + 2 <= tree.nodes.shape[0]
            and tree.num_edges + _new_edges(tree, done, step, actions, expand_visits) <= tree.edges.shape[0])


def _grown(tree, done: int, step: int, actions: int, expand_visits: int = 1):
    """The same tree in arrays with room for at least ``step`` more simulations after ``done`` (ids kept),
    edges as ``_new_edges`` bounds them."""
    from tenuki.search.tree import Tree

    nodes_cap = max(2 * tree.nodes.shape[0], tree.num_nodes + step + 2)
    edges_cap = max(2 * tree.edges.shape[0], tree.num_edges + _new_edges(tree, done, step, actions, expand_visits))
    nodes = np.zeros((nodes_cap, tree.nodes.shape[1]), np.int64)
    nodes[:, EDGE_COUNT] = NOT_EXPANDED
    nodes[: tree.num_nodes] = tree.nodes[: tree.num_nodes]
    values = np.zeros(nodes_cap)
    values[: tree.num_nodes] = tree.values[: tree.num_nodes]
    edges = np.zeros((edges_cap, tree.edges.shape[1]), np.int64)
    edges[:, CHILD] = UNVISITED
    edges[: tree.num_edges] = tree.edges[: tree.num_edges]
    stats = np.zeros((edges_cap, tree.stats.shape[1]))
    stats[: tree.num_edges] = tree.stats[: tree.num_edges]
    return Tree(nodes, values, edges, stats, tree.counts.copy())
