"""PUCT search kernels: selection, batched leaf collection with virtual loss, expansion, backup.

Selection (AlphaZero, Silver et al. 2018, pseudocode ``ucb_score``)::

    score(a) = Q(a) + c(s) * P(a) * sqrt(N(s)) / (1 + N(a))
    c(s)     = c_init + log((1 + N(s) + c_base) / c_base)      (c_base <= 0: c(s) = c_init, AlphaGo's c_puct)

Q of an unvisited edge is the first-play urgency (Leela Zero / KataGo "FPU reduction"):
``Q(parent) - fpu_reduction * sqrt(sum of priors of visited edges)``. Virtual loss: every pending
simulation through an edge counts as one more visit that lost (value -1), so the other
simulations of a batch spread out (Chaslot et al. 2008; AlphaGo uses n_vl = 3, we use 1 per visit).

A simulation walks down by playing moves on its own recorded copy of the root state (so ko,
superko and suicide are judged exactly, and the leaf's legal moves mask its edges), then undoes
them. No torch here: the caller evaluates the collected planes and hands back logits and values.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tenuki.envs.go.alphago_planes import fill_planes, recent_points
from tenuki.envs.go.kernels import action_to_point, compact_hash_set, legal_actions_into, play, undo
from tenuki.envs.go.layout import (
    BLACK,
    COUNT_SHIFT,
    H_MOVE,
    H_N,
    H_OFF_MOVES,
    H_PASSES,
    H_TO_PLAY,
    LEGAL,
    OFF_COLOR,
)
from tenuki.envs.go.playout import terminal_area_difference
from tenuki.search.rollout import ROLLOUT_LIGHT, rollout_value
from tenuki.search.tree import (
    ACTION,
    CHILD,
    EDGE_COUNT,
    EDGE_START,
    EDGE_VISITS,
    EDGES_USED,
    NODES_USED,
    NOT_EXPANDED,
    PARENT_EDGE,
    PENDING,
    PRIOR,
    ROOT_INDEX,
    SCORE_SUM,
    TERMINAL,
    TO_PLAY,
    UNVISITED,
    VALUE_SQUARE_SUM,
    VALUE_SUM,
    VIRTUAL,
    VISITS,
)

# leaf status after collection
NEEDS_EVAL, TERMINAL_LEAF, COLLISION, TREE_FULL, ROLLOUT_ONLY = 0, 1, 2, 3, 4
HISTORY_STEPS = 8


@njit(cache=True)
def select_edge(nodes, values, edges, stats, node, c_init, c_base, fpu_reduction):
    """The edge of ``node`` with the best PUCT score (virtual loss included)."""
    start = nodes[node, EDGE_START]
    count = nodes[node, EDGE_COUNT]
    parent_visits = 0
    visited_prior = 0.0
    for e in range(start, start + count):
        n = edges[e, EDGE_VISITS] + edges[e, VIRTUAL]
        parent_visits += n
        if n > 0:
            visited_prior += stats[e, PRIOR]
    c = c_init
    if c_base > 0.0:
        c += math.log((1.0 + parent_visits + c_base) / c_base)
    sqrt_n = math.sqrt(max(parent_visits, 1))
    fpu = values[node] - fpu_reduction * math.sqrt(visited_prior)
    best = -1
    best_score = -np.inf
    for e in range(start, start + count):
        n = edges[e, EDGE_VISITS] + edges[e, VIRTUAL]
        q = (stats[e, VALUE_SUM] - edges[e, VIRTUAL]) / n if n > 0 else fpu
        score = q + c * stats[e, PRIOR] * sqrt_n / (1.0 + n)
        if score > best_score:
            best_score = score
            best = e
    return best


@njit(cache=True)
def _new_node(nodes, counts, parent_edge, to_play, terminal):
    node = counts[NODES_USED]
    if node >= nodes.shape[0]:
        return -1
    counts[NODES_USED] = node + 1
    nodes[node, EDGE_START] = 0
    nodes[node, EDGE_COUNT] = NOT_EXPANDED
    nodes[node, PARENT_EDGE] = parent_edge
    nodes[node, TO_PLAY] = to_play
    nodes[node, VISITS] = 0
    nodes[node, TERMINAL] = terminal
    return node


@njit(cache=True)
def write_planes(st, out):
    """AlphaZero planes of the position in ``st`` into out[17, N, N] (see envs/go/features.py):
    own stones at t..t-7, opponent stones at t..t-7, side-to-move plane. Earlier positions are
    reached by undo and restored by replaying the recorded moves."""
    n = st[H_N]
    w = n + 1
    me = st[H_TO_PLAY]
    out[:] = 0.0
    undone = 0
    for t in range(HISTORY_STEPS):
        for r in range(n):
            for c in range(n):
                v = st[OFF_COLOR + (r + 1) * w + c + 1]
                if v == me:
                    out[t, r, c] = 1.0
                elif v == 3 - me:
                    out[HISTORY_STEPS + t, r, c] = 1.0
        if t == HISTORY_STEPS - 1 or st[H_MOVE] == 0:
            break
        undo(st)
        undone += 1
    if me == BLACK:
        out[2 * HISTORY_STEPS] = 1.0
    k = st[H_MOVE]
    for i in range(k, k + undone):
        packed = st[st[H_OFF_MOVES] + i]
        play(st, action_to_point(st, packed % COUNT_SHIFT), packed // COUNT_SHIFT, True)


@njit(cache=True)
def terminal_value(st, komi, score_weight=0.0, score_scale=1.0):
    """+1 / -1 / 0 for the side to move of a finished position (Tromp-Taylor, komi); with
    ``score_weight`` w > 0 the utility (1 - w) * that + w * tanh(margin / score_scale) (KataGo's
    score utility: a lost game lost by less is still better)."""
    margin = terminal_area_difference(st) - komi
    v = 1.0 if margin > 0 else -1.0 if margin < 0 else 0.0
    if score_weight > 0.0:
        v = (1.0 - score_weight) * v + score_weight * math.tanh(margin / score_scale)
    return v if st[H_TO_PLAY] == BLACK else -v


@njit(cache=True)
def terminal_score(st, komi):
    """The final margin in points (Tromp-Taylor area, komi) of a finished position, for its side to move."""
    margin = terminal_area_difference(st) - komi
    return margin if st[H_TO_PLAY] == BLACK else -margin


def rollout_wanted(leaf_status: np.ndarray, width: int, mix_lambda: float) -> np.ndarray:
    """The rows of the batch whose leaf ``collect_leaves`` left for the caller's rollout: the leaves valued by
    a rollout alone (``ROLLOUT_ONLY``), and the evaluated ones when ``mix_lambda`` > 0."""
    status = leaf_status[:width]
    wanted = status == ROLLOUT_ONLY
    if mix_lambda > 0.0:
        wanted |= status == NEEDS_EVAL
    return np.flatnonzero(wanted)


@njit(cache=True)
def collect_leaves(nodes, values, edges, stats, counts, work, batch, c_init, c_base, fpu_reduction, komi,
                   paths, path_len, leaf_node, leaf_status, leaf_value, leaf_score, planes, legal, legal_count,
                   mix_lambda, expand_threshold, scratch, rng, pass_min_move=0, score_weight=0.0, score_scale=1.0,
                   rollout_states=None):
    """Walk ``batch`` simulations down the tree (virtual loss on every edge taken), one per work
    state (``work[b]`` holds the root position; it is restored before returning). For every leaf
    that needs the evaluator, write its planes and legal actions: the 17 AlphaZero planes, or
    AlphaGo's 48 / 49 feature planes when ``planes`` has that many (``tenuki.envs.go.alphago_planes``).

    AlphaGo's asynchronous policy-and-value search (Silver et al. 2016, "Methods: Search
    algorithm"): with ``mix_lambda`` > 0 each new leaf also gets a light rollout z (its value
    becomes (1 - lambda) v + lambda z); a leaf visited fewer than ``expand_threshold`` times is
    valued by a rollout alone and not expanded (AlphaGo: lambda 0.5, threshold 40).

    ``pass_min_move`` > 0 (self-play only): before that move number, pass is not among a node's
    actions unless the opponent just passed or nothing else is legal. A small self-play run
    otherwise falls into a loop where a side whose every move looks lost spreads its visits by
    the prior, the pass logit (the one action at the same index in every position) soaks up
    that mass, and the side learns to pass from the start.

    ``leaf_score[b]``: the exact final margin (``terminal_score``) of a terminal leaf, else 0 (the
    caller writes the evaluator's score estimate of the evaluated leaves before the backup).

    ``rollout_states`` int64[batch, L] (default None: light rollouts here): the rollouts are the
    caller's (a learned rollout policy) -- the first L entries of the state of every leaf that wants one are
    copied to its row and its
    ``leaf_value`` left 0 for the caller to fill before the backup (``rollout_wanted`` says which)."""
    for b in range(batch):
        st = work[b]
        compact_hash_set(st)
        node = ROOT_INDEX
        depth = 0
        played = 0
        status = NEEDS_EVAL
        while True:
            if nodes[node, TERMINAL] != 0:
                status = TERMINAL_LEAF
                break
            count = nodes[node, EDGE_COUNT]
            if count == PENDING:
                status = COLLISION
                break
            if count == NOT_EXPANDED:
                if node != ROOT_INDEX and nodes[node, VISITS] < expand_threshold:
                    status = ROLLOUT_ONLY
                else:
                    nodes[node, EDGE_COUNT] = PENDING
                    status = NEEDS_EVAL
                break
            if depth >= paths.shape[1]:
                status = TREE_FULL  # a path longer than max_depth: the simulation is dropped
                break
            e = select_edge(nodes, values, edges, stats, node, c_init, c_base, fpu_reduction)
            edges[e, VIRTUAL] += 1
            paths[b, depth] = e
            depth += 1
            if play(st, action_to_point(st, edges[e, ACTION]), nodes[node, TO_PLAY], True) != LEGAL:
                status = TREE_FULL  # cannot happen: edges are the legal moves of this very position
                break
            played += 1
            child = edges[e, CHILD]
            if child == UNVISITED:
                child = _new_node(nodes, counts, e, st[H_TO_PLAY], 1 if st[H_PASSES] >= 2 else 0)
                if child < 0:
                    status = TREE_FULL
                    break
                edges[e, CHILD] = child
            node = child
        leaf_node[b] = node
        leaf_status[b] = status
        path_len[b] = depth
        leaf_score[b] = 0.0
        if status == NEEDS_EVAL:
            if planes.shape[1] == 2 * HISTORY_STEPS + 1:
                write_planes(st, planes[b])  # AlphaZero's 17 planes
            else:
                fill_planes(st, recent_points(st), planes[b])  # AlphaGo's 48 / 49 feature planes
            legal_count[b] = legal_actions_into(st, -1, legal[b], 0)
            if st[H_MOVE] < pass_min_move and st[H_PASSES] == 0 and legal_count[b] > 1:
                legal_count[b] -= 1  # pass is listed last
            if mix_lambda > 0.0:
                if rollout_states is None:
                    leaf_value[b] = rollout_value(st, scratch, rng, ROLLOUT_LIGHT, komi)
                else:
                    leaf_value[b] = 0.0
                    rollout_states[b, :] = st[: rollout_states.shape[1]]
        elif status == ROLLOUT_ONLY:
            if rollout_states is None:
                leaf_value[b] = rollout_value(st, scratch, rng, ROLLOUT_LIGHT, komi)
            else:
                leaf_value[b] = 0.0
                rollout_states[b, :] = st[: rollout_states.shape[1]]
        elif status == TERMINAL_LEAF:
            leaf_value[b] = terminal_value(st, komi, score_weight, score_scale)
            leaf_score[b] = terminal_score(st, komi)
        for _ in range(played):
            undo(st)


@njit(cache=True)
def expand_and_backup(nodes, values, edges, stats, counts, batch, paths, path_len, leaf_node, leaf_status,
                      leaf_value, leaf_score, legal, legal_count, logits, net_values, mix_lambda):
    """Expand the evaluated leaves (softmax of the logits over their legal actions) and back up
    every simulation's value (its sum and the sum of its squares) and score estimate
    ``leaf_score`` (points, for the leaf's side to move), removing its virtual loss. Returns
    simulations backed up."""
    done = 0
    for b in range(batch):
        node = leaf_node[b]
        status = leaf_status[b]
        if status == COLLISION or status == TREE_FULL:
            for i in range(path_len[b]):
                edges[paths[b, i], VIRTUAL] -= 1
            if status == TREE_FULL and nodes[node, EDGE_COUNT] == PENDING:
                nodes[node, EDGE_COUNT] = NOT_EXPANDED
            continue
        if status == NEEDS_EVAL:
            start = counts[EDGES_USED]
            count = legal_count[b]
            top = -np.inf
            for i in range(count):
                top = max(top, logits[b, legal[b, i]])
            total = 0.0
            for i in range(count):
                a = legal[b, i]
                edges[start + i, ACTION] = a
                edges[start + i, CHILD] = UNVISITED
                edges[start + i, EDGE_VISITS] = 0
                edges[start + i, VIRTUAL] = 0
                p = math.exp(logits[b, a] - top)
                stats[start + i, PRIOR] = p
                stats[start + i, VALUE_SUM] = 0.0
                stats[start + i, VALUE_SQUARE_SUM] = 0.0
                stats[start + i, SCORE_SUM] = 0.0
                total += p
            for i in range(count):
                stats[start + i, PRIOR] /= total
            nodes[node, EDGE_START] = start
            nodes[node, EDGE_COUNT] = count
            counts[EDGES_USED] = start + count
            v = net_values[b]
            values[node] = v
            if mix_lambda > 0.0:
                v = (1.0 - mix_lambda) * v + mix_lambda * leaf_value[b]
        elif status == ROLLOUT_ONLY:
            v = leaf_value[b]
        else:
            v = leaf_value[b]
            values[node] = v
        score = leaf_score[b] if status != ROLLOUT_ONLY else 0.0
        leaf_to_play = nodes[node, TO_PLAY]
        nodes[node, VISITS] += 1
        nodes[ROOT_INDEX, VISITS] += 1 if node != ROOT_INDEX else 0
        for i in range(path_len[b] - 1, -1, -1):
            e = paths[b, i]
            chooser = 3 - nodes[edges[e, CHILD], TO_PLAY]
            edges[e, VIRTUAL] -= 1
            edges[e, EDGE_VISITS] += 1
            same = chooser == leaf_to_play
            stats[e, VALUE_SUM] += v if same else -v
            stats[e, VALUE_SQUARE_SUM] += v * v
            stats[e, SCORE_SUM] += score if same else -score
            if i > 0:
                nodes[edges[paths[b, i - 1], CHILD], VISITS] += 1
        done += 1
    return done


@njit(cache=True)
def principal_variation(nodes, edges, start_node, max_length):
    """Actions of the most visited path from ``start_node``."""
    out = np.empty(max_length, np.int64)
    n = 0
    node = start_node
    while n < max_length and nodes[node, EDGE_COUNT] > 0:
        start = nodes[node, EDGE_START]
        best = -1
        best_visits = 0
        for e in range(start, start + nodes[node, EDGE_COUNT]):
            if edges[e, EDGE_VISITS] > best_visits:
                best_visits = edges[e, EDGE_VISITS]
                best = e
        if best < 0:
            break
        out[n] = edges[best, ACTION]
        n += 1
        node = edges[best, CHILD]
        if node < 0:
            break
    return out[:n]


@njit(cache=True)
def copy_subtree(nodes, values, edges, stats, new_root, out_nodes, out_values, out_edges, out_stats, out_counts):
    """Copy the subtree under ``new_root`` into an empty tree, renumbered breadth-first with the new
    root at 0 (tree reuse between moves). Statistics are kept as they are."""
    old_ids = np.empty(out_nodes.shape[0], np.int64)
    old_ids[0] = new_root
    out_nodes[0] = nodes[new_root]
    out_nodes[0, PARENT_EDGE] = UNVISITED
    out_values[0] = values[new_root]
    used = 1
    edges_used = 0
    head = 0
    while head < used:
        old = old_ids[head]
        new = head
        head += 1
        count = nodes[old, EDGE_COUNT]
        if count <= 0:
            out_nodes[new, EDGE_START] = 0
            if count == PENDING:
                out_nodes[new, EDGE_COUNT] = NOT_EXPANDED
            continue
        start = nodes[old, EDGE_START]
        out_nodes[new, EDGE_START] = edges_used
        for i in range(count):
            e = start + i
            f = edges_used + i
            out_edges[f] = edges[e]
            out_edges[f, VIRTUAL] = 0
            out_stats[f] = stats[e]
            child = edges[e, CHILD]
            if child >= 0:
                old_ids[used] = child
                out_nodes[used] = nodes[child]
                out_nodes[used, PARENT_EDGE] = f
                out_values[used] = values[child]
                out_edges[f, CHILD] = used
                used += 1
        edges_used += count
    out_counts[NODES_USED] = used
    out_counts[EDGES_USED] = edges_used

