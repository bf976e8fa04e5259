"""Smoke runs of `tenuki selfplay launch|status` and of bench.selfplay, each in its own process
(its own embedded Ray instance, as a user runs them), plus the commands' errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tenuki.commands.main import main

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "selfplay" / "smoke.yaml"


def _clean_env() -> dict[str, str]:
    """The environment without the test cluster's Ray variables: each command starts its own instance."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}


def _tenuki(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tenuki", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False, env=_clean_env())


@pytest.mark.timeout(900)
def test_smoke_config_trains_and_status_summarises_it(tmp_path):
    run_dir = tmp_path / "smoke"
    proc = _tenuki("selfplay", "launch", "--config", str(SMOKE), "--run-dir", str(run_dir), "--plain")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "stopped (version limit (3))" in proc.stdout
    assert "tenuki play --player az-mcts --weights" in proc.stdout
    # the run directory has everything the issue lists
    for name in ("config.yaml", "state.json", "replay.npz", "metrics.csv", "checkpoints/learner.json",
                 "checkpoints/v000003.safetensors", "checkpoints/v000003.json", "plots/loss.png", "plots/elo.png",
                 "plots/games_per_hour.png"):
        assert (run_dir / name).exists(), name
    assert list((run_dir / "sgf").glob("*.sgf")), "sampled games are kept as SGF"
    assert list((run_dir / "tensorboard").iterdir()), "TensorBoard event files"
    state = json.loads((run_dir / "state.json").read_text())
    assert state["version"] == 3 and state["games"] > 0 and state["positions"] > 0
    assert state["samples_trained"] <= 8.0 * state["positions"]  # learner.max_train_ratio of smoke.yaml
    assert state["gates"], "the gating match at version 3 finished before the run stopped"
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 3  # header + one row per version
    with (run_dir / "metrics.csv").open(newline="") as stream:
        last = list(csv.DictReader(stream))[-1]
    assert 0.0 <= float(last["black_win_rate"]) <= 1.0 and float(last["mean_moves"]) > 0  # colour balance

    status = _tenuki("selfplay", "status", str(run_dir), "--json", timeout=120)
    assert status.returncode == 0, status.stderr
    summary = json.loads(status.stdout)
    assert summary["games"] == state["games"] and summary["version"] == 3
    assert summary["best_network"].endswith(".safetensors")

    # the trained network plays through the GTP engine
    gtp = subprocess.run([sys.executable, "-m", "tenuki", "gtp", "--player", "az-mcts", "--weights",
                          summary["best_network"], "--size", "9", "--visits", "8"], cwd=ROOT,
                         input="genmove b\nquit\n", capture_output=True, text=True, timeout=120, check=False,
                         env=_clean_env())
    assert gtp.returncode == 0 and gtp.stdout.startswith("= "), gtp.stdout + gtp.stderr

    again = _tenuki("selfplay", "launch", "--config", str(SMOKE), "--run-dir", str(run_dir), timeout=120)
    assert again.returncode == 2 and "already holds a run" in again.stderr


def test_launch_rejects_a_bad_config(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("search:\n  visits: many\n")
    assert main(["selfplay", "launch", "--config", str(bad), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "search.visits" in err and "expected an integer" in err
    assert not (tmp_path / "run").exists()


def test_launch_rejects_a_missing_config_and_resume_of_a_non_run(tmp_path, capsys):
    assert main(["selfplay", "launch", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read config" in capsys.readouterr().err
    assert main(["selfplay", "launch", "--resume", str(tmp_path)]) == 2
    assert "not a self-play run directory" in capsys.readouterr().err
    assert main(["selfplay", "status", str(tmp_path)]) == 2


@pytest.mark.timeout(600)
def test_selfplay_benchmark_prints_one_json_object():
    proc = subprocess.run([sys.executable, "-m", "bench.selfplay", "--config", str(SMOKE), "--seconds", "4",
                           "--learner-steps", "2", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                          env=_clean_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    for key in ("games_per_hour_1_worker", "games_per_hour_2_workers", "positions_per_s", "learner_samples_per_s"):
        assert result[key] > 0, key
    # the inference comparison: workers on torch, then on OpenVINO (auto), the same games
    proc = subprocess.run([sys.executable, "-m", "bench.selfplay", "--config", str(SMOKE), "--seconds", "3",
                           "--compare-inference", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          check=False, env=_clean_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["games_per_hour_torch"] > 0 and result["games_per_hour_openvino"] > 0
    assert result["inference_ratio"] == pytest.approx(result["games_per_hour_openvino"] / result["games_per_hour_torch"],
                                                      rel=1e-2)


def test_init_from_names_a_checkpoint_and_goes_with_new_runs_only(tmp_path, capsys):
    """--init-from (= --set network.init_checkpoint=...): a missing checkpoint is one line before Ray starts
    and no run folder is left; with --resume it is refused (a resumed run keeps its stored config)."""
    run_dir = tmp_path / "run"
    assert main(["selfplay", "launch", "--config", str(SMOKE), "--init-from", str(tmp_path / "nope"),
                 "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "network.init_checkpoint" in err and "no such checkpoint" in err and "az9x9" in err
    assert not run_dir.exists()
    assert main(["selfplay", "launch", "--resume", str(tmp_path), "--init-from", "az9x9"]) == 2
    assert "--init-from" in capsys.readouterr().err
