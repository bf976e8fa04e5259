"""Named Atari evaluation protocols: every setting that changes a score, recorded in configs and results.

Three protocols are shipped (``PROTOCOLS``):

``nature`` — Mnih et al., "Human-level control through deep reinforcement learning", Nature 518 (2015),
    Methods and Extended Data Table 1:
    - deterministic ALE (no sticky actions, ``repeat_action_probability = 0``), the game's minimal action set;
    - "no-op max 30": a random number of no-op frames at every episode start.  ale-py's vector
      environment draws 0..29 such frames (gymnasium's ``AtariPreprocessing`` draws 1..30); both read
      "up to 30" and start the agent in a random state;
    - frame skip 4 ("action repeat"), each observation the pixel-wise max over the last two of the four
      frames ("to remove flickering"), grayscale luminance resized to 84x84, the last 4 observations stacked;
    - training only: rewards clipped to their sign, and a lost life ends the *learning* episode
      (a terminal for the TD target) while the game goes on;
    - evaluation: epsilon-greedy with epsilon 0.05 for up to 5 minutes of play (18,000 frames at 60 Hz).
      Training episodes are capped at 108,000 frames (30 minutes), the ALE v5 default.

``machado`` — Machado et al., "Revisiting the Arcade Learning Environment: Evaluation Protocols and Open
    Problems for General Agents", JAIR 61 (2018), Sections 5 and 6:
    - sticky actions with p = 0.25 (the only source of stochasticity; no no-op starts);
    - the full 18-action set for every game;
    - no life-loss signal ("game over" is the only terminal), frame skip 4 with max-pooling, 84x84x4;
    - episodes capped at 108,000 frames in training and in evaluation;
    - evaluation epsilon 0.01: the paper has no separate evaluation phase; it reports the mean score of the
      last 100 *training* episodes, i.e. the epsilon-greedy learner at its final exploration rate, 0.01 for
      its DQN runs.  (Dopamine's sticky-action DQN configs, which follow the paper, train with epsilon 0.01
      and run their own evaluation phase with 0.001.)
    - rewards are clipped for training (the DQN learner needs it) but never at evaluation.

``dopamine`` — the setting of Dopamine's Atari baselines (Castro et al., "Dopamine: A Research Framework
    for Deep Reinforcement Learning", 2018; its gin files and ``atari_lib.py``), whose published curves
    (``baselines/atari/data/<game>.json``) tenuki's runs are compared with (``bench/dopamine_compare.py``):
    ``machado`` but with the game's *minimal* action set (gym's default, which Dopamine keeps: 6 actions
    for Pong, 4 for Breakout), episodes capped at 27,000 agent steps (108,000 frames), and evaluation
    epsilon 0.001 (Dopamine's evaluation phase; its curves are training returns at epsilon 0.01).

Frame caps are in emulator frames counted from the end of the no-op start (ale-py's vector environment
resets its counter after the no-ops).  A cap ends the episode as a *truncation*, never a terminal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from tenuki.envs.atari.errors import AtariConfigError


@dataclass(frozen=True)
class AtariProtocol:
    """Every setting of an Atari protocol.  Frames are emulator frames (60 per second of play)."""

    name: str
    repeat_action_probability: float  # sticky actions: the previous action is repeated with this probability
    full_action_space: bool           # all 18 actions instead of the game's minimal set
    noop_max: int                     # random no-op frames at episode start: 0..noop_max-1 (0: none)
    frame_skip: int                   # emulator frames per agent step (the action is repeated)
    max_pool: bool                    # observation = max over the last two frames of a step
    frame_size: int                   # observations are frame_size x frame_size grayscale (84)
    stack: int                        # observations stacked per agent input (4)
    train_max_frames: int             # episode cap while training (truncation)
    eval_max_frames: int              # episode cap at evaluation (truncation)
    terminal_on_life_loss: bool       # training only: a lost life is a terminal (no bootstrap)
    clip_rewards: bool                # training only: the learner sees sign(reward)
    eval_epsilon: float               # epsilon-greedy exploration at evaluation

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value, kind = getattr(self, field.name), _FIELD_KINDS[field.type]
            if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
                raise AtariConfigError(
                    f"protocol {self.name!r}: {field.name}={value!r} must be of type {field.type}")
        checks = (
            ("repeat_action_probability", 0.0 <= self.repeat_action_probability < 1, "must be in [0, 1)"),
            ("noop_max", self.noop_max >= 0, "must be >= 0"),
            ("frame_skip", self.frame_skip >= 1, "must be >= 1"),
            ("frame_size", self.frame_size >= 8, "must be >= 8"),
            ("stack", self.stack >= 1, "must be >= 1"),
            ("train_max_frames", self.train_max_frames >= 1, "must be >= 1"),
            ("eval_max_frames", self.eval_max_frames >= 1, "must be >= 1"),
            ("eval_epsilon", 0.0 <= self.eval_epsilon <= 1.0, "must be in [0, 1]"),
        )
        for field, ok, allowed in checks:
            if not ok:
                raise AtariConfigError(
                    f"protocol {self.name!r}: {field}={getattr(self, field)!r} is out of range ({allowed})")

    def max_frames(self, training: bool) -> int:
        """The episode cap in emulator frames for a training or an evaluation environment."""
        return self.train_max_frames if training else self.eval_max_frames

    def to_dict(self) -> dict[str, Any]:
        """All settings as a JSON-ready dict (recorded in every config, checkpoint and result)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, settings: dict[str, Any]) -> AtariProtocol:
        """Rebuild a protocol from ``to_dict()``; an unknown or missing key raises ``AtariConfigError``."""
        names = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(settings) - set(names))
        missing = [name for name in names if name not in settings]
        if unknown or missing:
            raise AtariConfigError(f"protocol settings: unknown keys {unknown}, missing keys {missing}")
        return cls(**settings)

    def replace(self, **changes: Any) -> AtariProtocol:
        """A copy with some settings changed (validated); an unknown setting raises ``AtariConfigError``."""
        names = {field.name for field in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise AtariConfigError(f"unknown protocol settings {unknown}; allowed: {sorted(names)}")
        return dataclasses.replace(self, **changes)


# Field annotations are strings (``from __future__ import annotations``): the types each one accepts.
_FIELD_KINDS = {"str": str, "float": (int, float), "int": int, "bool": bool}

NATURE = AtariProtocol(
    name="nature",
    repeat_action_probability=0.0,
    full_action_space=False,
    noop_max=30,
    frame_skip=4,
    max_pool=True,
    frame_size=84,
    stack=4,
    train_max_frames=108_000,
    eval_max_frames=18_000,
    terminal_on_life_loss=True,
    clip_rewards=True,
    eval_epsilon=0.05,
)

MACHADO = AtariProtocol(
    name="machado",
    repeat_action_probability=0.25,
    full_action_space=True,
    noop_max=0,
    frame_skip=4,
    max_pool=True,
    frame_size=84,
    stack=4,
    train_max_frames=108_000,
    eval_max_frames=108_000,
    terminal_on_life_loss=False,
    clip_rewards=True,
    eval_epsilon=0.01,
)

DOPAMINE = MACHADO.replace(name="dopamine", full_action_space=False, eval_epsilon=0.001)

PROTOCOLS: dict[str, AtariProtocol] = {NATURE.name: NATURE, MACHADO.name: MACHADO, DOPAMINE.name: DOPAMINE}


def get_protocol(protocol: str | AtariProtocol) -> AtariProtocol:
    """The protocol named ``protocol`` (an ``AtariProtocol`` passes through); unknown names raise."""
    if isinstance(protocol, AtariProtocol):
        return protocol
    try:
        return PROTOCOLS[protocol]
    except (KeyError, TypeError):
        raise AtariConfigError(
            f"unknown Atari protocol {protocol!r}; allowed: {', '.join(sorted(PROTOCOLS))}") from None
