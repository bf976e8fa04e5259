"""The shipped YAML configs (package data ``tenuki.configs``): one folder per kind of job.

A command's ``--config`` takes a path, or a name looked up here: ``--config go9x9`` is
``selfplay/go9x9.yaml`` for ``tenuki selfplay launch`` (``tenuki.common.config_files.resolve_config``).
"""
