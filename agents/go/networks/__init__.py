"""The Go networks by name: the registry that checkpoints use to rebuild a network.

====================  =================================  =========================================
architecture          class                              ``forward`` returns
====================  =================================  =========================================
``alphazero_resnet``  ``resnet.AlphaZeroNet``            (policy_logits [B, N*N+1], value [B])
``alphago_policy``    ``alphago_nets.AlphaGoPolicyNet``  policy_logits [B, N*N+1] (pass learned)
``alphago_value``     ``alphago_nets.AlphaGoValueNet``   value [B]
====================  =================================  =========================================

Every one also has ``evaluate(planes) -> (policy_logits [B, N*N+1], value [B])``, the pair search
needs (``network_base``), and ``init_kwargs()``, so that ``build_network(net.architecture,
**net.init_kwargs())`` makes the same network again (with fresh weights).
"""

from __future__ import annotations

from typing import Any

from tenuki.agents.go.networks.alphago import AlphaGoPolicyNet, AlphaGoPolicyValue, AlphaGoValueNet
from tenuki.agents.go.networks.base import GoNetwork
from tenuki.agents.go.networks.resnet import AlphaZeroNet

ARCHITECTURES: dict[str, type[GoNetwork]] = {
    cls.architecture: cls for cls in (AlphaZeroNet, AlphaGoPolicyNet, AlphaGoValueNet)
}

__all__ = [
    "ARCHITECTURES",
    "AlphaGoPolicyNet",
    "AlphaGoPolicyValue",
    "AlphaGoValueNet",
    "AlphaZeroNet",
    "GoNetwork",
    "build_network",
]


def build_network(architecture: str, **kwargs: Any) -> GoNetwork:
    """A freshly initialised network of the named architecture.

    Raises ``ValueError`` for an unknown architecture (naming the known ones), an unknown keyword
    argument, or an argument of the wrong type or range (naming it).
    """
    cls = ARCHITECTURES.get(architecture)
    if cls is None:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ValueError(f"unknown network architecture {architecture!r}; known: {known}")
    try:
        return cls(**kwargs)
    except TypeError as exc:  # unknown or missing keyword argument
        raise ValueError(f"bad arguments for {architecture!r}: {exc}") from exc
