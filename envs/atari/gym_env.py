"""A single Atari environment as a ``gymnasium.Env``, built on ``AtariVecEnv`` with one emulator.

For libraries that want one environment per object (RLlib, gymnasium's own vector wrappers, tests).  The
preprocessing is the vector environment's, so observations are identical to ``AtariVecEnv``'s.

gymnasium semantics:
- ``step`` returns ``(obs, reward, terminated, truncated, info)``; ``reward`` is what the learner sees
  (sign-clipped when training under a clipping protocol), ``info["raw_reward"]`` the game score;
- at the end of a game episode (``info["episode_end"]``) ``obs`` is the episode's last observation; the next
  ``reset()`` returns the first observation of the next episode (already started by the vector env, no-op
  start included) unless it is given a seed, which starts a freshly seeded one;
- a lost life while training under ``terminal_on_life_loss`` gives ``terminated=True`` with
  ``info["episode_end"] = False``; the following ``reset()`` then continues the same game from the current
  observation instead of restarting it (as baselines' ``EpisodicLifeEnv`` does), so a learner that resets on
  every terminal still plays whole games.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from tenuki.envs.atari.protocols import AtariProtocol, get_protocol
from tenuki.envs.atari.vector import AtariVecEnv


class AtariGymEnv(gym.Env):
    """One Atari game under a protocol.  ``channels_last`` gives observations [H, W, S] instead of [S, H, W]
    (RLlib's default convolutional encoders expect channels last)."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(
        self,
        game: str = "Pong",
        protocol: str | AtariProtocol = "nature",
        *,
        training: bool = False,
        seed: int | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self._vec = AtariVecEnv(game, 1, get_protocol(protocol), training=training, seed=seed, num_threads=1)
        self.game, self.protocol, self.training = self._vec.game, self._vec.protocol, training
        self.channels_last = channels_last
        stack, height, width = self._vec.observation_shape
        shape = (height, width, stack) if channels_last else (stack, height, width)
        self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)
        self.action_space = gym.spaces.Discrete(self._vec.num_actions)
        self._action = np.zeros(1, np.int64)
        self._obs: np.ndarray | None = None  # [S, H, W] to act on next; None before the first reset

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None or self._obs is None:
            self._obs = self._vec.reset(seed=seed)[0]
        # else: after a game episode the vector env has already started the next one; after a life-loss
        # terminal the game simply goes on.  Either way ``self._obs`` is the observation to act on.
        return self._out(self._obs), {"lives": int(self._vec._lives[0])}

    def step(self, action) -> tuple[np.ndarray, float, bool, bool, dict]:
        self._action[0] = action
        step = self._vec.step(self._action)
        info = {"raw_reward": float(step.raw_rewards[0]), "lives": int(self._vec._lives[0]),
                "episode_end": bool(step.episode_ends[0])}
        self._obs = step.obs[0]
        if step.episode_ends[0]:
            obs = self._vec._final_obs[0]
            info["episode_return"] = float(step.episode_returns[0])
            info["episode_length"] = int(step.episode_lengths[0])
        else:
            obs = self._obs
        terminated, truncated = bool(step.terminals[0]), bool(step.truncated[0])
        return self._out(obs), float(step.rewards[0]), terminated, truncated, info

    def close(self) -> None:
        self._vec.close()

    def settings(self) -> dict:
        """Game, protocol settings and mode in force (see ``AtariVecEnv.settings``)."""
        return self._vec.settings()

    def _out(self, obs: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(obs.transpose(1, 2, 0)) if self.channels_last else obs.copy()
