"""The ground floor every room may use: typed YAML configs, shipped configs by name, atomic writes.

Imports only the standard library and pyyaml.
"""

from tenuki.common.atomic import atomic_write
from tenuki.common.config_files import ConfigNotFoundError, config_names, resolve_config
from tenuki.common.yaml_config import (
    ConfigError,
    check_ranges,
    coerce_value,
    dump_yaml_config,
    load_yaml_config,
    parse_section,
    value_at,
)

__all__ = [
    "ConfigError",
    "ConfigNotFoundError",
    "atomic_write",
    "check_ranges",
    "coerce_value",
    "config_names",
    "dump_yaml_config",
    "load_yaml_config",
    "parse_section",
    "resolve_config",
    "value_at",
]
