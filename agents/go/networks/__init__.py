"""tenuki.agents.go.networks: the Go networks (torch), their registry by name and their checkpoints.

====================  =================================  =========================================
architecture          class                              ``forward`` returns
====================  =================================  =========================================
``alphazero_resnet``  ``resnet.AlphaZeroNet``            (policy_logits [B, N*N+1], value [B])
``alphago_policy``    ``alphago.AlphaGoPolicyNet``       policy_logits [B, N*N+1] (pass learned)
``alphago_value``     ``alphago.AlphaGoValueNet``        value [B]
====================  =================================  =========================================

Every one also has ``evaluate(planes) -> (policy_logits [B, N*N+1], value [B])``, the pair search
needs (``base``), and ``init_kwargs()``, so that ``build_network(net.architecture,
**net.init_kwargs())`` makes the same network again (with fresh weights).

Parts:

==============  =====================================================================================
``base``        ``GoNetwork``: the ``evaluate`` protocol and the constructor record every network shares
``alphago``     ``AlphaGoPolicyNet`` (p_sigma / p_rho), ``AlphaGoValueNet`` (v_theta),
                ``AlphaGoPolicyValue`` (the two as one network), ``copy_policy_trunk``
``resnet``      ``AlphaZeroNet``, the AlphaGo Zero / AlphaZero dual-head residual network
``registry``    ``ARCHITECTURES`` (name -> class) and ``build_network``
``checkpoint``  ``save_checkpoint`` / ``load_checkpoint`` / ``read_checkpoint_meta``: safetensors
                weights + a JSON sidecar, written atomically, never unpickled; ``CheckpointError``
==============  =====================================================================================

Every part imports torch, so this face loads them all. Modules of this package import each other by
their defining module, never through this face.
"""

from __future__ import annotations

from tenuki.agents.go.networks.alphago import (
    AlphaGoPolicyNet,
    AlphaGoPolicyValue,
    AlphaGoValueNet,
    copy_policy_trunk,
)
from tenuki.agents.go.networks.base import GoNetwork
from tenuki.agents.go.networks.checkpoint import (
    CheckpointError,
    CheckpointMeta,
    load_checkpoint,
    read_checkpoint_meta,
    save_checkpoint,
)
from tenuki.agents.go.networks.registry import ARCHITECTURES, build_network
from tenuki.agents.go.networks.resnet import AlphaZeroNet

__all__ = [
    "ARCHITECTURES",
    "AlphaGoPolicyNet",
    "AlphaGoPolicyValue",
    "AlphaGoValueNet",
    "AlphaZeroNet",
    "CheckpointError",
    "CheckpointMeta",
    "GoNetwork",
    "build_network",
    "copy_policy_trunk",
    "load_checkpoint",
    "read_checkpoint_meta",
    "save_checkpoint",
]
