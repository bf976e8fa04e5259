"""Shared pytest fixtures and the rules for tests that need something outside the repository.

``data_dir``: the offline data folder, ``$TENUKI_DATA`` or ``<repo>/../shared/data``; tests that
use it skip when it is missing (mark them ``@pytest.mark.data``).
``full_data``: True when ``TENUKI_FULL_DATA=1`` asks data tests to read every game instead of a sample.
``gnugo_path``: the GNU Go binary, found on the PATH (``shutil.which("gnugo")``), else at ``/usr/games/gnugo``
(Debian installs it there, outside most users' PATH); tests that use it skip when there is none (mark
them ``@pytest.mark.gnugo``). ``find_gnugo()`` is the same lookup for code that runs at collection time.

A skip is silent in a CI log, so CI asks for the real thing (``.ci/run``):

- ``TENUKI_REQUIRE_DATA=1``: a data test (``@pytest.mark.data``, or one that uses ``data_dir``) that would
  skip while a file of ``REQUIRED_DATA`` is missing FAILS instead, naming what is missing;
- ``TENUKI_REQUIRE_GNUGO=1``: a ``@pytest.mark.gnugo`` test that would skip while GNU Go cannot be
  found FAILS instead.

Skips for other reasons (an optional package, a case a test rules out) stay skips.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# The network players of the test process run on torch: OpenVINO's thread pools do not survive a fork, and
# tests fork without exec (torch DataLoader workers, Ray). The OpenVINO path is tested in processes of
# its own: the tests marked ``own_process`` (below), and the engines that tests/play/test_gtp_timing.py
# starts without this variable.
os.environ.setdefault("TENUKI_INFERENCE", "torch")

REPO_ROOT = Path(__file__).resolve().parents[1]
GNUGO_FALLBACK = "/usr/games/gnugo"
# What the data tests read, below the data folder (see ../shared/data/README.md).
REQUIRED_DATA = (
    "go/tom9d.tar.gz",
    "go/kgs/KGS-2001-19-2298-.tar.gz",
    "go/regression/fuego-regression.tar.gz",
    "go/regression/gnugo-regression.tar.gz",
)


def data_root() -> Path:
    """Where the shared data lives (not necessarily existing)."""
    return Path(os.environ.get("TENUKI_DATA", REPO_ROOT.parent / "shared" / "data"))


def missing_data() -> list[str]:
    """The files of ``REQUIRED_DATA`` that are not there (all of them when the folder is missing)."""
    root = data_root()
    return [str(root / name) for name in REQUIRED_DATA if not (root / name).is_file()]


def find_gnugo() -> str | None:
    """The GNU Go binary: ``gnugo`` on the PATH, else ``/usr/games/gnugo``; None when neither runs."""
    found = shutil.which("gnugo")
    if found:
        return found
    return GNUGO_FALLBACK if os.access(GNUGO_FALLBACK, os.X_OK) else None


def _required(variable: str) -> bool:
    return os.environ.get(variable, "") == "1"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = data_root()
    if not root.is_dir():
        if _required("TENUKI_REQUIRE_DATA"):
            pytest.fail(f"TENUKI_REQUIRE_DATA=1 but the data folder {root} is missing (set TENUKI_DATA)")
        pytest.skip(f"data folder {root} is missing (set TENUKI_DATA)")
    return root


@pytest.fixture(scope="session")
def full_data() -> bool:
    return os.environ.get("TENUKI_FULL_DATA", "") == "1"


@pytest.fixture(scope="session")
def gnugo_path() -> str:
    """The path of the GNU Go binary (see ``find_gnugo``)."""
    path = find_gnugo()
    if path is None:
        if _required("TENUKI_REQUIRE_GNUGO"):
            pytest.fail(f"TENUKI_REQUIRE_GNUGO=1 but GNU Go is neither on the PATH nor at {GNUGO_FALLBACK}")
        pytest.skip(f"GNU Go is not installed (not on the PATH, not at {GNUGO_FALLBACK})")
    return path


def _needs_data(item: pytest.Item) -> bool:
    return item.get_closest_marker("data") is not None or "data_dir" in getattr(item, "fixturenames", ())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Under TENUKI_REQUIRE_DATA=1 / TENUKI_REQUIRE_GNUGO=1, a skip of a test that needs what is missing
    is a failure, whatever skipped it (the fixtures above, a ``skipif``, a ``pytest.skip`` in the test)."""
    report = yield
    if not report.skipped or getattr(report, "wasxfail", None) is not None:
        return report
    problems = []
    if _required("TENUKI_REQUIRE_DATA") and _needs_data(item):
        missing = missing_data()
        if missing:
            problems.append(
                f"TENUKI_REQUIRE_DATA=1 but the test skipped and data is missing: {', '.join(missing)} "
                "(set TENUKI_DATA to the data folder)"
            )
    if (
        _required("TENUKI_REQUIRE_GNUGO")
        and item.get_closest_marker("gnugo") is not None
        and find_gnugo() is None
    ):
        problems.append(
            f"TENUKI_REQUIRE_GNUGO=1 but the test skipped and GNU Go is neither on the PATH nor at "
            f"{GNUGO_FALLBACK} (make gnugo installs it)"
        )
    if problems:
        report.outcome = "failed"
        report.longrepr = "\n".join(problems)
    return report


# A test marked ``own_process`` runs in a child ``python -m pytest NODEID`` of its own (this variable set
# there), so that what it loads never lives in the test process: OpenVINO's thread pools do not survive a
# fork (torch DataLoader workers and Ray fork) and crashed the end of a full run (SIGSEGV after the last test).
OWN_PROCESS = "TENUKI_TEST_IN_OWN_PROCESS"


def _run_in_own_process(item: pytest.Item) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", item.nodeid],
                          cwd=item.config.rootpath, env={**os.environ, OWN_PROCESS: "1"}, capture_output=True,
                          text=True, timeout=900, check=False)
    output = done.stdout + done.stderr
    if done.returncode == 0 and " skipped" in output and " passed" not in output:
        reason = [line for line in output.splitlines() if line.startswith("SKIPPED")]
        pytest.skip(reason[0] if reason else "skipped in its own process")
    if done.returncode != 0:
        pytest.fail(f"{item.nodeid} in its own process: exit status {done.returncode}\n{output[-6000:]}",
                    pytrace=False)


def pytest_collection_modifyitems(config, items):
    """``own_process`` tests run in a child process each (``OWN_PROCESS``), unless this is that child."""
    if os.environ.get(OWN_PROCESS) == "1":
        return
    for item in items:
        if item.get_closest_marker("own_process") is not None:
            item.runtest = lambda item=item: _run_in_own_process(item)
