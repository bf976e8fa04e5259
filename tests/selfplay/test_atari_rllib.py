"""RLlib's DQN on tenuki's Atari wrappers (``tenuki.selfplay.atari.rllib``): the config mapping, and a 1-iteration
smoke run (64 sampled steps, a tiny replay, a few updates) on the session's Ray cluster that finishes,
reports and writes RLlib's checkpoint. About 30-60 s on 2 busy cores."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ray.rllib")
pytest.importorskip("ale_py")

from tenuki.agents.dqn.config import DQNConfig, config_from_dict
from tenuki.selfplay.atari.rllib import (
    CHECKPOINT_NAME,
    PROGRESS_FILE,
    RLLIB_NORMALIZED_ENV,
    build_rllib_config,
    run_rllib,
)


def tiny_config(**agent) -> DQNConfig:
    return config_from_dict({
        "env": {"game": "Pong", "protocol": "nature", "num_envs": 1},
        "agent": {"learning_starts": 32, "replay_capacity": 1000, "batch_size": 8, "train_every": 4,
                  "target_update_every": 100, "epsilon_decay_steps": 500, **agent},
        "train": {"total_steps": 64, "checkpoint_every": 0, "eval_every": 0, "precision": "float32",
                  "device": "cpu", "seed": 5},
        "backend": "rllib",
    })


def test_config_mapping():
    config = tiny_config(double=True, dueling=True, n_step=3, loss="mse", learning_rate=2.5e-4, gamma=0.98,
                         prioritized=True, priority_alpha=0.5, priority_beta_start=0.4, max_grad_norm=10.0,
                         optimizer="rmsprop")
    rllib, unmapped = build_rllib_config(config)
    assert rllib.env == RLLIB_NORMALIZED_ENV
    assert rllib.env_config == {"game": "Pong", "protocol": "nature", "training": True, "seed": 5}
    assert (rllib.lr, rllib.gamma, rllib.n_step, rllib.double_q, rllib.dueling) == (2.5e-4, 0.98, 3, True, True)
    assert rllib.td_error_loss_fn == "mse" and rllib.grad_clip == 10.0
    assert rllib.train_batch_size_per_learner == 8
    assert rllib.target_network_update_freq == 100
    assert rllib.num_steps_sampled_before_learning_starts == 32
    assert rllib.rollout_fragment_length == 4  # one update per 4 sampled steps
    assert rllib.replay_buffer_config["type"] == "PrioritizedEpisodeReplayBuffer"
    assert rllib.replay_buffer_config["capacity"] == 1000
    assert rllib.replay_buffer_config["alpha"] == 0.5 and rllib.replay_buffer_config["beta"] == 0.4
    assert [tuple(point) for point in rllib.epsilon] == [(0, 1.0), (500, 0.01)]
    assert rllib.seed == 5
    assert any("optimizer" in item for item in unmapped)
    assert any("beta" in item for item in unmapped)
    assert build_rllib_config(tiny_config())[0].replay_buffer_config["type"] == "EpisodeReplayBuffer"
    assert build_rllib_config(tiny_config())[0].grad_clip is None  # max_grad_norm 0: no clipping


def test_one_iteration_smoke_run(ray_cluster, tmp_path):
    lines: list[str] = []
    summary = run_rllib(tiny_config(), tmp_path / "run", iterations=1, steps_per_iteration=64, log=lines.append)
    assert summary["iterations"] == 1
    assert summary["env_steps"] >= 64
    assert summary["updates"] >= 1  # learning started at 32 sampled steps
    assert len(summary["episode_return_means"]) == 1 and len(summary["game_return_means"]) == 1
    assert summary["unmapped"] == []
    assert (tmp_path / "run" / CHECKPOINT_NAME).is_dir()
    assert summary["checkpoint"] == str(tmp_path / "run" / CHECKPOINT_NAME)
    records = [json.loads(line) for line in (tmp_path / "run" / PROGRESS_FILE).read_text().splitlines()]
    assert len(records) == 1 and records[0]["env_steps"] == summary["env_steps"]
    assert any("iteration 1" in line for line in lines)
    json.dumps(summary)  # JSON-ready
