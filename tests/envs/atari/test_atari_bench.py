"""Smoke run of ``python -m bench.atari`` with a tiny budget: ONE JSON object with the figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.timeout(120)
def test_atari_benchmark_prints_one_json_object():
    pytest.importorskip("cv2", reason="the gymnasium reference wrappers need opencv")
    done = subprocess.run(
        [sys.executable, "-m", "bench.atari", "--seconds", "0.3", "--rounds", "1", "--learner-seconds", "1", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=110, check=True)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    result = json.loads(lines[0])
    for key in ("env_steps_per_s", "ale_vector_steps_per_s", "gym_wrappers_steps_per_s"):
        assert result[key] > 0, key
    assert result["env_vs_ale_vector"] > 0 and result["num_envs"] == 2
    assert result["protocol"]["name"] == "nature"
    assert 7056 < result["replay_bytes_per_transition"] <= 7200  # the target; 7,056 is the frame alone
    assert result["learner_updates_per_s"] > 0 and result["baseline_updates_per_s"] > 0
