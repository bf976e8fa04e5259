"""The shipped YAML configs (package data ``tenuki.configs``): one folder per kind of job.

``selfplay/`` (``tenuki selfplay launch``), ``rl/`` (``tenuki train rl-policy|value``), ``sl/``
(``tenuki train sl-policy|sl-value``), ``atari/`` (``tenuki atari train``), ``lecture/`` (``tenuki lecture
run``). A command's ``--config`` takes a path, or a name looked up in its kind's folder from any working
folder: ``--config go9x9`` is ``selfplay/go9x9.yaml`` for ``tenuki selfplay launch``
(``tenuki.common.config_files.resolve_config``).
"""
