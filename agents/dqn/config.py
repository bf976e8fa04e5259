"""Typed configuration of a DQN run on Atari, loaded from YAML (``configs/atari/*.yaml``).

``load_config(path)`` validates the YAML into a ``DQNConfig`` with sections ``env``, ``agent``, ``train``
and the scalar ``backend``. An unknown key, a value of the wrong type or out of range is a
``DQNConfigError`` naming the key (``agent.n_step: expected an integer in 1..100, got 0``). Every section
is optional; what is left out takes the defaults below.

Units: every count of "steps" (``learning_starts``, ``train_every``, ``target_update_every``,
``epsilon_decay_steps``, ``total_steps``, ``eval_every``, ``checkpoint_every``) is in agent steps, i.e.
transitions collected, summed over the vector env's ``num_envs`` environments (one agent step = 4
emulator frames under both protocols). ``replay_capacity`` is in transitions.

Defaults: Nature DQN (Mnih et al. 2015) with the Adam settings of CleanRL's ``dqn_atari.py``
(Huang et al. 2022), which learn faster than Nature's RMSProp; variants are switched on one by one:

- ``double``: Double DQN (van Hasselt et al. 2016), the online network picks the bootstrap action;
- ``dueling``: the dueling head (Wang et al. 2016);
- ``prioritized``: proportional prioritized replay (Schaul et al. 2016), exponent ``priority_alpha``,
  importance-sampling exponent annealed linearly from ``priority_beta_start`` to 1 over ``total_steps``;
- ``n_step``: n-step returns (Sutton 1988; Hessel et al. 2018 use 3);
- ``loss``: ``huber`` (delta 1: Nature's clipping of the TD error to [-1, 1]) or ``mse`` (CleanRL);
- ``optimizer``: ``adam`` (``learning_rate``, ``adam_eps``) or ``rmsprop``. Nature's RMSProp is
  ``learning_rate: 2.5e-4, rmsprop_alpha: 0.95, rmsprop_eps: 0.01, rmsprop_centered: true``; torch's
  centered RMSProp adds eps outside the square root, DeepMind's inside (sqrt(E[g^2] - E[g]^2 + 0.01)),
  so the two are close but not identical;
- ``max_grad_norm``: clip the gradient's global norm (0: off; Wang et al. use 10 for dueling).

``train.precision``: ``auto`` is bfloat16 autocast where the hardware has fast bfloat16 (a CUDA GPU that
supports it, a CPU with AVX512-BF16 or AMX), else float32; ``train.device``: ``auto`` is CUDA when present.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenuki.common.yaml_config import Ranges, check_ranges, dump_yaml_config, load_yaml_config, parse_section

LOSSES = ("huber", "mse")
OPTIMIZERS = ("adam", "rmsprop")
PRECISIONS = ("auto", "float32", "bfloat16")
BACKENDS = ("native", "apex", "rllib")
KNOWN_PROTOCOLS = ("nature", "machado", "dopamine")  # used only when tenuki.envs.atari.protocols cannot be imported


class DQNConfigError(ValueError):
    """A DQN config that cannot be used: the message names the key and what is allowed."""


@dataclass
class EnvConfig:
    game: str = "Pong"  # ALE game name as ale-py spells it ("Pong", "Breakout", "MsPacman")
    protocol: str = "nature"  # a name of tenuki.envs.atari.protocols.PROTOCOLS
    num_envs: int = 1  # environments stepped together (ale-py's vector env)


@dataclass
class AgentConfig:
    double: bool = False
    dueling: bool = False
    prioritized: bool = False
    n_step: int = 1
    loss: str = "huber"
    optimizer: str = "adam"
    learning_rate: float = 1e-4
    adam_eps: float = 1e-8
    rmsprop_alpha: float = 0.95
    rmsprop_eps: float = 0.01
    rmsprop_centered: bool = True
    max_grad_norm: float = 0.0  # 0: no clipping
    gamma: float = 0.99
    target_update_every: int = 1000  # agent steps between target syncs (every this / train_every updates)
    batch_size: int = 32
    train_every: int = 4  # one gradient update per this many agent steps
    learning_starts: int = 80_000  # agent steps of random-ish play before the first update
    replay_capacity: int = 1_000_000  # transitions
    epsilon_start: float = 1.0
    epsilon_end: float = 0.01
    epsilon_decay_steps: int = 1_000_000  # linear from start to end over this many agent steps
    # Ape-X-style spread of the final epsilon across the native loop's environments: environment i of N ends
    # at epsilon_end * epsilon_spread ** (i / (N - 1) - 1/2), so epsilon_end is their geometric mean and the
    # largest is epsilon_spread times the smallest; 1: every environment at epsilon_end
    epsilon_spread: float = 1.0
    priority_alpha: float = 0.6
    priority_beta_start: float = 0.4


@dataclass
class TrainConfig:
    total_steps: int = 10_000_000  # agent steps
    eval_every: int = 250_000  # agent steps between evaluations (0: none during training)
    eval_episodes: int = 10
    checkpoint_every: int = 250_000  # agent steps between checkpoints (0: only at the end)
    seed: int = 1
    torch_threads: int = 1  # intra-op threads of the learner
    precision: str = "auto"  # auto | float32 | bfloat16 (autocast)
    device: str = "auto"  # auto | cpu | cuda | cuda:N


@dataclass
class DQNConfig:
    env: EnvConfig = field(default_factory=EnvConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    backend: str = "native"  # native | apex (Ray actors feed the replay) | rllib (RLlib's DQN, a baseline)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> DQNConfig:
        _check_ranges(self)
        return self


# key -> (check, what is allowed); checked after the types
_RANGES: Ranges = {
    "env.game": (lambda v: re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", v) is not None, "an ALE game name such as 'Pong'"),
    "env.num_envs": (lambda v: 1 <= v <= 1024, "an integer in 1..1024"),
    "agent.n_step": (lambda v: 1 <= v <= 100, "an integer in 1..100"),
    "agent.loss": (lambda v: v in LOSSES, " or ".join(map(repr, LOSSES))),
    "agent.optimizer": (lambda v: v in OPTIMIZERS, " or ".join(map(repr, OPTIMIZERS))),
    "agent.learning_rate": (lambda v: 0.0 < v < 1.0, "a number in (0, 1)"),
    "agent.adam_eps": (lambda v: v > 0.0, "a number > 0"),
    "agent.rmsprop_alpha": (lambda v: 0.0 < v < 1.0, "a number in (0, 1)"),
    "agent.rmsprop_eps": (lambda v: v > 0.0, "a number > 0"),
    "agent.max_grad_norm": (lambda v: v >= 0.0, "a number >= 0 (0: no clipping)"),
    "agent.gamma": (lambda v: 0.0 < v <= 1.0, "a number in (0, 1]"),
    "agent.target_update_every": (lambda v: v >= 1, "an integer >= 1"),
    "agent.batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "agent.train_every": (lambda v: v >= 1, "an integer >= 1"),
    "agent.learning_starts": (lambda v: v >= 0, "an integer >= 0"),
    "agent.replay_capacity": (lambda v: v >= 1, "an integer >= 1"),
    "agent.epsilon_start": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "agent.epsilon_end": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "agent.epsilon_decay_steps": (lambda v: v >= 0, "an integer >= 0 (0: epsilon_end from the start)"),
    "agent.epsilon_spread": (lambda v: 1.0 <= v <= 1e6, "a number in [1, 1e6] (1: no spread)"),
    "agent.priority_alpha": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "agent.priority_beta_start": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "train.total_steps": (lambda v: v >= 1, "an integer >= 1"),
    "train.eval_every": (lambda v: v >= 0, "an integer >= 0 (0: no evaluation during training)"),
    "train.eval_episodes": (lambda v: v >= 1, "an integer >= 1"),
    "train.checkpoint_every": (lambda v: v >= 0, "an integer >= 0 (0: only at the end)"),
    "train.seed": (lambda v: 0 <= v < 2**63, "an integer >= 0"),
    "train.torch_threads": (lambda v: v >= 1, "an integer >= 1"),
    "train.precision": (lambda v: v in PRECISIONS, " or ".join(map(repr, PRECISIONS))),
    "train.device": (lambda v: re.fullmatch(r"auto|cpu|cuda(:\d+)?", v) is not None, "'auto', 'cpu', 'cuda' or 'cuda:N'"),
    "backend": (lambda v: v in BACKENDS, " or ".join(map(repr, BACKENDS))),
}


def _protocol_names() -> tuple[str, ...]:
    try:
        from tenuki.envs.atari.protocols import PROTOCOLS
    except ImportError:  # the env package is optional for reading a config
        return KNOWN_PROTOCOLS
    return tuple(PROTOCOLS)


def _check_ranges(config: DQNConfig) -> None:
    check_ranges(config, _RANGES, DQNConfigError)
    protocols = _protocol_names()
    if config.env.protocol not in protocols:
        raise DQNConfigError(f"env.protocol: expected one of {', '.join(map(repr, protocols))}, "
                             f"got {config.env.protocol!r}")
    agent = config.agent
    if agent.epsilon_end > agent.epsilon_start:
        raise DQNConfigError(f"agent.epsilon_end: expected <= agent.epsilon_start ({agent.epsilon_start}), "
                             f"got {agent.epsilon_end}")
    if agent.epsilon_spread != 1.0:
        if config.backend != "native":
            raise DQNConfigError(f"agent.epsilon_spread: only the native backend spreads epsilon across its "
                                 f"environments (backend {config.backend!r}); expected 1, got {agent.epsilon_spread}")
        largest = agent.epsilon_end * agent.epsilon_spread ** 0.5
        if config.env.num_envs > 1 and largest > agent.epsilon_start:
            raise DQNConfigError(f"agent.epsilon_spread: the largest final epsilon, epsilon_end * sqrt(spread) = "
                                 f"{largest:.4g}, must be <= agent.epsilon_start ({agent.epsilon_start})")
    if agent.learning_starts < agent.batch_size:
        raise DQNConfigError(f"agent.learning_starts: expected >= agent.batch_size ({agent.batch_size}), "
                             f"got {agent.learning_starts}")
    if agent.replay_capacity < agent.batch_size:
        raise DQNConfigError(f"agent.replay_capacity: expected >= agent.batch_size ({agent.batch_size}), "
                             f"got {agent.replay_capacity}")
    if agent.replay_capacity < config.env.num_envs:
        raise DQNConfigError(f"agent.replay_capacity: expected >= env.num_envs ({config.env.num_envs}), "
                             f"got {agent.replay_capacity}")


def config_from_dict(data: Any) -> DQNConfig:
    """A validated config from a parsed YAML document (a mapping of sections); None: the defaults."""
    return parse_section(DQNConfig, data, "", DQNConfigError).validate()


def load_config(path: str | Path, overrides: list[str] | None = None) -> DQNConfig:
    """Read and validate a YAML config, with the ``--set KEY=VALUE`` ``overrides`` applied before the checks;
    ``DQNConfigError`` names the file and the key at fault."""
    return load_yaml_config(path, config_from_dict, DQNConfigError, overrides=overrides)


def dump_config(config: DQNConfig) -> str:
    """YAML text that ``load_config`` reads back to the same config."""
    return dump_yaml_config(config)
