"""Learner speed: ``DQNAgent.update`` against a plain CleanRL-style PyTorch update, measured in one run.

The baseline is the update loop of CleanRL's ``dqn_atari.py`` (Huang et al. 2022) on the same Nature
network: float32, the frames divided by 255 inside the network, a target forward under ``no_grad``, a
separate online forward, MSE loss, ``Adam(lr=1e-4)`` with torch's default implementation, batch 32 taken
from uint8 numpy arrays. The agent runs its own configuration (``DQNConfig()`` defaults unless given:
Nature DQN, Huber, fused Adam, bfloat16 autocast where the CPU has it, channels-last).

The two alternate in short rounds and each rate is the median over rounds, so a load that comes and goes
(another job on the machine) hits both alike. ``python -m bench.dqn_update`` prints one JSON object.

Measured on the 2-core AVX512-BF16 machine with a training job running, 1 thread each, 40 s: Nature DQN
31.4 vs 16.1 updates/s (1.94x), Double DQN 24.8 vs 18.1 (1.38x: one more forward pass). Two threads on
the two busy cores were ~10x slower for both, hence ``threads=1``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tenuki.agents.dqn.agent import DQNAgent
from tenuki.agents.dqn.config import DQNConfig


class CleanRLQNetwork(nn.Module):
    """CleanRL's ``QNetwork`` for Atari (the Nature network, float32)."""

    def __init__(self, num_actions: int):
        super().__init__()
        self.network = nn.Sequential(
            nn.Conv2d(4, 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(3136, 512), nn.ReLU(),
            nn.Linear(512, num_actions),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x / 255.0)


def _batches(count: int, batch_size: int, num_actions: int, seed: int) -> list[SimpleNamespace]:
    rng = np.random.default_rng(seed)
    return [
        SimpleNamespace(
            obs=rng.integers(0, 256, (batch_size, 4, 84, 84), dtype=np.uint8),
            next_obs=rng.integers(0, 256, (batch_size, 4, 84, 84), dtype=np.uint8),
            actions=rng.integers(0, num_actions, batch_size, dtype=np.int64),
            returns=rng.choice(np.array([-1.0, 0.0, 1.0], np.float32), batch_size),
            discounts=np.where(rng.random(batch_size) < 0.01, 0.0, 0.99).astype(np.float32),
            indices=np.arange(batch_size, dtype=np.int64),
            weights=np.ones(batch_size, np.float32),
        )
        for _ in range(count)
    ]


def baseline_update_fn(num_actions: int, gamma: float = 0.99) -> Callable[[Any], torch.Tensor]:
    """One CleanRL-style update per call (``dqn_atari.py``'s training step, verbatim in spirit)."""
    q_network = CleanRLQNetwork(num_actions)
    target_network = CleanRLQNetwork(num_actions)
    target_network.load_state_dict(q_network.state_dict())
    optimizer = torch.optim.Adam(q_network.parameters(), lr=1e-4)

    def update(data: Any) -> float:
        observations = torch.tensor(data.obs)
        next_observations = torch.tensor(data.next_obs)
        actions = torch.tensor(data.actions).view(-1, 1)
        rewards = torch.tensor(data.returns)
        dones = torch.tensor(data.discounts == 0, dtype=torch.float32)
        with torch.no_grad():
            target_max, _ = target_network(next_observations).max(dim=1)
            td_target = rewards.flatten() + gamma * target_max * (1 - dones.flatten())
        old_val = q_network(observations).gather(1, actions).squeeze()
        loss = F.mse_loss(td_target, old_val)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.detach()

    return update


def measure_update_speed(seconds: float = 20.0, *, threads: int | None = 1, config: DQNConfig | None = None,
                         num_actions: int = 6, rounds: int = 5, seed: int = 0) -> dict[str, Any]:
    """Updates per second of ``DQNAgent.update`` and of the CleanRL-style baseline, each for about
    ``seconds / 2`` in ``rounds`` alternating rounds (medians). ``threads``: torch intra-op threads for
    both (restored afterwards; None: as set). Batch size: ``config.agent.batch_size`` for both."""
    config = DQNConfig() if config is None else config
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(seed)
        batches = _batches(8, config.agent.batch_size, num_actions, seed)
        agent = DQNAgent(num_actions, config, device="cpu")
        baseline = baseline_update_fn(num_actions, config.agent.gamma)
        runners: dict[str, Callable[[Any], Any]] = {"learner": agent.update, "baseline": baseline}
        for run in runners.values():  # warm-up: allocator, oneDNN kernels
            for batch in batches[:3]:
                run(batch)
        rates: dict[str, list[float]] = {name: [] for name in runners}
        slice_s = seconds / (2 * rounds)
        for _ in range(rounds):
            for name, run in runners.items():
                done, start = 0, time.perf_counter()
                while True:
                    run(batches[done % len(batches)])
                    done += 1
                    elapsed = time.perf_counter() - start
                    if elapsed >= slice_s:
                        break
                rates[name].append(done / elapsed)
        learner = statistics.median(rates["learner"])
        base = statistics.median(rates["baseline"])
        return {
            "learner_updates_per_s": round(learner, 2),
            "baseline_updates_per_s": round(base, 2),
            "learner_vs_baseline": round(learner / base, 3),
            "learner_rounds": [round(r, 2) for r in rates["learner"]],
            "baseline_rounds": [round(r, 2) for r in rates["baseline"]],
            "batch_size": config.agent.batch_size,
            "learner_samples_per_s": round(learner * config.agent.batch_size, 1),
            "threads": torch.get_num_threads(),
            "learner_precision": str(agent.autocast_dtype).removeprefix("torch."),
            "learner_variant": {key: getattr(config.agent, key)
                                for key in ("double", "dueling", "prioritized", "loss", "optimizer")},
        }
    finally:
        torch.set_num_threads(previous_threads)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dqn_update", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of measurement in all (default 20)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of both updates (default 1)")
    parser.add_argument("--double", action="store_true", help="Double DQN targets in the agent (one more forward)")
    parser.add_argument("--dueling", action="store_true", help="the dueling head in the agent")
    parser.add_argument("--batch", type=int, default=32,
                        help="batch size of both updates (default 32); compare samples/s across runs")
    args = parser.parse_args(argv)
    if args.batch < 1 or args.seconds <= 0 or args.threads < 1:
        parser.error("--batch and --threads must be >= 1, --seconds > 0")
    config = DQNConfig()
    config.agent.double, config.agent.dueling, config.agent.batch_size = args.double, args.dueling, args.batch
    print(json.dumps(measure_update_speed(args.seconds, threads=args.threads, config=config)))


if __name__ == "__main__":
    main()
