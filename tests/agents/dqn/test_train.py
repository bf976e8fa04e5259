"""The DQN trainer and the ``tenuki atari`` commands: smoke runs, kill + resume, evaluation of random play."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tenuki.agents.dqn.train import _crossed, read_metrics

REPO = Path(__file__).resolve().parents[3]
TINY = """
env: {game: Pong, protocol: nature, num_envs: 2}
agent: {learning_starts: 300, replay_capacity: 3000, batch_size: 16, train_every: 4, target_update_every: 200,
        epsilon_decay_steps: 1000, prioritized: true, n_step: 3, double: true, dueling: true}
train: {total_steps: TOTAL, eval_every: EVAL, eval_episodes: 1, checkpoint_every: 200, seed: 3, torch_threads: 1}
"""


def tenuki(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tenuki", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)


def tiny_config(tmp_path: Path, total: int, eval_every: int = 0) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY.replace("TOTAL", str(total)).replace("EVAL", str(eval_every)))
    return path


def test_crossed_counts_multiples_in_the_half_open_interval() -> None:
    assert _crossed(999, 1000, 1000) and _crossed(998, 1002, 1000)
    assert not _crossed(1000, 1001, 1000) and not _crossed(0, 999, 1000)


def test_random_agent_on_pong_scores_a_human_normalised_zero() -> None:
    done = tenuki("atari", "evaluate", "--checkpoint", "random", "--env", "Pong", "--episodes", "2", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["episodes"] == 2 and len(result["scores"]) == 2
    assert -21 <= result["min"] <= result["max"] <= -15  # a random Pong player loses almost every point
    assert result["checkpoint"] == {"name": "random"}
    assert abs(result["hns"]) < 0.1  # (score - random) / (human - random) with random -20.7, human 14.6
    assert result["settings"]["name"] == "nature" and result["settings"]["eval_max_frames"] == 18_000
    assert result["epsilon"] == 1.0 and "Nature DQN | 18.9" in result["markdown"]


def test_evaluate_rejects_bad_input_with_a_clear_message(tmp_path: Path) -> None:
    done = tenuki("atari", "evaluate", "--checkpoint", str(tmp_path / "missing.safetensors"))
    assert done.returncode == 2 and "missing" in done.stderr
    done = tenuki("atari", "evaluate", "--checkpoint", "pongg")  # a name that no shipped network has
    assert done.returncode == 2 and "no shipped network of that name" in done.stderr and "(shipped: " in done.stderr
    done = tenuki("atari", "watch", "--checkpoint", "random", "--video", str(tmp_path / "x.avi"))
    assert done.returncode == 2 and "unknown format '.avi'" in done.stderr
    done = tenuki("atari", "export", str(tmp_path / "missing"), str(tmp_path / "out"))
    assert done.returncode == 2 and "missing" in done.stderr and not (tmp_path / "out.json").exists()
    done = tenuki("atari", "evaluate", "--checkpoint", "random", "--episodes", "0")
    assert done.returncode == 2 and "--episodes" in done.stderr
    done = tenuki("atari", "train", "--resume", str(tmp_path))
    assert done.returncode == 2 and "config.yaml" in done.stderr


def test_each_environment_explores_at_its_own_epsilon(tmp_path: Path) -> None:
    """``agent.epsilon_spread``: environment 1 of 2 ends at 0.25 * sqrt(16) = 1 (uniform actions), environment 0
    at 0.25 / 4; every episode records the epsilon its environment played at, not the mean (0.53)."""
    config = tmp_path / "spread.yaml"
    config.write_text("env: {game: Breakout, protocol: nature, num_envs: 2}\n"
                      "agent: {learning_starts: 5000, replay_capacity: 3000, epsilon_end: 0.25, epsilon_spread: 16,"
                      " epsilon_decay_steps: 0}\n"
                      "train: {total_steps: 1200, eval_every: 0, checkpoint_every: 0, seed: 3, torch_threads: 1}\n")
    done = tenuki("atari", "train", "--config", str(config), "--run-dir", str(tmp_path / "run"), "--plain", "--json")
    assert done.returncode == 0, done.stderr
    episodes, _ = read_metrics(tmp_path / "run")
    assert episodes and {e["epsilon"] for e in episodes} <= {0.0625, 1.0}
    assert any(e["epsilon"] == 1.0 for e in episodes)  # random Breakout loses its five lives in ~200 steps


@pytest.mark.timeout(300)
def test_train_is_killed_and_resumes_from_its_last_checkpoint(tmp_path: Path) -> None:
    config, run = tiny_config(tmp_path, total=1400, eval_every=1400), tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "tenuki", "atari", "train", "--config", str(config),
                                "--run-dir", str(run), "--plain"], cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    state = run / "checkpoints" / "state.json"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if state.exists() and json.loads(state.read_text())["step"] >= 600:
            break
        time.sleep(0.2)
    assert process.poll() is None, process.stderr.read()
    os.kill(process.pid, signal.SIGKILL)  # no chance to save: the last checkpoint is what survives
    process.wait()
    saved = json.loads(state.read_text())
    assert saved["step"] % 200 == 0 and saved["step"] >= 600
    files = {p.name for p in (run / "checkpoints").iterdir()}
    current = {state.name, f"{saved['files']['agent']}.json", f"{saved['files']['agent']}.safetensors",
               saved["files"]["replay"]}
    assert current <= files
    # older checkpoints are deleted after state.json names the new one; a kill between the two may
    # leave the previous checkpoint's files behind (seen once in `make test`), never newer ones
    steps = [int(name.split("-")[1].split(".")[0]) for name in files - current]
    assert all(step < saved["step"] for step in steps), files

    done = tenuki("atari", "train", "--resume", str(run), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["resumed"] and summary["step"] == 1400 and summary["stopped_by"] == "done"
    assert summary["updates"] == (1400 - 300) // 4 + 1  # one update per 4 steps from step 300 on, none lost or repeated
    assert summary["last_eval"]["episodes"] == 1
    for name in ("final.safetensors", "best.safetensors", "curve.png", "config.yaml"):
        assert (run / name).exists(), name
    _, evaluations = read_metrics(run)
    assert [e["step"] for e in evaluations] == [1400]

    done = tenuki("atari", "evaluate", "--checkpoint", str(run / "final.safetensors"), "--episodes", "1", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["game"] == "Pong"
    # the network as shipped: float16, half the file, the same game and step; then one watched game of it
    done = tenuki("atari", "export", str(run / "final.safetensors"), str(tmp_path / "shipped" / "tiny"))
    assert done.returncode == 0, done.stderr
    assert "float16" in done.stdout and "step 1400" in done.stdout
    half, full = tmp_path / "shipped" / "tiny.safetensors", run / "final.safetensors"
    assert 0.45 < half.stat().st_size / full.stat().st_size < 0.55
    video = tmp_path / "watch" / "game.npz"
    done = tenuki("atari", "watch", "--checkpoint", str(half), "--video", str(video), "--json")
    assert done.returncode == 0, done.stderr
    watched = json.loads(done.stdout)
    assert watched["episodes"] == 1 and watched["game"] == "Pong" and watched["epsilon"] == 0.05
    # the record names the network played, to the byte: the float16 file's hash, not the run's
    sidecars = {p: json.loads(p.with_suffix(".json").read_text()) for p in (half, full)}
    assert watched["checkpoint"]["weights_sha256"] == sidecars[half]["weights_sha256"] != sidecars[full]["weights_sha256"]
    assert watched["checkpoint"]["step"] == 1400 and watched["checkpoint"]["path"] == str(half)
    frames = np.load(video)["frames"]
    assert frames.shape == (watched["mean_episode_length"] + 1, 210, 160, 3)  # the RGB screen, every agent step
    again = tenuki("atari", "train", "--config", str(config), "--run-dir", str(run))  # a new config into that run
    assert again.returncode == 2 and "already holds a run" in again.stderr and "--resume" in again.stderr


@pytest.mark.timeout(300)
def test_a_run_continues_on_another_machine_from_its_exported_network(tmp_path: Path) -> None:
    """Part one runs to 800 steps; its final network goes out in float16 with its metrics and best network
    (what a session commits); part two continues it to 1400 in a new run folder: the step, the metrics and
    the best evaluation carry on, the optimizer and the replay start afresh (updates resume after
    learning_starts new steps), and the run says so."""
    first, second, shipped = tmp_path / "one", tmp_path / "two", tmp_path / "shipped"
    done = tenuki("atari", "train", "--config", str(tiny_config(tmp_path, total=800, eval_every=800)), "--run-dir",
                  str(first), "--json")
    assert done.returncode == 0, done.stderr
    assert tenuki("atari", "export", str(first / "final"), str(shipped / "continue")).returncode == 0
    for name in ("best.safetensors", "best.json"):
        (shipped / name).write_bytes((first / name).read_bytes())
    # Pong's episodes outlast 400 steps an environment: three logged by hand, the last one after the export's step
    extra = [{"kind": "episode", "step": s, "episode": i, "return": -21.0 + i, "length": 900, "epsilon": 0.5,
              "hours": 0.001 * i} for i, s in enumerate((100, 700, 900), start=1)]
    (shipped / "metrics.jsonl").write_text((first / "metrics.jsonl").read_text()
                                           + "".join(json.dumps(e) + "\n" for e in extra))
    shipped_lines = [json.loads(x) for x in (shipped / "metrics.jsonl").read_text().splitlines()]
    kept = [line for line in shipped_lines if line["step"] <= 800]
    evals_one = [line for line in kept if line["kind"] == "eval"]

    config = tmp_path / "tiny-1400.yaml"
    config.write_text(TINY.replace("TOTAL", "1400").replace("EVAL", "1400"))
    done = tenuki("atari", "train", "--config", str(config), "--run-dir", str(second), "--continue-from",
                  str(shipped / "continue"), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["step"] == 1400 and summary["continued_from"] == str(shipped / "continue")
    # updates: 125 counted for the 800 steps (from learning_starts 300, one per 4 steps), then one per 4 steps
    # from step 800 + 300, the first at step 1100 (the 2 environments step 1098 -> 1100)
    assert summary["updates"] == (800 // 4 - 300 // 4) + (1400 // 4 - 1098 // 4)
    assert summary["episodes"] >= 2
    lines = [json.loads(line) for line in (second / "metrics.jsonl").read_text().splitlines()]
    assert lines[: len(kept)] == kept  # the metrics up to the network's step, in order; not the episode at 900
    continued = lines[len(kept)]
    assert continued["kind"] == "continued" and continued["step"] == 800 and continued["learn_from"] == 1100
    assert continued["episodes_copied"] == 2 and "replay (refilled)" in continued["fresh"]
    _, evals_two = read_metrics(second)
    assert [e["step"] for e in evals_two] == [800, 1400]
    carried = max(e["mean"] for e in evals_one if e["kind"] == "eval")
    assert summary["best_eval_mean"] == max(carried, evals_two[1]["mean"])  # the first part's best counts
    best_step = json.loads((second / "best.json").read_text())["step"]
    assert best_step == (800 if carried >= evals_two[1]["mean"] else 1400)

    again = tenuki("atari", "train", "--resume", str(second), "--continue-from", str(shipped / "continue"))
    assert again.returncode == 2 and "--continue-from" in again.stderr
    other = tenuki("atari", "train", "--config", str(config), "--set", "env.game=Breakout", "--run-dir",
                   str(tmp_path / "three"), "--continue-from", str(shipped / "continue"))
    assert other.returncode == 2 and "was trained on Pong" in other.stderr


@pytest.mark.timeout(300)
def test_a_continued_run_killed_before_its_first_periodic_checkpoint_resumes_where_it_continued(tmp_path: Path):
    """The continuation checkpoints at once: killed before the next periodic checkpoint, --resume goes on from
    the continued step (not from step 0 with a fresh network), and the metrics logged after that checkpoint
    are dropped, never counted twice."""
    first, second, shipped = tmp_path / "one", tmp_path / "two", tmp_path / "shipped"
    config = tiny_config(tmp_path, total=600)
    assert tenuki("atari", "train", "--config", str(config), "--run-dir", str(first)).returncode == 0
    assert tenuki("atari", "export", str(first / "final"), str(shipped / "agent")).returncode == 0
    longer = tmp_path / "tiny-long.yaml"
    longer.write_text(TINY.replace("TOTAL", "100000").replace("EVAL", "0").replace("checkpoint_every: 200",
                                                                                   "checkpoint_every: 100000"))
    process = subprocess.Popen([sys.executable, "-m", "tenuki", "atari", "train", "--config", str(longer), "--run-dir",
                                str(second), "--continue-from", str(shipped / "agent"), "--plain"], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    metrics = second / "metrics.jsonl"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if metrics.exists() and '"kind": "episode"' in metrics.read_text():
            break  # an episode logged after the continuation's checkpoint
        time.sleep(0.2)
    assert process.poll() is None, process.stderr.read()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    state = json.loads((second / "checkpoints" / "state.json").read_text())
    assert state["step"] == 600 and state["learn_from"] == 900
    done = tenuki("atari", "train", "--resume", str(second), "--max-steps", "700", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["resumed"] and summary["step"] == 700 and summary["updates"] == 600 // 4 - 300 // 4
    steps = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert steps == sorted(steps) and steps[0] == 600  # the continued line, then what the resumed run logged


def test_continue_from_refuses_a_bad_source_before_writing_anything(tmp_path: Path) -> None:
    """A refused source (a best network of another protocol, an episode line without a numeric return) is
    answered with one line and leaves no file in the new run folder."""
    import torch

    from tenuki.agents.dqn.checkpoint import save_q_network
    from tenuki.agents.dqn.networks import NatureQNetwork

    torch.manual_seed(0)
    shipped = tmp_path / "shipped"
    network = NatureQNetwork(6, dueling=True)
    save_q_network(shipped / "agent", network, game="Pong", protocol="nature", step=800)
    config = tiny_config(tmp_path, total=1400)

    def attempt(run: Path) -> subprocess.CompletedProcess:
        return tenuki("atari", "train", "--config", str(config), "--run-dir", str(run), "--continue-from",
                      str(shipped / "agent"))

    save_q_network(shipped / "best", network, game="Pong", protocol="machado", step=400, config={"eval_mean": 3.0})
    done = attempt(tmp_path / "run-a")
    assert done.returncode == 2 and "is not a best network of the run" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run-a").exists() or not any((tmp_path / "run-a").iterdir())

    for name in ("best.safetensors", "best.json"):
        (shipped / name).unlink()
    (shipped / "metrics.jsonl").write_text(json.dumps({"kind": "episode", "step": 10, "return": "lost"}) + "\n")
    done = attempt(tmp_path / "run-b")
    assert done.returncode == 2 and "metrics.jsonl:1: an episode without a numeric return" in done.stderr
    assert not (tmp_path / "run-b").exists() or not any((tmp_path / "run-b").iterdir())
