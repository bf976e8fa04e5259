"""tenuki.agents.dqn: DQN for Atari (Mnih et al. 2015) and its variants (double, dueling, prioritized,
n-step), trained and evaluated under the named protocols of ``tenuki.envs.atari``.

Parts:

==============  ========================================================================================
``config``      ``DQNConfig`` (sections ``env``, ``agent``, ``train``, and ``backend``) from YAML:
                ``load_config``, ``config_from_dict``, ``dump_config``, ``DQNConfigError``; no torch
``scores``      published reference scores: ``human_normalized``, ``reference_scores``,
                ``comparison_table`` (random / human / Nature DQN)
``networks``    ``NatureQNetwork`` (plain or dueling head), ``build_q_network``
``replay``      ``FrameReplay``: each frame stored once, stacks rebuilt at sample time, n-step returns,
                uniform or proportional prioritized sampling -> ``ReplaySample``; ``ReplayError``,
                ``ReplayMemoryError``, ``ReplayFileError``
``sumtree``     the sum tree of prioritized replay, as numba kernels over a flat array
``agent``       ``DQNAgent``: epsilon-greedy acting and one gradient update on a replay sample;
                ``epsilon_at``, ``epsilons_at`` / ``final_epsilons`` (a spread across environments),
                ``priority_beta_at``
``checkpoint``  ``save_q_network`` / ``load_q_network``, ``save_agent`` / ``load_agent`` (network,
                optimizer, counters), ``read_dqn_meta``: safetensors + a JSON sidecar, never unpickled;
                ``resolve_dqn_checkpoint`` / ``shipped_dqn_networks``: the networks shipped by name (``pong``)
``train``       ``DQNTrainer`` and ``train_dqn`` (``tenuki atari train``, backend ``native``): a run
                directory that resumes; ``read_metrics``, ``plot_learning_curve``
``evaluate``    ``evaluate_policy`` under a named protocol (``tenuki atari evaluate``), ``write_video``
==============  ========================================================================================

``config`` and ``scores`` load with the package; the other parts load on first use (PEP 562
``__getattr__``): they import torch, numba or ale-py. Modules of this package import each other by
their defining module, never through this face.
"""

from __future__ import annotations

from tenuki.agents.dqn.config import (
    AgentConfig,
    DQNConfig,
    DQNConfigError,
    EnvConfig,
    TrainConfig,
    config_from_dict,
    dump_config,
    load_config,
)
from tenuki.agents.dqn.scores import comparison_table, human_normalized, reference_scores
from tenuki.common.lazy import lazy_exports

# name -> defining module, imported when the name is first asked for (torch, numba, ale-py)
_LAZY = {
    "NatureQNetwork": "tenuki.agents.dqn.networks",
    "build_q_network": "tenuki.agents.dqn.networks",
    "FrameReplay": "tenuki.agents.dqn.replay",
    "ReplayError": "tenuki.agents.dqn.replay",
    "ReplayFileError": "tenuki.agents.dqn.replay",
    "ReplayMemoryError": "tenuki.agents.dqn.replay",
    "ReplaySample": "tenuki.agents.dqn.replay",
    "DQNAgent": "tenuki.agents.dqn.agent",
    "DQNAgentError": "tenuki.agents.dqn.agent",
    "epsilon_at": "tenuki.agents.dqn.agent",
    "epsilons_at": "tenuki.agents.dqn.agent",
    "final_epsilons": "tenuki.agents.dqn.agent",
    "priority_beta_at": "tenuki.agents.dqn.agent",
    "DQNCheckpointError": "tenuki.agents.dqn.checkpoint",
    "DQNCheckpointMeta": "tenuki.agents.dqn.checkpoint",
    "load_agent": "tenuki.agents.dqn.checkpoint",
    "load_q_network": "tenuki.agents.dqn.checkpoint",
    "resolve_dqn_checkpoint": "tenuki.agents.dqn.checkpoint",
    "shipped_dqn_networks": "tenuki.agents.dqn.checkpoint",
    "read_dqn_meta": "tenuki.agents.dqn.checkpoint",
    "save_agent": "tenuki.agents.dqn.checkpoint",
    "save_q_network": "tenuki.agents.dqn.checkpoint",
    "DQNTrainer": "tenuki.agents.dqn.train",
    "RunDirError": "tenuki.agents.dqn.train",
    "load_run_config": "tenuki.agents.dqn.train",
    "plot_learning_curve": "tenuki.agents.dqn.train",
    "read_metrics": "tenuki.agents.dqn.train",
    "train_dqn": "tenuki.agents.dqn.train",
    "EvaluationError": "tenuki.agents.dqn.evaluate",
    "evaluate_policy": "tenuki.agents.dqn.evaluate",
    "write_video": "tenuki.agents.dqn.evaluate",
}

__all__ = [
    "AgentConfig",
    "DQNAgent",
    "DQNAgentError",
    "DQNCheckpointError",
    "DQNCheckpointMeta",
    "DQNConfig",
    "DQNConfigError",
    "DQNTrainer",
    "EnvConfig",
    "EvaluationError",
    "FrameReplay",
    "NatureQNetwork",
    "ReplayError",
    "ReplayFileError",
    "ReplayMemoryError",
    "ReplaySample",
    "RunDirError",
    "TrainConfig",
    "build_q_network",
    "comparison_table",
    "config_from_dict",
    "dump_config",
    "epsilon_at",
    "epsilons_at",
    "evaluate_policy",
    "final_epsilons",
    "human_normalized",
    "load_agent",
    "load_config",
    "load_q_network",
    "load_run_config",
    "plot_learning_curve",
    "priority_beta_at",
    "read_dqn_meta",
    "read_metrics",
    "reference_scores",
    "resolve_dqn_checkpoint",
    "save_agent",
    "save_q_network",
    "shipped_dqn_networks",
    "train_dqn",
    "write_video",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
