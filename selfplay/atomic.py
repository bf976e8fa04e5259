"""Atomic file writes (the helper lives in ``envs.atomic`` so that every layer can use it)."""

from envs.atomic import atomic_write

__all__ = ["atomic_write"]
