"""Go: rules kernels, Board, SGF, environments. Importing it guards the numba cache."""

from tenuki.envs.go._cache_guard import invalidate_stale_numba_cache

invalidate_stale_numba_cache()
