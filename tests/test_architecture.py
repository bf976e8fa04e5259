"""The layers of ARCHITECTURE.md as tests: the import-linter contracts of pyproject.toml hold, and they bite.

grimp (import-linter's graph) finds a package's modules by walking the folder of ``tenuki``; the editable
install maps the rooms into ``tenuki`` from other folders, so the contracts are checked on a copy installed
with ``pip install --target`` and from inside it (``lint-imports`` puts the current folder first on
sys.path), as ``make lint-imports`` does.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.test_packaging import copy_source_tree

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# a back-arrow for each contract: (module written into the installed copy, its import)
BACK_ARROWS = {
    "layers": ("tenuki/search/_back_arrow_layers.py", "import tenuki.agents.go.networks\n"),
    "lecture": ("tenuki/lecture/_back_arrow_lecture.py", "import tenuki.envs.go\n"),
    "no-torch-below-agents": ("tenuki/search/_back_arrow_torch.py", "import torch\n"),
    "ray-in-selfplay-only": ("tenuki/play/_back_arrow_ray.py", "import ray\n"),
}


@pytest.fixture(scope="module")
def installed_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("lint")
    source = copy_source_tree(work / "source")
    target = work / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                           "--no-compile", "--target", str(target), str(source)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return target


def _lint(site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")], cwd=site,
                          capture_output=True, text=True, timeout=300, check=False)


def test_every_contract_is_kept(installed_copy: Path):
    result = _lint(installed_copy)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    contracts = len(PYPROJECT["tool"]["importlinter"]["contracts"])
    assert f"Contracts: {contracts} kept, 0 broken." in result.stdout, result.stdout[-3000:]
    analysed = re.search(r"Analyzed (\d+) files", result.stdout)
    # the whole namespace, not only tenuki/ of the checkout (the editable install's blind spot)
    assert analysed and int(analysed.group(1)) > 100, result.stdout[-2000:]


def test_each_contract_breaks_on_a_back_arrow(installed_copy: Path, tmp_path: Path):
    assert set(BACK_ARROWS) == {contract["id"] for contract in PYPROJECT["tool"]["importlinter"]["contracts"]}
    broken_site = tmp_path / "site"
    subprocess.run(["cp", "-a", str(installed_copy), str(broken_site)], check=True)
    for module, text in BACK_ARROWS.values():
        (broken_site / module).write_text(text)
    result = _lint(broken_site)
    assert result.returncode != 0
    assert f"Contracts: 0 kept, {len(BACK_ARROWS)} broken." in result.stdout, result.stdout[-6000:]
    for module, _ in BACK_ARROWS.values():
        assert module.removesuffix(".py").replace("/", ".") in result.stdout, module


def test_only_the_commands_parse_argv():
    """ARCHITECTURE.md: tenuki/commands is the only place that parses argv (bench/ scripts excepted)."""
    offenders = []
    for folder in PYPROJECT["tool"]["setuptools"]["package-dir"].values():
        for path in (ROOT / folder).rglob("*.py"):
            if ROOT / "tenuki" / "commands" in path.parents:
                continue
            text = path.read_text()
            if re.search(r"^\s*(import argparse|from argparse import)|sys\.argv|__name__ == .__main__.", text,
                         flags=re.MULTILINE):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
