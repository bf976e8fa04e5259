"""Vectorized Atari environments under a named protocol, with same-step autoreset.

``AtariVecEnv`` runs N emulators in ale-py's C++ ``AtariVectorEnv`` (C++ worker threads; frame skip,
max-pooling, grayscale, INTER_AREA resize to 84x84 and frame stacking all happen in C++) and turns its
output into one ``AtariStep`` per agent step, the shape a replay buffer wants:

- same-step autoreset: where an episode ended, ``obs`` is already the first observation of the next episode
  and the last observation of the ended one is kept as ``final_frames`` (its newest 84x84 frame);
- ``terminals`` (no bootstrap) are separate from ``episode_ends`` (the stack boundary) and from ``truncated``
  (the time cap: bootstrap through it, Pardo et al. 2018 "Time Limits in Reinforcement Learning");
- a lost life is a terminal only while *training* under a protocol with ``terminal_on_life_loss``; the game
  goes on (no reset), as in DeepMind's DQN (Mnih et al. 2015);
- rewards are clipped to their sign only while training under a protocol with ``clip_rewards``; the raw game
  score is always in ``raw_rewards`` and ``episode_returns``.

What ale-py 0.12 does and how it is used (checked by tests/envs/atari):
- ``autoreset_mode="SameStep"`` puts the ended episode's last stack in ``info["final_obs"]`` and the reset
  observation in ``obs``; the stack of a new episode is padded with zeros (gymnasium's
  ``FrameStackObservation(padding_type="zero")``);
- ``max_num_frames_per_episode`` counts emulator frames after the no-op start and reports the cut as
  ``truncated`` (never ``terminated``);
- its life-loss options (``episodic_life``, ``life_loss_info``) either reset the game or report a lost life as
  ``terminated``, which cannot be told apart from game over with same-step autoreset; life losses are
  therefore read from ``info["lives"]`` here and ale-py only reports game over;
- its reward clipping would lose the raw score, and its FIRE-on-reset is not part of either protocol: both
  are switched off;
- an action index out of range makes the C++ worker throw and ``recv`` wait forever: actions are checked here.
"""

from __future__ import annotations

from typing import NamedTuple, Self

import numpy as np
from ale_py.vector_env import AtariVectorEnv

from tenuki.envs.atari.errors import AtariConfigError
from tenuki.envs.atari.games import canonical_game_name, rom_id
from tenuki.envs.atari.protocols import AtariProtocol, get_protocol

_MAX_SEED = 2**31 - 1


def emulation_settings(protocol: AtariProtocol, training: bool) -> dict:
    """The ``AtariVectorEnv`` arguments that decide what the emulator plays (frame cap, sticky actions, action
    set, frame skip and max-pool, no-op starts, same-step autoreset; ale-py's life-loss, clipping and
    FIRE-reset switched off, see the module docstring), without the observation's size, colour and stack:
    ``AtariVecEnv`` and the video's ``ScreenRecorder`` share them, so a recorder seeded and driven like an
    environment plays the same game."""
    return {
        "max_num_frames_per_episode": protocol.max_frames(training),
        "repeat_action_probability": protocol.repeat_action_probability,
        "full_action_space": protocol.full_action_space,
        "autoreset_mode": "SameStep",
        "frameskip": protocol.frame_skip,
        "maxpool": protocol.max_pool,
        "noop_max": protocol.noop_max,
        "episodic_life": False,
        "life_loss_info": False,
        "reward_clipping": False,
        "use_fire_reset": False,
    }


class AtariStep(NamedTuple):
    """One agent step of N environments (N = ``num_envs``; S = stack; H = W = frame size)."""

    obs: np.ndarray              # [N, S, H, W] uint8: to act on next (a new episode's first where one ended)
    rewards: np.ndarray          # [N] float32: as the learner sees them (sign-clipped when training clips)
    raw_rewards: np.ndarray      # [N] float32: the game's score change
    terminals: np.ndarray        # [N] bool: no bootstrap (game over; a lost life when training counts it)
    episode_ends: np.ndarray     # [N] bool: the game episode ended (game over or time cap); the env has reset
    truncated: np.ndarray        # [N] bool: ended by the time cap (never a terminal)
    final_frames: np.ndarray     # [N, H, W] uint8: newest frame of an ended episode's last obs (where ended)
    episode_returns: np.ndarray  # [N] float64: raw score of the ended episode (where episode_ends, else 0)
    episode_lengths: np.ndarray  # [N] int64: agent steps of the ended episode (where episode_ends, else 0)


class AtariVecEnv:
    """``num_envs`` Atari emulators of ``game`` under ``protocol``, stepped together.

    >>> env = AtariVecEnv("Pong", 2, "nature", training=True, seed=0)
    >>> obs = env.reset()                       # [2, 4, 84, 84] uint8
    >>> step = env.step(np.zeros(2, np.int64))  # AtariStep

    ``training`` selects the protocol's training settings (life-loss terminals, reward clipping, training
    frame cap) or its evaluation settings (neither, evaluation cap).  ``seed`` seeds environment i with
    ``seed + i`` at the first ``reset``; ``reset(seed)`` reseeds.  Unseeded environments draw their seeds
    from the operating system.  ``num_threads`` = 0 lets ale-py choose.
    """

    def __init__(
        self,
        game: str,
        num_envs: int,
        protocol: str | AtariProtocol = "nature",
        *,
        training: bool,
        seed: int | None = None,
        num_threads: int = 0,
    ) -> None:
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise AtariConfigError(f"num_envs must be a positive integer, got {num_envs!r}")
        if num_threads < 0:
            raise AtariConfigError(f"num_threads must be >= 0 (0: one per environment), got {num_threads!r}")
        self.protocol = get_protocol(protocol)
        self.game = canonical_game_name(game)
        self.num_envs = int(num_envs)
        self.training = bool(training)
        self.max_frames = self.protocol.max_frames(self.training)
        self._seed = self._check_seed(seed)
        self._life_loss_terminal = self.training and self.protocol.terminal_on_life_loss
        self._clip_rewards = self.training and self.protocol.clip_rewards
        p = self.protocol
        self._env = AtariVectorEnv(
            rom_id(game),
            self.num_envs,
            num_threads=num_threads,
            img_height=p.frame_size,
            img_width=p.frame_size,
            grayscale=True,
            stack_num=p.stack,
            **emulation_settings(p, self.training),
        )
        self._ale = self._env.ale  # the C++ vectorizer: send/recv directly, skipping per-step Python checks
        self.action_meanings: list[str] = [action.name for action in self._ale.get_action_set()]
        self.num_actions = len(self.action_meanings)
        self.observation_shape = (p.stack, p.frame_size, p.frame_size)
        n = self.num_envs
        self._paddle_strength = np.ones(n, np.float32)
        self._returns = np.zeros(n, np.float64)  # running raw score of each episode
        self._steps = 0                           # agent steps since reset()
        self._starts = np.zeros(n, np.int64)     # value of _steps when each episode started
        self._lives = np.zeros(n, np.int32)      # [N] lives after the last step
        self._lives_list: list[int] = []         # the same as a list: a cheap "did any change" test
        # Returned where no episode ended (read-only, shared: valid nowhere, so never worth a fresh array).
        self._no_final_frames = _read_only(np.zeros((n, p.frame_size, p.frame_size), np.uint8))
        self._no_returns = _read_only(np.zeros(n, np.float64))
        self._no_lengths = _read_only(np.zeros(n, np.int64))
        self._final_obs: np.ndarray | None = None  # [N, S, H, W] of the last step where an episode ended
        self._needs_reset = True

    # -- gym-like API -----------------------------------------------------------------------------------

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Start a new episode in every environment; returns ``obs`` [N, S, H, W] uint8 (padding: zeros)."""
        seed = self._check_seed(seed)
        if seed is None and self._needs_reset:
            seed = self._seed  # the constructor's seed applies to the first reset only
        obs, info = self._env.reset(seed=seed)
        self._lives = np.array(info["lives"], np.int32)
        self._lives_list = self._lives.tolist()
        self._returns[:] = 0.0
        self._steps = 0
        self._starts[:] = 0
        self._final_obs = None
        self._needs_reset = False
        return obs

    def step(self, actions: np.ndarray) -> AtariStep:
        """Apply ``actions`` [N] (indices into ``action_meanings``) (one agent step, frame_skip frames)."""
        if self._needs_reset:
            raise AtariConfigError("AtariVecEnv.step() called before reset()")
        actions = self._check_actions(actions)
        ale = self._ale
        ale.send(actions, self._paddle_strength)
        obs, scores, terminated, truncated, info = ale.recv()

        # The bookkeeping below runs every step: Python lists and early outs, because numpy calls cost
        # about a microsecond each on arrays of a few elements (the emulators take ~300 us per step).
        raw_rewards = scores.astype(np.float32)
        if any(scores.tolist()):
            self._returns += raw_rewards
            rewards = np.sign(raw_rewards) if self._clip_rewards else raw_rewards.copy()
        else:
            rewards = raw_rewards.copy()
        episode_ends = terminated | truncated
        lives = info["lives"]
        lives_list = lives.tolist()
        if self._life_loss_terminal and lives_list != self._lives_list:
            # Where the episode ended, lives already belong to the next episode: only count the others.
            terminals = terminated | ((lives < self._lives) & ~episode_ends)
        else:
            terminals = terminated
        self._lives, self._lives_list = lives, lives_list
        self._steps += 1

        if True in episode_ends.tolist():
            final_obs = info["final_obs"]
            final_frames = np.zeros_like(self._no_final_frames)
            final_frames[episode_ends] = final_obs[episode_ends, -1]
            episode_returns = np.where(episode_ends, self._returns, 0.0)
            episode_lengths = np.where(episode_ends, self._steps - self._starts, 0)
            self._returns[episode_ends] = 0.0
            self._starts[episode_ends] = self._steps
            self._final_obs = final_obs
        else:
            final_frames = self._no_final_frames
            episode_returns = self._no_returns
            episode_lengths = self._no_lengths
            self._final_obs = None
        return AtariStep(obs, rewards, raw_rewards, terminals, episode_ends, truncated, final_frames,
                         episode_returns, episode_lengths)

    def close(self) -> None:
        """Release the emulators (also done when the object is garbage-collected)."""
        env = getattr(self, "_env", None)
        if env is not None:
            env.close()
            self._env = self._ale = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def settings(self) -> dict:
        """What a result must record to be reproducible: game, protocol settings, mode, frame cap in force."""
        return {
            "game": self.game,
            "protocol": self.protocol.to_dict(),
            "training": self.training,
            "max_frames": self.max_frames,
            "num_actions": self.num_actions,
            "env": "ale_py.vector_env.AtariVectorEnv (same-step autoreset)",
        }

    # -- checks -----------------------------------------------------------------------------------------

    def _check_actions(self, actions) -> np.ndarray:
        if type(actions) is not np.ndarray or actions.dtype != np.int64:
            actions = np.asarray(actions)
            if actions.dtype.kind not in "iu":
                raise AtariConfigError(f"actions must be integers, got dtype {actions.dtype}")
            actions = actions.astype(np.int64)
        if actions.shape != (self.num_envs,):
            raise AtariConfigError(f"actions must have shape ({self.num_envs},), got {actions.shape}")
        # ale-py hangs (a C++ worker throws, recv waits forever) on an index outside the action set.
        # On a list: numpy reductions cost microseconds on arrays this small.
        listed = actions.tolist()
        if min(listed) < 0 or max(listed) >= self.num_actions:
            raise AtariConfigError(
                f"actions must be in [0, {self.num_actions}) for {self.game} "
                f"({'full' if self.protocol.full_action_space else 'minimal'} action set), got {listed}")
        return actions

    def _check_seed(self, seed: int | None) -> int | None:
        if seed is None:
            return None
        if not isinstance(seed, (int, np.integer)) or not 0 <= seed <= _MAX_SEED - self.num_envs:
            raise AtariConfigError(f"seed must be an integer in [0, 2**31 - 1 - num_envs], got {seed!r}")
        return int(seed)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
