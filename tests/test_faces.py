"""Each package's ``__init__.py`` is its face (ARCHITECTURE.md): its docstring names every part, its
``__all__`` lists names that resolve to that package's own parts, and it stays light: importing the
rules of Go or the search never imports torch, and no face of ``envs`` or ``agents`` imports ray."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
import types

import pytest

FACES = [
    "tenuki.envs",
    "tenuki.envs.go",
    "tenuki.envs.atari",
    "tenuki.agents",
    "tenuki.agents.go",
    "tenuki.agents.go.networks",
    "tenuki.agents.go.dataset",
    "tenuki.agents.go.rollout",
    "tenuki.agents.go.sl",
    "tenuki.agents.dqn",
    "tenuki.lecture",
]


def _parts(package: types.ModuleType) -> list[str]:
    """The public modules and subpackages of ``package`` (a leading underscore marks a private one)."""
    return sorted(info.name for info in pkgutil.iter_modules(package.__path__) if not info.name.startswith("_"))


@pytest.mark.parametrize("face", FACES)
def test_every_name_of_a_face_resolves_to_its_own_parts(face: str):
    package = importlib.import_module(face)
    names = package.__all__
    assert len(names) == len(set(names)), f"{face}.__all__ lists a name twice"
    parts = set(_parts(package))
    for name in names:
        value = getattr(package, name)  # a lazy name is imported here
        if isinstance(value, types.ModuleType):
            assert value.__name__ == f"{face}.{name}", f"{face}.{name} is the module {value.__name__}"
            continue
        # A name equal to a part's name would be replaced by that module once the part is imported.
        assert name not in parts, f"{face}.{name} shadows the module {face}.{name}"
        if isinstance(value, type) or inspect.isfunction(value) or hasattr(value, "py_func"):  # numba's too
            defined_in = value.__module__
            assert defined_in.startswith(face + "."), f"{face}.{name} comes from {defined_in}, not a part of {face}"
    assert set(names) <= set(dir(package))


@pytest.mark.parametrize("face", FACES)
def test_the_docstring_of_a_face_names_every_part(face: str):
    package = importlib.import_module(face)
    missing = [part for part in _parts(package) if f"``{part}``" not in (package.__doc__ or "")]
    assert not missing, f"{face}'s docstring does not name its parts {missing}"


@pytest.mark.parametrize("face", FACES)
def test_an_unknown_name_is_an_attribute_error(face: str):
    package = importlib.import_module(face)
    with pytest.raises(AttributeError, match="no_such_name"):
        package.no_such_name  # noqa: B018


def _imported_after(statement: str) -> set[str]:
    """The top-level packages in ``sys.modules`` of a fresh interpreter after ``statement``."""
    code = f"import sys\n{statement}\nprint(' '.join(sorted({{name.split('.')[0] for name in sys.modules}})))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


@pytest.mark.parametrize(("module", "forbidden"), [
    ("tenuki.envs.go", {"torch", "ray", "gymnasium"}),  # the rules; the environments load on first use
    ("tenuki.envs.atari", {"torch", "ray"}),
    ("tenuki.search", {"torch", "ray"}),
    ("tenuki.agents.go.dataset", {"torch", "ray"}),
    ("tenuki.agents.go.rollout", {"torch", "ray"}),
    ("tenuki.agents.go.sl.config", {"torch", "ray"}),  # validating an SL config
    ("tenuki.agents.dqn.config", {"torch", "ray"}),
    ("tenuki.lecture", {"torch", "ray"}),
])
def test_a_light_import_stays_light(module: str, forbidden: set[str]):
    assert not _imported_after(f"import {module}") & forbidden


def test_no_face_of_envs_or_agents_imports_ray():
    """Every name of every face resolved: ray is imported only when an RLlib registration is called."""
    statement = (f"import importlib\nfor face in {FACES!r}:\n    package = importlib.import_module(face)\n"
                 "    for name in package.__all__:\n        getattr(package, name)")
    imported = _imported_after(statement)
    assert "torch" in imported  # the statement did load the heavy parts
    assert "ray" not in imported
