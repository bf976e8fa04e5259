"""Registers the Atari wrappers with gymnasium (``tenuki/Atari-v0``) and, on request, with RLlib.

>>> import gymnasium as gym
>>> env = gym.make("tenuki.envs.atari.registration:tenuki/Atari-v0", game="Pong", protocol="nature")

>>> from tenuki.envs.atari.registration import register_rllib_envs
>>> register_rllib_envs()   # imports ray here, never at module import
>>> # config.environment("tenuki_atari", env_config={"game": "Pong", "protocol": "nature", "training": True})

Importing this module registers the gymnasium id (idempotent); ray is imported only inside
``register_rllib_envs`` so that ``envs`` stays importable and testable without Ray.
"""

from __future__ import annotations

from typing import Any

from gymnasium.envs.registration import register, registry

ATARI_ENV_ID = "tenuki/Atari-v0"
RLLIB_ATARI_ENV = "tenuki_atari"
_RLLIB_ENV_CONFIG_KEYS = ("game", "protocol", "training", "seed", "channels_last")


def register_envs() -> None:
    """Register ``tenuki/Atari-v0`` with gymnasium once (idempotent)."""
    if ATARI_ENV_ID not in registry:
        register(id=ATARI_ENV_ID, entry_point="tenuki.envs.atari.gym_env:AtariGymEnv")


def make_rllib_atari_env(env_config: dict[str, Any]):
    """RLlib's env creator: an ``AtariGymEnv`` from ``env_config`` (keys: game, protocol, training, seed,
    channels_last).  Observations are channels-last by default, the layout RLlib's CNN encoders take.
    Each RLlib worker / vector index gets its own seed: ``seed + 1000 * worker_index + vector_index``."""
    from tenuki.envs.atari.errors import AtariConfigError
    from tenuki.envs.atari.gym_env import AtariGymEnv

    config = dict(env_config)
    unknown = sorted(set(config) - set(_RLLIB_ENV_CONFIG_KEYS))
    if unknown:
        raise AtariConfigError(f"unknown {RLLIB_ATARI_ENV} env_config keys {unknown}; "
                               f"allowed: {list(_RLLIB_ENV_CONFIG_KEYS)}")
    seed = config.get("seed")
    if seed is not None:  # RLlib's EnvContext carries the worker and sub-environment indices
        seed = int(seed) + 1000 * int(getattr(env_config, "worker_index", 0)) + int(
            getattr(env_config, "vector_index", 0))
    return AtariGymEnv(
        config.get("game", "Pong"),
        config.get("protocol", "nature"),
        training=bool(config.get("training", True)),
        seed=seed,
        channels_last=bool(config.get("channels_last", True)),
    )


def register_rllib_envs() -> list[str]:
    """Register the Atari environment with RLlib under ``"tenuki_atari"``; returns the registered names."""
    from ray.tune.registry import register_env  # lazy: ray is heavy and optional for everything else

    register_env(RLLIB_ATARI_ENV, make_rllib_atari_env)
    return [RLLIB_ATARI_ENV]


register_envs()
