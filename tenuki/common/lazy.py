"""Lazy re-exports for package faces (PEP 562): a face lists every public name in ``__all__``, and the
names whose modules are heavy (torch, Ray, gymnasium, a numba compile) are imported on first use.

    __getattr__, __dir__ = lazy_exports(__name__, {"TorchEvaluator": "tenuki.agents.go.evaluator", ...})

A value maps a name to the module that defines it; a name that is the last part of its module
(``"sl": "tenuki.agents.go.sl"``) gives the module itself. The first access binds the name in the
package, so later ones cost nothing.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of the package ``package`` (its ``__name__``, while it is being
    imported) for the lazily imported ``names``."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        imported = importlib.import_module(module)
        value = imported if module == f"{package}.{name}" else getattr(imported, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
