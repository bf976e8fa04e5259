"""The game screen in colour, for videos: ``ScreenRecorder`` plays one emulator in lockstep with environment 0
of an ``AtariVecEnv`` and returns its full RGB screen (210 x 160 x 3, the ALE's own resolution) at each
agent step, where the agent sees 84 x 84 gray frames.

ale-py's C++ vector environment returns only the processed observations, so the recorder is a second
emulator with the same emulation settings (``vector.emulation_settings``: frame skip, max-pool, sticky
actions, no-op starts, frame cap) and the same seed as environment 0, given the same actions: the ALE is
deterministic for a seed, so both play the same game, frame for frame, and end their episode at the same
step (tests/envs/atari/test_screen.py checks the rewards and the end). The screen shown for an agent step is
what the agent's frame was made from: the max over the step's last two frames where the protocol
max-pools (which removes the flicker of sprites drawn every other frame).
"""

from __future__ import annotations

from typing import Self

import numpy as np
from ale_py.vector_env import AtariVectorEnv

from tenuki.envs.atari.games import rom_id
from tenuki.envs.atari.protocols import AtariProtocol, get_protocol
from tenuki.envs.atari.vector import emulation_settings

SCREEN_HEIGHT = 210  # the ALE's screen, every game
SCREEN_WIDTH = 160


class ScreenRecorder:
    """One emulator of ``game`` under ``protocol`` (``training`` settings or evaluation ones) whose
    observation is the RGB screen. Seed it as the environment it shadows (``AtariVecEnv(seed=s)`` seeds
    environment 0 with ``s``) and ``step`` it with that environment's action."""

    def __init__(self, game: str, protocol: str | AtariProtocol = "nature", *, training: bool = False,
                 seed: int | None = None) -> None:
        self.protocol = get_protocol(protocol)
        self._seed = seed
        self._env = AtariVectorEnv(rom_id(game), 1, num_threads=1, img_height=SCREEN_HEIGHT,
                                   img_width=SCREEN_WIDTH, grayscale=False, stack_num=1,
                                   **emulation_settings(self.protocol, training))
        self._action = np.zeros(1, np.int64)

    def reset(self) -> np.ndarray:
        """Start the episode; its first screen [210, 160, 3] uint8."""
        obs, _ = self._env.reset(seed=self._seed)
        return obs[0, -1].copy()

    def step(self, action: int) -> tuple[np.ndarray, bool]:
        """(the screen [210, 160, 3] uint8 after ``action``, whether the episode ended there); at an end, the
        episode's last screen (the emulator has already started the next one)."""
        self._action[0] = action
        obs, _, terminated, truncated, info = self._env.step(self._action)
        ended = bool(terminated[0] or truncated[0])
        screen = info["final_obs"][0, -1] if ended else obs[0, -1]
        return screen.copy(), ended

    def close(self) -> None:
        env = getattr(self, "_env", None)
        if env is not None:
            env.close()
            self._env = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
