"""Evaluation of an Atari agent under a named protocol (``tenuki atari evaluate``).

An evaluation plays ``episodes`` whole episodes with the protocol's evaluation settings (no life-loss
terminals, no reward clipping, the evaluation frame cap, epsilon-greedy with the protocol's epsilon)
and reports the raw game scores: mean, median, std, min, max and the human-normalised score of the
mean (``tenuki.agents.dqn.scores``). Episodes run in ``num_envs`` emulators at once; to avoid favouring short
episodes, environment i plays exactly its share of the episodes (episodes are dealt round-robin) and
whatever it plays after that is discarded.

``policy``: a Q-network (greedy with probability 1 - epsilon) or the string ``"random"`` (uniform
actions, i.e. epsilon 1: the random agent of the score tables).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tenuki.agents.dqn.scores import (
    NATURE_DQN_SOURCE,
    SCORE_TABLE_SOURCE,
    comparison_table,
    human_normalized,
    reference_scores,
)
from tenuki.envs.atari.protocols import get_protocol
from tenuki.envs.atari.vector import AtariVecEnv


class EvaluationError(ValueError):
    """Evaluation settings that cannot be used (the message names the option)."""


def _greedy(network: torch.nn.Module, obs: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        q = network(torch.from_numpy(np.ascontiguousarray(obs)))
    return q.argmax(dim=1).numpy()


def evaluate_policy(policy: torch.nn.Module | str, game: str, protocol: str = "nature", *, episodes: int = 30,
                    seed: int = 0, epsilon: float | None = None, num_envs: int = 4, video: str | Path | None = None,
                    max_agent_steps: int | None = None, progress: Any = None) -> dict[str, Any]:
    """Play ``episodes`` evaluation episodes; return one JSON-ready dict (see the module docstring).

    ``epsilon``: default the protocol's evaluation epsilon (ignored by the random policy).
    ``video``: write the first environment's observations (84x84 grayscale, newest frame, scaled x4)
    of its first episode as an MP4 (needs imageio with ffmpeg) or, for a ``.gif`` / ``.npz`` path, as
    that. ``progress``: called with (finished episodes, episodes) after each episode.
    """
    if episodes < 1:
        raise EvaluationError(f"--episodes must be >= 1, got {episodes}")
    proto = get_protocol(protocol)
    random_policy = isinstance(policy, str)
    if random_policy and policy != "random":
        raise EvaluationError(f"policy must be a Q-network or 'random', got {policy!r}")
    if epsilon is None:
        epsilon = 1.0 if random_policy else proto.eval_epsilon
    if not 0.0 <= epsilon <= 1.0:
        raise EvaluationError(f"epsilon must be in [0, 1], got {epsilon}")
    num_envs = max(1, min(num_envs, episodes))
    quota = np.array([episodes // num_envs + (1 if i < episodes % num_envs else 0) for i in range(num_envs)])
    rng = np.random.default_rng(seed)
    scores: list[list[float]] = [[] for _ in range(num_envs)]
    lengths: list[int] = []
    frames_for_video: list[np.ndarray] = []
    recording = video is not None
    started = time.perf_counter()
    agent_steps = 0
    with AtariVecEnv(game, num_envs, proto, training=False, seed=seed) as env:
        obs = env.reset()
        if recording:
            frames_for_video.append(obs[0, -1].copy())
        done = 0
        while done < episodes:
            explore = rng.random(num_envs) < epsilon
            actions = rng.integers(0, env.num_actions, size=num_envs)
            if not random_policy and not explore.all():
                actions = np.where(explore, actions, _greedy(policy, obs))
            step = env.step(actions)
            agent_steps += num_envs
            if recording:
                frames_for_video.append((step.final_frames[0] if step.episode_ends[0] else step.obs[0, -1]).copy())
                if step.episode_ends[0]:
                    recording = False
            for i in np.flatnonzero(step.episode_ends):
                if len(scores[i]) < quota[i]:
                    scores[i].append(float(step.episode_returns[i]))
                    lengths.append(int(step.episode_lengths[i]))
                    done += 1
                    if progress is not None:
                        progress(done, episodes)
            obs = step.obs
            if max_agent_steps is not None and agent_steps >= max_agent_steps and done < episodes:
                raise EvaluationError(f"{done} of {episodes} episodes finished within {max_agent_steps} agent steps")
        settings = env.settings()
    if video is not None:
        write_video(video, frames_for_video)
    flat = np.array([s for per_env in scores for s in per_env], np.float64)
    mean = float(flat.mean())
    hns = human_normalized(game, mean)
    ref = reference_scores(game)
    return {
        "game": ref["game"],
        "protocol": proto.name,
        "policy": "random" if random_policy else "q_network",
        "episodes": int(flat.size),
        "mean": mean,
        "median": float(np.median(flat)),
        "std": float(flat.std()),
        "min": float(flat.min()),
        "max": float(flat.max()),
        "scores": flat.tolist(),
        "mean_episode_length": float(np.mean(lengths)),
        "hns": None if math.isnan(hns) else hns,
        "hns_source": SCORE_TABLE_SOURCE,
        "reference": {"random": ref["random"], "human": ref["human"], "nature_dqn": ref["nature_dqn"],
                      "nature_dqn_source": NATURE_DQN_SOURCE},
        "epsilon": epsilon,
        "seed": seed,
        "num_envs": num_envs,
        "settings": {**proto.to_dict(), **settings, "training": False},
        "agent_steps": agent_steps,
        "seconds": round(time.perf_counter() - started, 2),
        "markdown": comparison_table(game, mean, proto.name, int(flat.size)),
        "video": None if video is None else str(video),
    }


def write_video(path: str | Path, frames: list[np.ndarray], scale: int = 4, fps: int = 15) -> Path:
    """Write 84x84 grayscale ``frames`` to ``path``: .npz (raw frames), .gif or .mp4 (imageio)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stack = np.stack(frames)
    if path.suffix == ".npz":
        np.savez_compressed(path, frames=stack)
        return path
    try:
        import imageio.v3 as iio
    except ImportError as error:
        raise EvaluationError(f"--video {path}: writing {path.suffix} needs imageio "
                              "(pip install 'imageio[ffmpeg]'); a .npz path needs nothing") from error
    big = stack.repeat(scale, axis=1).repeat(scale, axis=2)
    try:
        if path.suffix == ".gif":
            iio.imwrite(path, big, duration=1000 / fps, loop=0)
        else:
            iio.imwrite(path, big, fps=fps, codec="libx264", macro_block_size=1)
    except Exception as error:  # imageio raises plain exceptions for missing plugins
        raise EvaluationError(f"--video {path}: {error}") from error
    return path
