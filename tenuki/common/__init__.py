"""The ground floor every room may use: typed YAML configs (with ``--set KEY=VALUE`` overrides), shipped
configs by name, atomic writes, logging set-up (``logs``).

Imports only the standard library and pyyaml.
"""

from tenuki.common.atomic import atomic_write
from tenuki.common.config_files import ConfigNotFoundError, config_names, resolve_config
from tenuki.common.logs import setup_logging
from tenuki.common.yaml_config import (
    ConfigError,
    apply_overrides,
    check_ranges,
    coerce_value,
    dump_yaml_config,
    load_yaml_config,
    parse_overrides,
    parse_section,
    value_at,
)

__all__ = [
    "ConfigError",
    "ConfigNotFoundError",
    "apply_overrides",
    "atomic_write",
    "check_ranges",
    "coerce_value",
    "config_names",
    "dump_yaml_config",
    "load_yaml_config",
    "parse_overrides",
    "parse_section",
    "resolve_config",
    "setup_logging",
    "value_at",
]
