"""The search tree as preallocated arrays indexed by node and edge id (numba-friendly).

Nodes are positions, edges are moves. A node's edges are a contiguous block of the edge arrays,
created when the node is expanded (one edge per legal action, so illegal moves, superko
included, never enter the tree at any depth). Statistics live on edges and are seen from the
player who chooses the edge (the side to move at the edge's parent node)::

    nodes   int64[M, 6]   EDGE_START, EDGE_COUNT (NOT_EXPANDED / PENDING before), PARENT_EDGE,
                          TO_PLAY, VISITS (simulations through the node), TERMINAL (1 when the game
                          is over at the node)
    values  float64[M]    value of the node's position from its side to move, as first evaluated
    edges   int64[E, 4]   ACTION, CHILD (UNVISITED until the move is first played), VISITS, VIRTUAL
    stats   float64[E, 4] PRIOR, VALUE_SUM, VALUE_SQUARE_SUM (for the variance, hence the LCB of
                          analysis), SCORE_SUM (the backed-up score estimates, in points: exact at
                          terminal leaves, from the ownership head at evaluated ones when the search
                          asks the evaluator for it, else 0)
    counts  int64[2]      nodes used, edges used

Node 0 is the root (``ROOT_INDEX``). Sizes come from the simulation budget: at most one node per
simulation plus the root, and at most N*N+1 edges per node.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

ROOT_INDEX = 0
UNVISITED = -1  # edge whose child node does not exist yet
NOT_EXPANDED = -1  # EDGE_COUNT of a node that was never evaluated
PENDING = -2  # EDGE_COUNT of a node waiting for the evaluator within the current batch

# node columns
EDGE_START, EDGE_COUNT, PARENT_EDGE, TO_PLAY, VISITS, TERMINAL = range(6)
# edge columns
ACTION, CHILD, EDGE_VISITS, VIRTUAL = range(4)
# edge stats columns
PRIOR, VALUE_SUM, VALUE_SQUARE_SUM, SCORE_SUM = range(4)
STATS_COLUMNS = 4
NODES_USED, EDGES_USED = range(2)


class Tree(NamedTuple):
    nodes: np.ndarray  # int64[M, 6]
    values: np.ndarray  # float64[M]
    edges: np.ndarray  # int64[E, 4]
    stats: np.ndarray  # float64[E, 4]
    counts: np.ndarray  # int64[2]

    @property
    def num_nodes(self) -> int:
        return int(self.counts[NODES_USED])

    @property
    def num_edges(self) -> int:
        return int(self.counts[EDGES_USED])


def new_tree(max_nodes: int, num_actions: int, max_edges: int | None = None) -> Tree:
    """A tree with room for ``max_nodes`` nodes and ``max_edges`` edges (default: every node
    expanded with ``num_actions`` edges)."""
    max_nodes = max(int(max_nodes), 2)
    max_edges = max_nodes * num_actions if max_edges is None else max(int(max_edges), num_actions)
    nodes = np.zeros((max_nodes, 6), np.int64)
    nodes[:, EDGE_COUNT] = NOT_EXPANDED
    nodes[:, PARENT_EDGE] = UNVISITED
    edges = np.zeros((max_edges, 4), np.int64)
    edges[:, CHILD] = UNVISITED
    return Tree(nodes, np.zeros(max_nodes), edges, np.zeros((max_edges, STATS_COLUMNS)), np.zeros(2, np.int64))


def reset_tree(tree: Tree, to_play: int) -> None:
    """Empty the tree and create an unexpanded root for ``to_play``."""
    used = max(tree.num_nodes, 1)
    tree.nodes[:used, EDGE_COUNT] = NOT_EXPANDED
    tree.nodes[:used, PARENT_EDGE] = UNVISITED
    tree.nodes[:used, [EDGE_START, VISITS, TERMINAL]] = 0
    e = tree.num_edges
    tree.edges[:e] = 0
    tree.edges[:e, CHILD] = UNVISITED
    tree.stats[:e] = 0.0
    tree.values[:used] = 0.0
    tree.counts[NODES_USED] = 1
    tree.counts[EDGES_USED] = 0
    tree.nodes[ROOT_INDEX, TO_PLAY] = to_play


def bytes_per_node(num_actions: int) -> int:
    """Memory of one node of a tree made by ``new_tree``: its row, its value and its ``num_actions`` edges."""
    return 6 * 8 + 8 + num_actions * (4 * 8 + STATS_COLUMNS * 8)
