"""The Go networks by name: the registry that checkpoints use to rebuild a network.

A checkpoint's sidecar records ``architecture`` and ``kwargs`` (``net.init_kwargs()``);
``build_network(architecture, **kwargs)`` makes the same network again (with fresh weights).
"""

from __future__ import annotations

from typing import Any

from tenuki.agents.go.networks.alphago import AlphaGoPolicyNet, AlphaGoValueNet
from tenuki.agents.go.networks.base import GoNetwork
from tenuki.agents.go.networks.resnet import AlphaZeroNet

ARCHITECTURES: dict[str, type[GoNetwork]] = {
    cls.architecture: cls for cls in (AlphaZeroNet, AlphaGoPolicyNet, AlphaGoValueNet)
}


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
