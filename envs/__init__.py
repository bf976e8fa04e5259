"""tenuki.envs: the environments, the room above ``tenuki.common`` and below everything else.

Parts:

==========  ==========================================================================================
``go``      the rules of Go (numba kernels, ``Board``), coordinates, SGF, scoring, observation planes,
            gymnasium / PettingZoo / RLlib environments (``tenuki.envs.go``)
``atari``   Atari on ale-py under named evaluation protocols (``nature``, ``machado``, ``dopamine``): vector and
            gymnasium environments, RLlib registration (``tenuki.envs.atari``)
==========  ==========================================================================================

Each part loads on first use (PEP 562 ``__getattr__``): ``import tenuki.envs.go`` does not pay for
ale-py, nor ``tenuki.envs.atari`` for numba. Nothing here imports torch; ray is imported only inside
the RLlib registration functions, when they are called.
"""

from __future__ import annotations

import importlib
from types import ModuleType

_PARTS = ("atari", "go")

__all__ = ["atari", "go"]


def __getattr__(name: str) -> ModuleType:
    if name not in _PARTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")  # the import binds it here too


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
