"""bench.alphago_selfplay on a tiny budget, both generators: one JSON object with every engine, each
engine's games counted, the seeds batch 1 played too compared (``same_as_batch_1``: the batched games
may differ by the network's rounding at another batch size, so only the count's form is checked), and
the baseline's ratio to itself exactly 1."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.parametrize("generator", ["value_data", "policy_pool"])
def test_alphago_selfplay_benchmark_smoke(generator):
    proc = subprocess.run([sys.executable, "-m", "bench.alphago_selfplay", "--generator", generator,
                           "--batches", "2", "--rounds", "1", "--seconds", "0.01"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["benchmark"] == "alphago_selfplay" and result["generator"] == generator
    engines = result["engines"]
    assert set(engines) == {"batch_1", "batch_2"}
    assert engines["batch_1"]["vs_batch_1"] == 1.0
    assert engines["batch_1"]["games"] == 1 and engines["batch_2"]["games"] == 2
    # the field's form only (seed 0, played by both): with bfloat16 a batch may round another way (README)
    assert engines["batch_2"]["same_as_batch_1"] in ("0 of 1", "1 of 1")
    for engine in engines.values():
        assert engine["games_per_hour"] > 0 and engine["mean_moves"] > 0
    assert result["cpu_count"] >= 1 and result["wall_s"] > 0


@pytest.mark.parametrize("argv, message", [(["--batches", "1,x"], "expected comma-separated integers"),
                                           (["--batches", "0"], "must be >= 1"),
                                           (["--rounds", "0"], "--rounds must be >= 1")])
def test_alphago_selfplay_benchmark_rejects_bad_arguments(argv, message):
    proc = subprocess.run([sys.executable, "-m", "bench.alphago_selfplay", *argv], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 2 and message in proc.stderr
