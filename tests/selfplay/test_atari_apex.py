"""The Ape-X backend (``tenuki.selfplay.atari.apex``) on the session's Ray cluster (2 logical CPUs).

- a smoke run: 2 actors x 2 Pong environments, a tiny replay, 300 agent steps: experience arrived from
  both actors (into their own replay env rings), the learner took exactly the native trainer's number of
  updates, new weight versions were published and both actors acted with one, and the committed checkpoint
  (agent + replay + state) loads;
- resume: the same run directory run again to 400 steps continues every counter;
- kill (slow): a driver in another process is SIGKILLed after a checkpoint; the run resumes from disk.

Most of the time is process start-up (actors import torch and ale-py): about 1-2 minutes on 2 busy cores.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")
pytest.importorskip("ale_py")

from tenuki.agents.dqn.config import DQNConfig, config_from_dict
from tenuki.selfplay.atari.apex import (
    STATE_FILE,
    ApexRunError,
    ChunkCollector,
    add_chunk,
    apex_epsilons,
    run_apex,
)

REPO = Path(__file__).resolve().parents[2]
LEARNING_STARTS = 100
TRAIN_EVERY = 8  # few updates: an update of the Nature network takes 0.1-0.3 s on 2 busy cores


def tiny_config(**train) -> DQNConfig:
    return config_from_dict({
        "env": {"game": "Pong", "protocol": "nature", "num_envs": 2},
        "agent": {"learning_starts": LEARNING_STARTS, "replay_capacity": 4000, "batch_size": 8,
                  "train_every": TRAIN_EVERY, "target_update_every": 100},
        "train": {"total_steps": 300, "checkpoint_every": 0, "eval_every": 0, "precision": "float32",
                  "device": "cpu", "seed": 3, **train},
        "backend": "apex",
    })


def run(config: DQNConfig, run_dir: Path, max_steps: int, **options):
    return run_apex(config, run_dir, actors=2, max_steps=max_steps, progress=False, log=lambda _: None,
                    chunk_steps=25, broadcast_every=5, tensorboard=False, **options)


def expected_updates(steps: int) -> int:
    return (steps - LEARNING_STARTS) // TRAIN_EVERY + 1  # one update per train_every steps from learning_starts


class FakeAtari:
    """``AtariVecEnv``'s interface with 8x8 random frames, short episodes, life-loss terminals inside
    episodes and truncations (episode ends without a terminal)."""

    def __init__(self, num_envs: int, seed: int):
        from tenuki.envs.atari.vector import AtariStep

        self.num_envs, self.rng, self.step_type = num_envs, np.random.default_rng(seed), AtariStep

    def _frames(self) -> np.ndarray:
        return self.rng.integers(0, 256, (self.num_envs, 4, 8, 8), dtype=np.uint8)

    def reset(self) -> np.ndarray:
        return self._frames()

    def step(self, actions: np.ndarray):
        n = self.num_envs
        ends = self.rng.random(n) < 0.15
        truncated = ends & (self.rng.random(n) < 0.3)
        terminals = (ends & ~truncated) | (~ends & (self.rng.random(n) < 0.05))  # game over or a lost life
        final_frames = np.where(ends[:, None, None], self.rng.integers(0, 256, (n, 8, 8), dtype=np.uint8), 0)
        rewards = self.rng.choice([-1.0, 0.0, 1.0], n).astype(np.float32)
        return self.step_type(self._frames(), rewards, rewards, terminals, ends, truncated,
                              final_frames.astype(np.uint8), np.where(ends, 3.0, 0.0), np.where(ends, 9, 0))


def test_chunks_fill_the_replay_as_direct_stepping_does():
    """Chunks (any size) added under env ids E..2E-1 of a 2E-env replay write exactly what a loop stepping
    the same environments into an E-env replay writes: frames, actions, rewards and episode flags."""
    from tenuki.agents.dqn.replay import FrameReplay

    envs, ring, steps = 3, 64, 50
    direct = FrameReplay(envs * ring, envs, frame_shape=(8, 8), n_step=3, memory_check=False)
    env, act_rng = FakeAtari(envs, seed=1), np.random.default_rng(2)
    obs = env.reset()
    direct.begin(obs[:, -1])
    for _ in range(steps):
        actions = act_rng.integers(0, 6, envs)
        step = env.step(actions)
        next_frames = step.obs[:, -1].copy()
        next_frames[step.episode_ends] = step.final_frames[step.episode_ends]
        direct.add(actions, step.rewards, step.terminals, step.episode_ends, next_frames)
        if step.episode_ends.any():
            direct.begin(step.obs[step.episode_ends, -1], np.flatnonzero(step.episode_ends))
        obs = step.obs

    chunked = FrameReplay(2 * envs * ring, 2 * envs, frame_shape=(8, 8), n_step=3, memory_check=False)
    act_rng = np.random.default_rng(2)
    collector = ChunkCollector(FakeAtari(envs, seed=1), lambda o: act_rng.integers(0, 6, o.shape[0]))
    ids = np.arange(envs, 2 * envs, dtype=np.int64)
    episodes = 0
    for size in (7, 1, 30, 12):  # 50 steps in uneven chunks
        chunk = collector.collect(size)
        assert add_chunk(chunked, chunk, ids) == size * envs
        episodes += chunk["episode_returns"].size
    assert episodes > 5  # episode boundaries were crossed, inside chunks and at their edges
    mine = slice(envs * ring, 2 * envs * ring)
    for name in ("frames", "actions", "rewards", "flags"):
        np.testing.assert_array_equal(getattr(chunked, name)[mine], getattr(direct, name), err_msg=name)
    assert not chunked.flags[: envs * ring].any()  # the other envs' rings are untouched
    assert len(chunked) == len(direct)


@pytest.fixture(scope="module")
def smoke_run(ray_cluster, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("apex") / "run"
    return run_dir, run(tiny_config(), run_dir, 300)


def test_apex_epsilons():
    assert apex_epsilons(1) == [0.4]
    assert apex_epsilons(2) == pytest.approx([0.4, 0.4**8])
    eight = apex_epsilons(8)
    assert eight[0] == pytest.approx(0.4) and eight[-1] == pytest.approx(0.4**8)
    assert all(a > b for a, b in itertools.pairwise(eight))


def test_smoke_run(smoke_run):
    from tenuki.agents.dqn.checkpoint import load_q_network
    from tenuki.agents.dqn.replay import FrameReplay

    run_dir, summary = smoke_run
    assert summary["stopped"] == "max_steps"
    assert summary["steps"] == 300
    # experience from both actors (how it splits depends on which actor the scheduler runs first)
    assert sum(summary["steps_per_actor"]) == 300 and min(summary["steps_per_actor"]) > 0
    assert all(chunks >= 1 for chunks in summary["chunks_per_actor"])
    assert summary["epsilons"] == pytest.approx(apex_epsilons(2))
    assert summary["updates"] == expected_updates(300)
    assert summary["updates_per_s"] > 0 and summary["steps_per_s"] > 0
    # weights broadcast: versions published every 5 updates and acted with. Not every actor needs a
    # new one: when the scheduler runs one actor's chunks first, the other may finish its single
    # chunk before the first update (seen once in a full `make test`: actor_versions [2, 0]).
    assert summary["weight_version"] == summary["updates"] // 5
    assert max(summary["actor_versions"]) >= 1
    assert all(0 <= v <= summary["weight_version"] for v in summary["actor_versions"])
    assert summary["actor_failures"] == 0

    state = json.loads((run_dir / STATE_FILE).read_text())
    assert state["steps"] == 300 and state["updates"] == summary["updates"]
    network, meta = load_q_network(run_dir / (state["agent_checkpoint"] + ".safetensors"))
    assert meta.step == 300 and meta.game == "Pong" and meta.protocol_name == "nature"
    assert network.num_actions == 6
    replay = FrameReplay(4000, 4, seed=3)  # 2 actors x 2 envs: one ring each
    replay.load(run_dir / state["replay_file"])
    assert replay.num_added == 300
    assert all(replay.env_state[env, 0] > 0 for env in range(4))  # every env ring was written
    assert len(list((run_dir / "checkpoints").glob("agent-*.safetensors"))) == 1  # older ones removed


def test_resume_continues_counters(smoke_run, tmp_path):
    run_dir, first = smoke_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    with pytest.raises(ApexRunError, match="already holds"):
        run(tiny_config(), copy, 600, resume=False)
    with pytest.raises(ApexRunError, match="2 actors x 2"):
        run_apex(tiny_config(), copy, actors=1, envs_per_actor=2, max_steps=600, progress=False,
                 log=lambda _: None, tensorboard=False)
    summary = run(tiny_config(), copy, 400)
    assert summary["resumed"] and summary["sessions"] == 2
    assert summary["steps"] == 400 and summary["session_steps"] == 100
    assert sum(summary["steps_per_actor"]) == 400  # which actor returns first is up to the scheduler
    assert all(now >= before for now, before in zip(summary["steps_per_actor"], first["steps_per_actor"],
                                                    strict=True))
    assert summary["updates"] == expected_updates(400)
    assert summary["session_updates"] == expected_updates(400) - first["updates"]
    assert summary["weight_version"] > first["weight_version"]


@pytest.mark.slow  # ~2 minutes on 2 busy cores: a second driver process starts, then new actors
def test_killed_driver_resumes_from_disk(ray_cluster, tmp_path):
    run_dir = tmp_path / "run"
    script = (
        "import sys\n"
        "from tenuki.agents.dqn.config import config_from_dict\n"
        "from tenuki.selfplay.atari.apex import run_apex\n"
        f"config = config_from_dict({tiny_config(checkpoint_every=100).to_dict()!r})\n"
        f"run_apex(config, {str(run_dir)!r}, actors=2, max_steps=10**6, address={ray_cluster.address!r},\n"
        "         chunk_steps=25, broadcast_every=5, tensorboard=False, report_every_s=1.0)\n"
    )
    driver_log = (tmp_path / "driver.log").open("w")  # its stderr, shown if it dies early
    driver = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=driver_log, env={**os.environ, "PYTHONPATH": str(REPO)})
    state_path = run_dir / STATE_FILE
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and driver.poll() is None:
            if state_path.exists() and json.loads(state_path.read_text())["steps"] >= 200:
                break
            time.sleep(0.5)
        assert driver.poll() is None, ("the driver exited before it was killed:\n"
                                       + (tmp_path / "driver.log").read_text()[-3000:])
        assert state_path.exists(), "no checkpoint was committed within 120 s"
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    state = json.loads(state_path.read_text())
    steps = state["steps"]
    summary = run(tiny_config(checkpoint_every=100), run_dir, steps + 100)
    assert summary["resumed"] and summary["sessions"] == 2
    assert summary["steps"] == steps + 100 and summary["session_steps"] == 100
    assert summary["updates"] == expected_updates(steps + 100)
    assert summary["weight_version"] >= state["weight_version"]
