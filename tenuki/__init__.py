"""tenuki: reinforcement learning for Go and Atari, as one import namespace.

The rooms (ARCHITECTURE.md), ground floor first; each may import only the ones before it:

- ``tenuki.common``: typed YAML configs, shipped configs by name, atomic writes;
- ``tenuki.envs``: Go rules and Atari environments;
- ``tenuki.search``: MCTS and the players built on it (no torch);
- ``tenuki.agents``: networks, evaluators, DQN;
- ``tenuki.play``: GTP engine, terminal game, match runner;
- ``tenuki.selfplay``: everything on Ray;
- ``tenuki.commands``: the ``tenuki`` command, the only place that parses argv.

``tenuki.lecture`` (the course's models) uses ``tenuki.common`` and torch only; ``tenuki.configs`` holds
the shipped YAML configs. The import-linter contracts in ``pyproject.toml`` keep the arrows one way.
"""

from __future__ import annotations

DISTRIBUTION = "tenuki-rl"  # the name on PyPI ("tenuki" belongs to another project); the import name is tenuki


def version() -> str:
    """The installed distribution's version ("0+unknown" when run from a checkout that is not installed).

    A function, not a module constant: reading package metadata costs milliseconds that every
    ``import tenuki.envs.go`` would otherwise pay."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as distribution_version

    try:
        return distribution_version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"


__all__ = ["DISTRIBUTION", "version"]
