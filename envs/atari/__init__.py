"""tenuki.envs.atari: Atari environments on ale-py under named evaluation protocols (``nature``,
``machado``, ``dopamine``); every setting that changes a score is part of the protocol and of every reported result.

Parts:

================  ====================================================================================
``protocols``     ``AtariProtocol``, ``PROTOCOLS``, ``NATURE``, ``MACHADO``, ``DOPAMINE``,
                  ``get_protocol``: frame skip,
                  sticky actions, action set, episode cap, life loss, noop starts, ...
``games``         ``canonical_game_name``, ``rom_id``, ``all_games``: game names as ale-py knows them
``vector``        ``AtariVecEnv`` (N emulators in ale-py's C++ vector env, same-step autoreset) ->
                  ``AtariStep``
``gym_env``       ``AtariGymEnv``, one environment as a ``gymnasium.Env``
``screen``        ``ScreenRecorder``: the RGB game screen of an environment, by an emulator in lockstep (videos)
``registration``  ``tenuki/Atari-v0`` for gymnasium (``ATARI_ENV_ID``, registered when this package is
                  imported), ``register_rllib_envs()`` for RLlib (ray imported inside, when called)
``errors``        ``AtariConfigError``: an unknown game, protocol or setting, named
================  ====================================================================================

This face loads every part (gymnasium and ale-py, never torch, never ray). Modules of this package
import each other by their defining module, never through this face.
"""

from __future__ import annotations

from tenuki.envs.atari.errors import AtariConfigError
from tenuki.envs.atari.games import all_games, canonical_game_name, rom_id
from tenuki.envs.atari.gym_env import AtariGymEnv
from tenuki.envs.atari.protocols import DOPAMINE, MACHADO, NATURE, PROTOCOLS, AtariProtocol, get_protocol
from tenuki.envs.atari.registration import ATARI_ENV_ID, RLLIB_ATARI_ENV, register_rllib_envs
from tenuki.envs.atari.screen import ScreenRecorder
from tenuki.envs.atari.vector import AtariStep, AtariVecEnv

__all__ = [
    "ATARI_ENV_ID",
    "DOPAMINE",
    "MACHADO",
    "NATURE",
    "PROTOCOLS",
    "RLLIB_ATARI_ENV",
    "AtariConfigError",
    "AtariGymEnv",
    "AtariProtocol",
    "AtariStep",
    "AtariVecEnv",
    "ScreenRecorder",
    "all_games",
    "canonical_game_name",
    "get_protocol",
    "register_rllib_envs",
    "rom_id",
]
