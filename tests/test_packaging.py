"""The wheel a user installs: only the ``tenuki`` namespace, every package listed, and it works from any folder.

The wheel is built from a copy of the checkout (an in-tree build would leave ``build/lib`` behind, whose stale
files setuptools puts in the next wheel), installed into a fresh virtualenv that borrows the dependencies
of ``.venv`` through a ``.pth`` file (nothing is downloaded), and run from a temporary folder outside the
checkout: ``tenuki gtp`` answers ``genmove b`` and ``tenuki selfplay launch --config smoke`` finds its
packaged config and writes its run under that folder's ``./runs``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# top-level folders of the checkout that are not part of the package (or are build and run outputs)
NOT_SOURCE = {".venv", ".git", "build", "dist", "runs", "data", "games", ".pytest_cache", ".ruff_cache",
              ".import_linter_cache"}
UNINSTALLED_ROOTS = {"bench", "tests"}  # ARCHITECTURE.md: not installed


def copy_source_tree(destination: Path) -> Path:
    """A copy of the checkout without its virtualenv, VCS folder, build / run outputs and caches."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {name for name in names if name == "__pycache__" or name.endswith((".egg-info", ".nbi", ".nbc"))}
        if Path(folder) == ROOT:
            skipped |= NOT_SOURCE & set(names)
        return skipped

    shutil.copytree(ROOT, destination, ignore=ignore)
    return destination


def _run(command: list[str], *, cwd: Path, timeout: float, stdin: str | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout,
                          check=False, env=env)


def _user_env() -> dict[str, str]:
    """A user's environment: no PYTHONPATH into the checkout, no Ray variables of a test cluster."""
    return {key: value for key, value in os.environ.items()
            if key != "PYTHONPATH" and not key.startswith("RAY_")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = copy_source_tree(work / "source")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                  "--wheel-dir", str(work / "dist"), str(source)], cwd=work, timeout=300)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels = list((work / "dist").glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv with the wheel installed; its dependencies are .venv's (a .pth line), not downloads."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=venv.parent, timeout=120)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site_packages = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              cwd=venv.parent, timeout=60).stdout.strip())
    # a plain path line: .venv's packages become importable, but its .pth files (the editable install's
    # finder of the checkout) are not run
    (site_packages / "dependencies-from-dot-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                      str(wheel)], cwd=venv.parent, timeout=300)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    return venv


@pytest.fixture()
def elsewhere(tmp_path: Path) -> Path:
    """A working folder outside the checkout."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    assert ROOT not in folder.parents
    return folder


def test_every_package_folder_is_listed_in_pyproject():
    """A subpackage missing from [tool.setuptools] packages is silently left out of the wheel."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    mapping = PYPROJECT["tool"]["setuptools"]["package-dir"]
    found = set()
    for package, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            if "__pycache__" not in parts:
                found.add(".".join((package, *parts)))
    assert found - listed == set(), "folders with __init__.py that the wheel would leave out"
    assert listed - found == set(), "listed packages without a folder"
    mapped_roots = {Path(folder).parts[0] for folder in mapping.values()}
    unmapped = {init.parent.name for init in ROOT.glob("*/__init__.py")} - mapped_roots - UNINSTALLED_ROOTS
    assert unmapped == set(), "top-level packages that are neither mapped into tenuki nor bench/tests"


def test_no_source_or_test_file_is_git_ignored():
    """A file the tests read but .gitignore hides (a fixture under a folder called ``data/``) passes here and is
    missing from every clean clone; run in a checkout, this fails the moment such a file is created."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "ls-files", "--others", "--ignored", "--exclude-standard", "--directory"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    generated = ("__pycache__/", ".pyc", ".nbi", ".nbc", ".egg-info/")
    hidden = [path for path in proc.stdout.splitlines()
              if Path(path).parts[0] not in NOT_SOURCE and not path.endswith(generated)]
    assert hidden == [], "files in source folders that .gitignore keeps out of the repository"


def test_wheel_installs_only_the_tenuki_namespace(wheel: Path):
    assert re.fullmatch(r"tenuki_rl-[^-]+-py3-none-any\.whl", wheel.name), wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    dist_info = {name for name in top_level if name.endswith(".dist-info")}
    assert len(dist_info) == 1 and re.fullmatch(r"tenuki_rl-[^-]+\.dist-info", dist_info.pop())
    assert top_level - {name for name in top_level if name.endswith(".dist-info")} == {"tenuki"}
    # package data: the shipped configs found by name and the shipped networks
    for data in ("tenuki/configs/selfplay/smoke.yaml", "tenuki/configs/selfplay/go9x9.yaml",
                 "tenuki/configs/sl/policy19-cpu96.yaml", "tenuki/configs/atari/pong.yaml",
                 "tenuki/configs/lecture/cnn.yaml", "tenuki/configs/openings/9x9.txt",
                 "tenuki/configs/tournament/alphago19.yaml",
                 "tenuki/agents/go/weights/az9x9.safetensors"):
        assert data in names, data
    assert not any(name.startswith(("tenuki/bench", "tenuki/tests", "bench/", "tests/")) for name in names)


@pytest.mark.slow  # the fresh install compiles the numba kernels once (~1 minute on 2 busy cores)
@pytest.mark.timeout(900)
def test_installed_gtp_engine_answers_from_another_folder(fresh_venv: Path, elsewhere: Path):
    python = fresh_venv / "bin" / "python"
    code = ("import tenuki, tenuki.envs.go, tenuki.configs; "
            "print(tenuki.__file__); print(tenuki.envs.go.__file__); print(tenuki.configs.__file__)")
    where = _run([str(python), "-c", code], cwd=elsewhere, timeout=300, env=_user_env())
    assert where.returncode == 0, where.stderr
    for module_file in where.stdout.split():
        assert Path(module_file).is_relative_to(fresh_venv), f"{module_file} is not the installed copy"
    gtp = _run([str(fresh_venv / "bin" / "tenuki"), "gtp"], cwd=elsewhere, timeout=600,
               stdin="boardsize 9\ngenmove b\nquit\n", env=_user_env())
    answers = [line for line in gtp.stdout.splitlines() if line.startswith(("=", "?"))]
    assert gtp.returncode == 0 and len(answers) == 3, gtp.stdout + gtp.stderr[-3000:]
    assert re.fullmatch(r"= ([A-HJ][1-9]|pass|resign)", answers[1], flags=re.IGNORECASE), answers


@pytest.mark.slow  # the smoke run of `make run`: about 30 s once the kernels are compiled, 2 minutes at most
@pytest.mark.timeout(900)
def test_installed_selfplay_smoke_run_writes_under_the_current_folder(fresh_venv: Path, elsewhere: Path):
    launch = _run([str(fresh_venv / "bin" / "tenuki"), "selfplay", "launch", "--config", "smoke", "--plain"],
                  cwd=elsewhere, timeout=600, env=_user_env())
    assert launch.returncode == 0, launch.stdout[-2000:] + launch.stderr[-3000:]
    assert "stopped (version limit (3))" in launch.stdout
    runs = list((elsewhere / "runs").glob("smoke-*"))
    assert len(runs) == 1, list(elsewhere.rglob("*"))[:20]
    assert (runs[0] / "state.json").is_file() and (runs[0] / "checkpoints" / "v000003.safetensors").is_file()
    assert not list(fresh_venv.rglob("runs")), "nothing is written into the installed package"
