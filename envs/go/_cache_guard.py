"""Drop numba's on-disk cache when any kernel source changed.

numba keys a cached function on its own file only; a kernel that inlines code from another file
(playouts inline the rules) would keep stale machine code after that other file changed. So the
cache of the kernel packages is cleared whenever the hash of their sources differs from the one
stamped when the cache was written. Runs once per process, at the import of ``tenuki.envs.go``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
KERNEL_PACKAGES = (_ROOT / "envs" / "go", _ROOT / "search", _ROOT / "play", _ROOT / "agents" / "go")
STAMP_NAME = "tenuki-kernel-sources.sha1"


def sources_digest() -> str:
    digest = hashlib.sha1()
    for package in KERNEL_PACKAGES:
        for path in sorted(package.glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def invalidate_stale_numba_cache() -> bool:
    """Delete the packages' ``*.nbi`` / ``*.nbc`` files when the sources changed; True if it did."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return False  # a user-chosen cache folder is the user's to manage
    try:
        digest = sources_digest()
        stamp = KERNEL_PACKAGES[0] / "__pycache__" / STAMP_NAME
        if stamp.is_file() and stamp.read_text() == digest:
            return False
        for package in KERNEL_PACKAGES:
            cache = package / "__pycache__"
            for pattern in ("*.nbi", "*.nbc"):
                for path in cache.glob(pattern):
                    path.unlink(missing_ok=True)
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(digest)
        return True
    except OSError:  # a read-only install: numba then uses its own fallback cache folder
        return False
