"""The actor side of the Ape-X backend (``tenuki.selfplay.atari.apex``): experience packed into chunks, the
chunks replayed into the learner's ``FrameReplay``, the Ray actor that plays, and the remote evaluation.

``ChunkCollector`` and ``add_chunk`` are plain numpy (no Ray); ``ApexActor`` and ``evaluate_remote`` are
Ray remotes that the driver (``tenuki.selfplay.atari.apex.ApexRun``) starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import ray
from ray.exceptions import GetTimeoutError, ObjectLostError, RayActorError, WorkerCrashedError

from tenuki.selfplay.learner import numpy_to_state_dict

ACTOR_OPTIONS = {"max_restarts": -1, "max_task_retries": 0}
ACTOR_FAILURES = (RayActorError, WorkerCrashedError, GetTimeoutError, ObjectLostError)


# ------------------------------------------------------------------------------------ chunks


class ChunkCollector:
    """Plays ``env`` (an ``AtariVecEnv``, or anything with its ``reset`` / ``step`` / ``num_envs``) with
    ``act(obs) -> actions`` and packs the experience as a chunk (numpy arrays; T = steps, E = envs)::

        begin_frames  uint8[E, H, W] or None   first frames of new episodes in every env (a (re)start)
        actions       uint8[T, E]   rewards float32[T, E] (as the learner sees them)
        terminals     bool[T, E]    episode_ends bool[T, E]
        next_frames   uint8[T, E, H, W]   newest frame after each step (the final frame where one ended)
        start_steps, start_envs  int64[M]   where an episode ended: step and env of the next episode's
        start_frames  uint8[M, H, W]        first frame
        episode_returns float64[M], episode_lengths int64[M]   raw score and agent steps of ended episodes

    Each frame crosses the wire once; ``add_chunk`` replays the chunk into a ``FrameReplay``.
    """

    def __init__(self, env: Any, act: Callable[[np.ndarray], np.ndarray]):
        self.env = env
        self.act = act
        self.obs: np.ndarray | None = None  # [E, S, H, W] to act on next; None: episodes not started

    def collect(self, steps: int, restart: bool = False) -> dict[str, Any]:
        """``steps`` agent steps in every environment; ``restart``: start new episodes first."""
        env = self.env
        begin_frames = None
        if self.obs is None or restart:
            self.obs = env.reset()
            begin_frames = self.obs[:, -1].copy()
        count = env.num_envs
        frame_shape = self.obs.shape[2:]
        actions = np.empty((steps, count), np.uint8)
        rewards = np.empty((steps, count), np.float32)
        terminals = np.empty((steps, count), np.bool_)
        ends = np.empty((steps, count), np.bool_)
        next_frames = np.empty((steps, count, *frame_shape), np.uint8)
        start_steps: list[int] = []
        start_envs: list[int] = []
        start_frames: list[np.ndarray] = []
        returns: list[float] = []
        lengths: list[int] = []
        obs = self.obs
        for t in range(steps):
            chosen = self.act(obs)
            step = env.step(chosen)
            actions[t] = chosen
            rewards[t] = step.rewards
            terminals[t] = step.terminals
            ends[t] = step.episode_ends
            next_frames[t] = step.obs[:, -1]
            if step.episode_ends.any():
                for e in np.flatnonzero(step.episode_ends).tolist():
                    next_frames[t, e] = step.final_frames[e]
                    start_steps.append(t)
                    start_envs.append(e)
                    start_frames.append(step.obs[e, -1].copy())
                    returns.append(float(step.episode_returns[e]))
                    lengths.append(int(step.episode_lengths[e]))
            obs = step.obs
        self.obs = obs
        return {
            "begin_frames": begin_frames, "actions": actions, "rewards": rewards, "terminals": terminals,
            "episode_ends": ends, "next_frames": next_frames,
            "start_steps": np.asarray(start_steps, np.int64), "start_envs": np.asarray(start_envs, np.int64),
            "start_frames": (np.stack(start_frames) if start_frames
                             else np.zeros((0, *frame_shape), np.uint8)),
            "episode_returns": np.asarray(returns, np.float64), "episode_lengths": np.asarray(lengths, np.int64),
        }


def add_chunk(replay: Any, chunk: dict[str, Any], env_ids: np.ndarray) -> int:
    """Add a ``ChunkCollector`` chunk to ``replay`` (a ``FrameReplay``) as the environments ``env_ids``
    (int64[E]); the same calls, in the same order, as a loop stepping those environments would make.
    Returns the agent steps added."""
    if chunk["begin_frames"] is not None:
        replay.begin(chunk["begin_frames"], env_ids)
    starts = chunk["start_steps"]
    ends = chunk["episode_ends"]
    for t in range(chunk["actions"].shape[0]):
        replay.add(chunk["actions"][t], chunk["rewards"][t], chunk["terminals"][t], ends[t],
                   chunk["next_frames"][t], env_ids)
        if ends[t].any():
            rows = np.flatnonzero(starts == t)
            replay.begin(chunk["start_frames"][rows], env_ids[chunk["start_envs"][rows]])
    return int(chunk["actions"].size)


# ---------------------------------------------------------------------------------------- actor


@ray.remote(**ACTOR_OPTIONS)
class ApexActor:
    """Steps ``envs`` Atari environments epsilon-greedily with the newest weights it was sent; ``collect``
    returns a ``ChunkCollector`` chunk plus ``actor``, ``version`` (the weight version acted with) and
    ``epsilon``."""

    def __init__(self, config: Any, index: int, envs: int, epsilon: float, seed: int, torch_threads: int = 1,
                 env_threads: int = 1):
        import torch

        torch.set_num_threads(torch_threads)
        os.environ.setdefault("OMP_NUM_THREADS", str(torch_threads))
        from tenuki.agents.dqn.agent import DQNAgent
        from tenuki.envs.atari.vector import AtariVecEnv

        self.index = index
        self.epsilon = float(epsilon)
        self.env = AtariVecEnv(config.env.game, envs, config.env.protocol, training=True, seed=seed,
                               num_threads=env_threads)
        self.agent = DQNAgent(self.env.num_actions, config, device="cpu", seed=seed)
        self.agent.online.eval()
        self.collector = ChunkCollector(self.env, lambda obs: self.agent.act(obs, self.epsilon))
        self.version = -1
        self.steps = 0

    def info(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "num_actions": self.env.num_actions, "settings": self.env.settings(),
                "version": self.version, "steps": self.steps, "epsilon": self.epsilon}

    def _receive(self, version: int, weights_box: list) -> None:
        if version > self.version:
            weights = ray.get(weights_box[0])  # fetched only when new: one transfer per version
            self.agent.online.load_state_dict(numpy_to_state_dict(weights))
            self.version = version

    def collect(self, steps: int, version: int, weights_box: list, restart: bool = False) -> dict[str, Any]:
        """Play ``steps`` agent steps in every environment with weights ``version`` (``weights_box`` is
        ``[ObjectRef]``: a reference inside a list is not fetched unless needed). ``restart``: start new
        episodes first (the learner lost a chunk of this actor, so the episodes cannot continue)."""
        self._receive(version, weights_box)
        chunk = self.collector.collect(steps, restart)
        self.steps += steps * self.env.num_envs
        chunk.update(actor=self.index, version=self.version, epsilon=self.epsilon)
        return chunk


@ray.remote(num_cpus=0)
def evaluate_remote(weights: dict[str, np.ndarray], kwargs: dict[str, Any], game: str, protocol: str,
                     episodes: int, seed: int) -> dict[str, Any]:
    """A periodic evaluation under the protocol's evaluation settings (shares the actors' CPUs)."""
    import torch

    from tenuki.agents.dqn.evaluate import evaluate_policy
    from tenuki.agents.dqn.networks import NatureQNetwork

    torch.set_num_threads(1)
    network = NatureQNetwork(**kwargs)
    network.load_state_dict(numpy_to_state_dict(weights))
    return evaluate_policy(network.eval(), game, protocol, episodes=episodes, seed=seed, num_envs=min(episodes, 4))
