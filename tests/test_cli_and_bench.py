"""Smoke runs of every command and benchmark with a tiny budget, and the numba cache check."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tenuki.commands.main import main

ROOT = Path(__file__).resolve().parents[1]


def test_demo_plays_a_whole_game(capsys):
    assert main(["demo", "--size", "7", "--playouts", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Tromp-Taylor area" in out and "result" in out


def test_demo_rejects_a_bad_size(capsys):
    assert main(["demo", "--size", "42"]) == 2
    assert "board size 42" in capsys.readouterr().err


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "demo" in capsys.readouterr().out


def test_go_env_benchmark_prints_one_json_object():
    proc = subprocess.run(
        [sys.executable, "-m", "bench.go_env", "--size", "9", "--seconds", "0.3", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )
    result = json.loads(proc.stdout)
    for key in ("tenuki_steps_per_s", "open_spiel_steps_per_s", "pettingzoo_steps_per_s", "playouts_per_s"):
        assert result[key] is not None and result[key] > 0, key


def test_second_process_reaches_its_first_move_quickly():
    """Numba kernels are cached on disk: a fresh process plays its first move in under 2 s."""
    code = (
        "import time; t = time.perf_counter(); from tenuki.envs.go.board import Board; b = Board(19); "
        "b.play(b.legal_moves()[0]); b.legal_mask(); b.score(); b.undo(); "
        "print(time.perf_counter() - t)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, timeout=600)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True,
                          text=True, timeout=120)
    first_move_s = float(proc.stdout.strip())
    assert first_move_s < 2.0, f"first move took {first_move_s:.2f} s (process {time.perf_counter() - start:.2f} s)"


def test_mcts_benchmark_prints_one_json_object():
    proc = subprocess.run(
        [sys.executable, "-m", "bench.mcts", "--size", "9", "--seconds", "0.3", "--sims", "64",
         "--blocks", "1", "--channels", "8", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=True,
    )
    result = json.loads(proc.stdout)
    for key in ("tree_sims_per_s", "rollout_sims_per_s", "open_spiel_rollout_sims_per_s", "nn_sims_per_s"):
        assert result[key] is not None and result[key] > 0, key
    assert 0 < result["nn_time_share"] <= 1


@pytest.mark.data
def test_alphago_benchmark_prints_one_json_object(data_dir: Path, capsys):
    from bench import alphago

    assert alphago.main(["--data", str(data_dir), "--seconds", "0.1", "--threads", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("features_positions_per_s", "stream_positions_per_s", "train_samples_per_s_small",
                "train_samples_per_s_192", "train_samples_per_s_small_as_configured"):
        assert result[key] > 0, key
    assert set(result["train_samples_per_s_as_configured"]) == {"policy19", "policy19-cpu", "policy19-cpu96"}
    assert result["as_configured"]["policy19-cpu96"]["filters"] == 96


def test_alphago_benchmark_training_rate_is_positive_as_configured():
    from bench import alphago

    assert alphago.bench_training(8, 2, 0.05, batch=4, precision="bfloat16", channels_last=True) > 0
