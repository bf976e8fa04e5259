"""Registers the Go environments with RLlib; ray is imported inside the functions only.

>>> from tenuki.envs.go.rllib_registration import register_rllib_envs
>>> register_rllib_envs()   # ["tenuki_go", "tenuki_go_multiagent"]
>>> # config.environment("tenuki_go", env_config={"board_size": 9, "opponent": "random"})

- ``"tenuki_go"``: the single-agent gymnasium env (``gym_env.GoEnv``: the agent against a fixed opponent);
  ``env_config`` holds ``GoEnv``'s keyword arguments (``board_size``, ``komi``, ``ko_rule``,
  ``allow_suicide``, ``max_moves``, ``agent_color``, ``opponent``, ``illegal_action``, ``render_mode``).
- ``"tenuki_go_multiagent"``: both colours as RLlib agents ``black_0`` / ``white_0``, the PettingZoo AEC env
  (``pettingzoo_env.env``) inside RLlib's ``PettingZooEnv``; ``env_config`` holds ``GoAECEnv``'s keyword
  arguments.

Observations are ``Dict(observation=float32[17, N, N], action_mask=int8[N*N+1])``: an RLlib module must
read the mask (RLlib's action-masking examples do exactly this); RLlib's default encoders do not.
Seeding is RLlib's: its env runners call ``reset(seed=...)`` from ``config.debugging(seed=...)``.
"""

from __future__ import annotations

import inspect
from typing import Any

from tenuki.envs.go.errors import GoError

RLLIB_GO_ENV = "tenuki_go"
RLLIB_GO_MULTIAGENT_ENV = "tenuki_go_multiagent"


def _keywords(env_config: Any, factory: Any, env_name: str) -> dict[str, Any]:
    """``env_config`` (a dict, or RLlib's ``EnvContext``) as keyword arguments of ``factory``."""
    config = dict(env_config or {})
    allowed = sorted(name for name in inspect.signature(factory).parameters if name != "self")
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        raise GoError(f"unknown {env_name} env_config keys {unknown}; allowed: {allowed}")
    return config


def make_rllib_go_env(env_config: Any):
    """RLlib's env creator for ``"tenuki_go"``: a ``GoEnv`` built from ``env_config``."""
    from tenuki.envs.go.gym_env import GoEnv

    return GoEnv(**_keywords(env_config, GoEnv.__init__, RLLIB_GO_ENV))


def make_rllib_go_multiagent_env(env_config: Any):
    """RLlib's env creator for ``"tenuki_go_multiagent"``: ``PettingZooEnv`` around the AEC Go env."""
    from ray.rllib.env.wrappers.pettingzoo_env import PettingZooEnv

    from tenuki.envs.go.pettingzoo_env import GoAECEnv, env

    return PettingZooEnv(env(**_keywords(env_config, GoAECEnv.__init__, RLLIB_GO_MULTIAGENT_ENV)))


def register_rllib_envs() -> list[str]:
    """Register both Go environments with RLlib (idempotent); returns their names."""
    from ray.tune.registry import register_env  # lazy: envs never needs ray otherwise

    register_env(RLLIB_GO_ENV, make_rllib_go_env)
    register_env(RLLIB_GO_MULTIAGENT_ENV, make_rllib_go_multiagent_env)
    return [RLLIB_GO_ENV, RLLIB_GO_MULTIAGENT_ENV]
