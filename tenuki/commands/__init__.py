"""The ``tenuki`` command, one module a sub-command (KataGo's ``cpp/command/`` layout); the only place that
parses argv.

``main`` assembles the parser from each module's ``add_parser(subparsers)`` and dispatches: ``demo``,
``gtp``, ``play``, ``match``, ``selfplay``, ``data``, ``train`` (with ``train_rollout``), ``eval``,
``atari``, ``lecture``. A module parses options and prints; the work is done by the rooms below it.
Nothing is imported here, so ``python -m tenuki.commands.play`` runs a module that is not yet loaded.
"""

__all__: list[str] = []
