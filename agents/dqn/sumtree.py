"""A sum tree over flat float64 arrays, as numba kernels (proportional prioritized replay, Schaul et al. 2016).

Layout: ``tree`` is ``float64[2 * leaf_count]`` with ``leaf_count`` a power of two; node 1 is the root,
node ``i`` has children ``2i`` and ``2i + 1``, leaf ``j`` lives at ``tree[leaf_count + j]``, ``tree[0]``
is unused. A parent is always recomputed as ``left + right`` (never updated by a delta), so a subtree
whose leaves are all zero sums to exactly 0.0 and sampling can never land on a zero-priority leaf.
"""

from __future__ import annotations

import numpy as np
from numba import njit

ROOT_INDEX = 1


def leaf_count_for(capacity: int) -> int:
    """The power of two >= ``capacity`` (at least 1): the tree's number of leaves."""
    return 1 << max(0, int(capacity - 1).bit_length())


def new_tree(capacity: int) -> np.ndarray:
    """A zeroed tree with room for ``capacity`` leaves: ``float64[2 * leaf_count_for(capacity)]``."""
    return np.zeros(2 * leaf_count_for(capacity), dtype=np.float64)


@njit(cache=True)
def tree_total(tree: np.ndarray) -> float:
    """The sum of all leaves."""
    return tree[ROOT_INDEX]


@njit(cache=True)
def tree_get(tree: np.ndarray, leaf: int) -> float:
    """The value of ``leaf``."""
    return tree[tree.shape[0] // 2 + leaf]


@njit(cache=True)
def tree_set(tree: np.ndarray, leaf: int, value: float) -> float:
    """Set ``leaf`` to ``value`` (>= 0) and recompute its ancestors; returns the old value."""
    node = tree.shape[0] // 2 + leaf
    old = tree[node]
    tree[node] = value
    node >>= 1
    while node >= ROOT_INDEX:
        tree[node] = tree[2 * node] + tree[2 * node + 1]
        node >>= 1
    return old


@njit(cache=True)
def tree_set_many(tree: np.ndarray, leaves: np.ndarray, values: np.ndarray) -> None:
    """``tree_set`` for each pair in order (a repeated leaf keeps its last value)."""
    for i in range(leaves.shape[0]):
        tree_set(tree, leaves[i], values[i])


@njit(cache=True)
def tree_find(tree: np.ndarray, mass: float) -> int:
    """The leaf whose prefix-sum interval holds ``mass`` (0 <= mass < total).

    A mass at or past the total (float rounding) goes to the last non-zero leaf; a zero subtree is never
    entered, so the result always has a positive value when the total is positive."""
    leaf_count = tree.shape[0] // 2
    node = ROOT_INDEX
    while node < leaf_count:
        left = tree[2 * node]
        if mass < left or tree[2 * node + 1] <= 0.0:
            node = 2 * node
        else:
            mass -= left
            node = 2 * node + 1
    return node - leaf_count


@njit(cache=True)
def tree_sample_stratified(tree: np.ndarray, uniforms: np.ndarray, out_leaves: np.ndarray) -> None:
    """Stratified proportional sampling: the total mass is cut into ``B = len(uniforms)`` equal segments
    and sample ``b`` takes the point ``(b + uniforms[b]) / B`` of the total (uniforms in [0, 1))."""
    total = tree[ROOT_INDEX]
    batch = uniforms.shape[0]
    segment = total / batch
    for b in range(batch):
        out_leaves[b] = tree_find(tree, (b + uniforms[b]) * segment)
