"""tenuki.selfplay.atari: DQN on Atari spread over Ray, next to the single-process trainer of
``tenuki.agents.dqn``.

Parts:

=================  ====================================================================================
``apex``           Ape-X (Horgan et al. 2018): ``run_apex`` / ``ApexRun``, the learner in the driver
                   with its replay, per-actor epsilons (``apex_epsilons``), committed checkpoints
                   (``ApexState``), ``ApexRunError``
``apex_actors``    the actor side: ``ApexActor`` (a Ray actor stepping a vector env), ``ChunkCollector``
                   and ``add_chunk`` (experience in chunks, frames sent once), ``evaluate_remote``
``rllib``          RLlib's DQN on the same Atari wrappers, a baseline: ``run_rllib``,
                   ``build_rllib_config``, ``register_rllib_atari_envs``, ``RLlibRunError``
=================  ====================================================================================

Every part imports Ray (and the learner torch), so this face loads them on first use (PEP 562
``__getattr__``): importing the package costs nothing. Modules of this package import each other by
their defining module, never through this face.
"""

from __future__ import annotations

from tenuki.common.lazy import lazy_exports

# name -> defining module, imported when the name is first asked for
_LAZY = {
    "ApexRun": "tenuki.selfplay.atari.apex",
    "ApexRunError": "tenuki.selfplay.atari.apex",
    "ApexState": "tenuki.selfplay.atari.apex",
    "apex_epsilons": "tenuki.selfplay.atari.apex",
    "run_apex": "tenuki.selfplay.atari.apex",
    "ApexActor": "tenuki.selfplay.atari.apex_actors",
    "ChunkCollector": "tenuki.selfplay.atari.apex_actors",
    "add_chunk": "tenuki.selfplay.atari.apex_actors",
    "evaluate_remote": "tenuki.selfplay.atari.apex_actors",
    "RLlibRunError": "tenuki.selfplay.atari.rllib",
    "build_rllib_config": "tenuki.selfplay.atari.rllib",
    "register_rllib_atari_envs": "tenuki.selfplay.atari.rllib",
    "run_rllib": "tenuki.selfplay.atari.rllib",
}

__all__ = [
    "ApexActor",
    "ApexRun",
    "ApexRunError",
    "ApexState",
    "ChunkCollector",
    "RLlibRunError",
    "add_chunk",
    "apex_epsilons",
    "build_rllib_config",
    "evaluate_remote",
    "register_rllib_atari_envs",
    "run_apex",
    "run_rllib",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
