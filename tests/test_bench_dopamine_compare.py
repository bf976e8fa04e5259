"""bench.dopamine_compare: the copy of Dopamine's curves (the issue's figures), the 250k-step windows of a run
by hand, and the one JSON object of the command (with a plot), errors named."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from bench import dopamine_compare as dc

ROOT = Path(__file__).resolve().parents[1]


def test_the_copy_holds_dopamines_figures_as_the_issue_cites_them():
    pong = dc.load_copy("pong")["files"]["legacy"]["agents"]
    means = {agent: [statistics.fmean(v) for v in rows] for agent, rows in pong.items()}
    assert all(len(v) == 5 for rows in pong.values() for v in rows)  # five seeds, iterations 0-7
    # issue 29: "DQN -15.4, Rainbow -12.6, IQN +4.3, QR-DQN +8.9" (iteration 4) and "DQN -8.5, Rainbow +10.7
    # (iteration 7)"
    assert [round(means[a][4], 1) for a in ("DQN", "Rainbow", "IQN", "Quantile (JAX)")] == [-15.4, -12.6, 4.3, 8.9]
    assert round(means["DQN"][7], 1) == -8.5 and round(means["Rainbow"][7], 1) == 10.7
    # the first iteration's Values are whole training episodes: Rainbow's first seed is -5756 / 281
    assert pong["Rainbow"][0][0] * 281 == pytest.approx(-5756)
    breakout = dc.load_copy("breakout")["files"]["cnn"]["agents"]
    assert set(breakout) == {"DQN", "Rainbow", "IQN", "QR-DQN", "C51"}


def _metrics(path: Path, episodes: list[tuple[int, float]], last_step: int | None = None) -> Path:
    lines = [{"kind": "episode", "step": s, "return": r, "length": 100} for s, r in episodes]
    if last_step is not None:
        lines.append({"kind": "eval", "step": last_step, "mean": 0.0})
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n{\"kind\": \"episode\", \"st")  # a cut last line
    return path


def test_windows_are_the_episodes_that_ended_in_each_250k_steps(tmp_path: Path):
    metrics = _metrics(tmp_path / "pong-metrics.jsonl",
                       [(1, -21), (250_000, -19), (250_001, -10), (499_999, -12), (600_000, 5)], last_step=700_000)
    (tmp_path / "pong-config.yaml").write_text("env: {game: Pong, protocol: dopamine}\n")
    episodes, last, protocol = dc.read_run(metrics)
    assert (len(episodes), last, protocol) == (5, 700_000, "dopamine")
    windows = dc.window_means(episodes, last, 4)
    assert [(w["mean"], w["episodes"], w["complete"]) for w in windows] == [
        (-20.0, 2, True), (-11.0, 2, True), (5.0, 1, False), (None, 0, False)]
    result = dc.compare("pong", metrics)
    table = dc.markdown(result).splitlines()
    assert table[2] == "| tenuki (dopamine) | **-20.0** | **-11.0** | (+5.0) |  |" and "not finished" in table[-1]
    assert result["at_agent_steps"] == 500_000 and result["tenuki"]["protocol_is_dopamines"]
    # at 500k (iteration 1) -11 is above every agent: the best, IQN, has -13.8
    assert "IQN" in result["ahead_of"] and "Rainbow" in result["ahead_of"] and result["behind"] == []


def test_command_prints_one_json_object_and_a_plot(tmp_path: Path):
    run = tmp_path / "run"
    run.mkdir()
    _metrics(run / "metrics.jsonl", [(s, -20.0 + s / 100_000) for s in range(1_000, 1_000_001, 1_000)])
    (run / "config.yaml").write_text("env: {game: Pong, protocol: nature}\n")
    done = subprocess.run([sys.executable, "-m", "bench.dopamine_compare", "--run", str(run), "--plot",
                           str(tmp_path / "curve.png")], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["benchmark"] == "dopamine_compare" and result["at_agent_steps"] == 1_000_000
    assert not result["tenuki"]["protocol_is_dopamines"]  # a nature run is reported, and flagged
    assert [w["episodes"] for w in result["tenuki"]["windows"]] == [250, 250, 250, 250]
    assert (tmp_path / "curve.png").stat().st_size > 10_000
    table = result["markdown"].splitlines()
    assert table[0] == "| agent | 0.25M | 0.5M | 0.75M | 1M |"  # the run's windows (Dopamine's copy goes to 2M)
    # the windows' means: -20 + s / 100k over s in (250k k, 250k (k + 1)], steps of 1k: -20 + 1.255 + 2.5 k
    assert table[2] == "| tenuki (nature) | **-18.7** | **-16.2** | **-13.7** | **-11.2** |"
    assert table[4] == "| Dopamine Rainbow | -20.4 | -20.6 | -18.7 | -16.5 |"
    done = subprocess.run([sys.executable, "-m", "bench.dopamine_compare", "--run", str(tmp_path / "nowhere")],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "no metrics.jsonl there" in done.stderr
