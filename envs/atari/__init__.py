"""Atari environments on ale-py under named evaluation protocols (``nature``, ``machado``).

- ``protocols``: ``AtariProtocol``, ``PROTOCOLS``, ``get_protocol`` — every setting that changes a score;
- ``vector``: ``AtariVecEnv`` (N emulators in ale-py's C++ vector env, same-step autoreset) -> ``AtariStep``;
- ``gym_env``: ``AtariGymEnv``, one environment as a ``gymnasium.Env``;
- ``registration``: ``tenuki/Atari-v0`` for gymnasium, ``register_rllib_envs()`` for RLlib (ray imported
  lazily).
"""

from tenuki.envs.atari.errors import AtariConfigError
from tenuki.envs.atari.games import all_games, canonical_game_name, rom_id
from tenuki.envs.atari.gym_env import AtariGymEnv
from tenuki.envs.atari.protocols import MACHADO, NATURE, PROTOCOLS, AtariProtocol, get_protocol
from tenuki.envs.atari.registration import ATARI_ENV_ID, RLLIB_ATARI_ENV, register_rllib_envs
from tenuki.envs.atari.vector import AtariStep, AtariVecEnv

__all__ = [
    "ATARI_ENV_ID",
    "MACHADO",
    "NATURE",
    "PROTOCOLS",
    "RLLIB_ATARI_ENV",
    "AtariConfigError",
    "AtariGymEnv",
    "AtariProtocol",
    "AtariStep",
    "AtariVecEnv",
    "all_games",
    "canonical_game_name",
    "get_protocol",
    "register_rllib_envs",
    "rom_id",
]
