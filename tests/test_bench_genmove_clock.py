"""bench.genmove_clock on a tiny budget: one JSON object, every genmove timed from the GTP side (first moves
included), the statistics consistent with the times; bad arguments refused."""

from __future__ import annotations

import json
import subprocess
import sys

from tenuki.play.match_stats import percentile


def test_genmove_clock_smoke():
    proc = subprocess.run([sys.executable, "-m", "bench.genmove_clock", "--player", "mcts", "--size", "9",
                           "--seconds", "0.2", "--games", "2", "--moves", "3", "--clock"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    times = result["seconds"]
    assert result["benchmark"] == "genmove_clock" and result["clock"] == "time_settings"
    assert result["command"] == "tenuki gtp --player mcts --size 9" and len(times) == result["moves"] == 6
    assert result["first_moves_s"] == [times[0], times[3]]
    assert result["max_s"] == max(times) and result["p99_s"] == round(percentile(times, 99), 3)
    # counted on the unrounded times: the rounded ones may sit on the line
    assert sum(t > 0.2505 for t in times) <= result["over_budget_plus_50ms"] <= sum(t >= 0.2495 for t in times)
    assert all(t > 0.05 for t in times)  # a real search, not an instant answer


def test_genmove_clock_rejects_bad_arguments():
    proc = subprocess.run([sys.executable, "-m", "bench.genmove_clock", "--seconds", "0"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "--seconds must be > 0" in proc.stderr
