"""Registers ``tenuki/Go-v0`` with gymnasium; importing this module is all it takes.

>>> import gymnasium as gym
>>> env = gym.make("tenuki.envs.go.registration:tenuki/Go-v0", board_size=9)  # imports this module first

Kept apart from ``envs/go/__init__.py`` so that the rules engine (``Board``, kernels) imports
without gymnasium. The entry point is a string: nothing of the environment is imported until
``gym.make`` builds one. Registering twice is harmless.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

GO_ENV_ID = "tenuki/Go-v0"


def register_envs() -> None:
    """Register the tenuki Go environments once (idempotent)."""
    if GO_ENV_ID not in registry:
        register(id=GO_ENV_ID, entry_point="tenuki.envs.go.gym_env:GoEnv")


register_envs()
