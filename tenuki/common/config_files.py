"""Shipped configs found by name: ``--config go9x9`` is the packaged ``tenuki/configs/selfplay/go9x9.yaml``.

The YAML configs are package data (``tenuki.configs``, mapped from the repository's ``configs/`` folder),
one folder per kind of job (``selfplay``, ``rl``, ``sl``, ``atari``, ``lecture``). A command looks a name up
in its own kind's folder through ``importlib.resources``, so the same name works from any folder, in a
checkout or in an installed wheel. A value that looks like a path (it names an existing file, holds a
folder separator or ends in ``.yaml`` / ``.yml``) is a path, read as it is, relative to the current folder.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from tenuki.common.yaml_config import ConfigError

CONFIG_PACKAGE = "tenuki.configs"
CONFIG_SUFFIXES = (".yaml", ".yml")


class ConfigNotFoundError(ConfigError):
    """A ``--config`` name that is neither a file nor a shipped config of the command's kind; the
    message lists the names that are (a ConfigError, so a command that reports bad configs reports it)."""


def _kind_folder(kind: str) -> Path:
    """The folder of the shipped configs of ``kind`` (a real folder: wheels are installed unpacked)."""
    return Path(str(resources.files(CONFIG_PACKAGE).joinpath(kind)))


def config_names(kind: str) -> list[str]:
    """The names of the shipped configs of ``kind`` (``"selfplay"`` -> ``["go9x9", "smoke"]``), sorted."""
    folder = _kind_folder(kind)
    if not folder.is_dir():
        return []
    return sorted(path.stem for path in folder.iterdir() if path.suffix in CONFIG_SUFFIXES)


def looks_like_path(value: str | os.PathLike) -> bool:
    """Whether ``value`` is meant as a file path rather than a config name."""
    text = os.fspath(value)
    return (Path(text).is_file() or os.sep in text or (os.altsep is not None and os.altsep in text)
            or text.endswith(CONFIG_SUFFIXES))


def resolve_config(value: str | os.PathLike, kind: str) -> Path:
    """The config file ``value`` stands for: a path as it is (its loader reports a missing file), or the
    shipped config of ``kind`` with that name.

    Raises ConfigNotFoundError for a name that is not shipped, listing the names that are."""
    if looks_like_path(value):
        return Path(value)
    name = os.fspath(value)
    path = _kind_folder(kind) / f"{name}.yaml"
    if path.is_file():
        return path
    known = ", ".join(config_names(kind)) or "none"
    raise ConfigNotFoundError(f"no config {name!r}: give a YAML file or one of the shipped {kind} configs: {known}")
