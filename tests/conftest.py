"""Shared pytest fixtures.

``data_dir``: the offline data folder, ``$TENUKI_DATA`` or ``<repo>/../shared/data``; tests that
use it skip when it is missing (mark them ``@pytest.mark.data``).
``full_data``: True when ``TENUKI_FULL_DATA=1`` asks data tests to read every game instead of a sample.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """Where the shared data lives (not necessarily existing)."""
    return Path(os.environ.get("TENUKI_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = data_root()
    if not root.is_dir():
        pytest.skip(f"data folder {root} is missing (set TENUKI_DATA)")
    return root


@pytest.fixture(scope="session")
def full_data() -> bool:
    return os.environ.get("TENUKI_FULL_DATA", "") == "1"
