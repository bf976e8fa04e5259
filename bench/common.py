"""What the benchmarks share: timed loops, engines measured in alternating slices, the one JSON line.

Where a benchmark compares engines doing the same work (``bench.go_env``, ``bench.mcts``'s rollouts
against OpenSpiel, ``bench.rollout_policy``, ``bench.atari``), it times them in alternating slices of the
same run (``interleaved``), so that a change of background load between slices favours none; the ratios
are what it reports. ``bench.selfplay`` cannot slice (a phase is a Ray pool of 1 or 2 workers playing
whole games): it runs the two phases one after the other with the same games and says so;
``bench.mcts``'s tree and network figures have no peer and are single timed loops. Every benchmark
prints ONE JSON object that ends with the Python version, the core count and the wall time.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Timed(NamedTuple):
    units: int  # work units done (what ``run()`` returned, summed)
    calls: int  # calls of ``run()``
    elapsed: float  # seconds


def timed_until(run: Callable[[], int], seconds: float) -> Timed:
    """Call ``run()`` (returns the work units it did) until ``seconds`` have passed; at least once."""
    units = calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        units += run()
        calls += 1
        now = time.perf_counter()
        if now >= deadline:
            return Timed(units, calls, now - start)


@dataclass
class EngineTotals:
    """One engine's sums over the slices of ``interleaved``."""

    units: int = 0
    calls: int = 0
    elapsed: float = 0.0
    per_round: list[float] = field(default_factory=list)  # units/s of each round

    @property
    def rate(self) -> float:
        """Work units per second over all rounds."""
        return self.units / self.elapsed


def interleaved(runs: Mapping[str, Callable[[], int]], seconds: float, rounds: int) -> dict[str, EngineTotals]:
    """Each engine's ``run()`` timed in ``rounds`` slices of ``seconds / rounds``, the engines taking turns
    (in reversed order every other round, so that a load drift favours none). The per-round rates give
    paired ratios that are robust to load changes between rounds."""
    totals = {name: EngineTotals() for name in runs}
    order = list(runs)
    for round_index in range(rounds):
        for name in order if round_index % 2 == 0 else order[::-1]:
            timed = timed_until(runs[name], seconds / rounds)
            engine = totals[name]
            engine.units += timed.units
            engine.calls += timed.calls
            engine.elapsed += timed.elapsed
            engine.per_round.append(timed.units / timed.elapsed)
    return totals


def print_result(result: dict[str, Any], started: float) -> dict[str, Any]:
    """``result`` completed with the Python version, the core count and the wall time since ``started``
    (a ``time.perf_counter()``), printed as one JSON line; returned too."""
    result.update({
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "wall_s": round(time.perf_counter() - started, 2),
    })
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return result
