"""The 8 symmetries of the square board (dihedral group D4) for planes and policies.

Symmetry k in 0..7: flip left-right when k & 4, then rotate by 90 degrees (k & 3) times.
``invert_policy_symmetry`` maps a policy computed on transformed planes back to the board;
the pass logit (last) is unchanged.
"""

from __future__ import annotations

import numpy as np


def apply_symmetry(planes: np.ndarray, k: int) -> np.ndarray:
    """planes[..., N, N] -> the same under symmetry k (a contiguous copy)."""
    out = np.flip(planes, -1) if k & 4 else planes
    return np.ascontiguousarray(np.rot90(out, k & 3, axes=(-2, -1)))


def invert_policy_symmetry(logits: np.ndarray, k: int, size: int) -> np.ndarray:
    """logits[B, N*N+1] of transformed positions -> logits of the original positions."""
    board = logits[:, : size * size].reshape(-1, size, size)
    board = np.rot90(board, -(k & 3), axes=(-2, -1))
    if k & 4:
        board = np.flip(board, -1)
    out = np.empty_like(logits)
    out[:, : size * size] = board.reshape(-1, size * size)
    out[:, size * size :] = logits[:, size * size :]
    return out
