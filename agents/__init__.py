"""tenuki.agents: the learning agents (torch, never ray), above ``tenuki.envs`` and ``tenuki.search``.

Parts:

=================  =====================================================================================
``go``             the Go agents: networks and their checkpoints, the batched evaluator that search
                   calls, AlphaGo's features, rollout policy, expert-game dataset and supervised
                   training (``tenuki.agents.go``)
``dqn``            DQN for Atari: Q-networks, frame replay (prioritized, n-step), agent, checkpoints,
                   training and evaluation loops (``tenuki.agents.dqn``)
``checkpoint_io``  the file side of every checkpoint (safetensors + JSON sidecar, atomic, hashed, never
                   unpickled), shared by the Go and the DQN formats
``torch_cpu``      ``configure_torch_cpu``: process-wide torch settings for training on the CPU
=================  =====================================================================================

Everything loads on first use (PEP 562 ``__getattr__``): importing one module of ``tenuki.agents.go``
(its numba rollout policy, its dataset) does not import torch through this face.
"""

from __future__ import annotations

from tenuki.common.lazy import lazy_exports

# name -> defining module (a part: the module itself), imported when the name is first asked for
_LAZY = {
    "dqn": "tenuki.agents.dqn",
    "go": "tenuki.agents.go",
    "checkpoint_io": "tenuki.agents.checkpoint_io",
    "configure_torch_cpu": "tenuki.agents.torch_cpu",
}

__all__ = ["checkpoint_io", "configure_torch_cpu", "dqn", "go"]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
