"""Typed configs read from YAML: nested dataclass sections, checked types, unknown keys rejected.

Shared by ``tenuki.agents.dqn.config``, ``tenuki.selfplay.config`` and ``tenuki.agents.go.sl.trainer``. Every function takes
the caller's exception class (``error``), so each config keeps its own type (``DQNConfigError``,
``ConfigError``); every message names the dotted key at fault and what is allowed
(``search.visits: expected an integer >= 1, got 0``), and ``load_yaml_config`` prefixes the file.

Field types are the scalars ``int``, ``float``, ``bool``, ``str`` or a nested dataclass (a section).

Command-line overrides (``--set KEY=VALUE``, repeatable, as KataGo's ``-override-config`` or Hydra's
``key=value``): ``parse_overrides`` splits them, ``apply_overrides`` writes them into the mapping read from
the YAML file *before* it is validated, so an override goes through the same checks as the file
(``load_yaml_config(path, from_dict, error, overrides=...)``). The value is text, read as YAML where the
field wants a number or a bool (``search.visits=400``, ``run.max_hours=1e-2``, ``workers.fast_inference=false``) and
kept as it is where the field wants a string (``run.name=123`` is the string ``"123"``); an unknown key or a
value of the wrong type is one ``error`` naming ``--set KEY``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

# dotted key -> (check, what is allowed); the check runs on a value of the already checked type
Ranges = dict[str, tuple[Callable[[Any], bool], str]]


class ConfigError(ValueError):
    """A config that cannot be used: the message names the dotted key and what is allowed.

    The self-play and SL configs raise it as it is; the DQN config raises its subclass-free
    ``DQNConfigError`` (kept for its callers)."""


class CommandLineValue(str):
    """The text of a ``--set KEY=VALUE`` override: read as YAML for a number or a bool, kept as text for a
    string field (``coerce_value``)."""


class _OverriddenMapping(dict):
    """A mapping of the YAML document that ``apply_overrides`` wrote keys into: ``set_keys`` are those keys,
    so an unknown one is reported as ``--set KEY`` (``parse_section``)."""

    set_keys: frozenset[str] = frozenset()


def parse_overrides(items: Iterable[str] | None, error: type[Exception],
                    example: str = "search.visits=400") -> list[tuple[str, str]]:
    """``["search.visits=400", ...]`` -> ``[("search.visits", "400"), ...]``; a malformed item is an ``error``
    that shows the expected form (with ``example``)."""
    pairs = []
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not sep or not key or not all(part.strip() for part in parts) or any(" " in part for part in parts):
            raise error(f"--set {item}: expected KEY=VALUE with a dotted KEY, e.g. --set {example}")
        pairs.append((key, value))
    return pairs


def apply_overrides(data: Any, overrides: Iterable[tuple[str, str]], error: type[Exception]) -> Any:
    """A copy of the YAML mapping ``data`` (None: an empty document) with each ``(dotted key, text)`` of
    ``overrides`` written in as a ``CommandLineValue``, sections created on the way; the mappings along
    each path are copied, ``data`` is left as it is. A key below a value that is not a section is an
    ``error``; whether a key exists and its value fits is left to the validation that follows."""
    overrides = list(overrides)
    if not overrides:
        return data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(f"the config: expected a mapping of keys, got {type(data).__name__}")
    root = _OverriddenMapping(data)
    for key, text in overrides:
        parts = key.split(".")
        node = root
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = {}
            elif not isinstance(child, dict):
                where = ".".join(parts[:depth + 1])
                raise error(f"--set {key}: {where} is a value, not a section")
            child = child if isinstance(child, _OverriddenMapping) else _OverriddenMapping(child)
            node[part] = child
            node.set_keys = node.set_keys | {part}
            node = child
        node[parts[-1]] = CommandLineValue(text)
        node.set_keys = node.set_keys | {parts[-1]}
    return root


def coerce_value(value: Any, kind: Any, key: str, error: type[Exception]) -> Any:
    """``value`` read from YAML as the scalar type ``kind``, or ``error`` naming ``key``.

    An integer is accepted for a float; a string that parses as a float is too, since YAML 1.1 reads
    ``1e-4`` (no dot) as a string. A bool is not an integer and an integer is not a bool. A null for a
    string is the empty string (``init_checkpoint:`` left blank). A ``CommandLineValue`` (``--set``) is
    its text for a string and its text read as YAML for the other types; its errors name ``--set KEY``."""
    if isinstance(value, CommandLineValue):
        if kind is str:
            return str(value)
        try:
            parsed = yaml.safe_load(str(value))
        except yaml.YAMLError:
            parsed = str(value)
        return coerce_value(parsed, kind, f"--set {key}", error)
    if kind is float:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise error(f"{key}: expected a number, got {value!r}")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise error(f"{key}: expected an integer, got {value!r}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise error(f"{key}: expected true or false, got {value!r}")
        return value
    if kind is str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise error(f"{key}: expected a string, got {value!r}")
        return value
    raise error(f"{key}: unsupported type {kind}")  # pragma: no cover - a programming error


def parse_section(cls: type[T], data: Any, where: str, error: type[Exception]) -> T:
    """The dataclass ``cls`` filled from the mapping ``data`` found at dotted key ``where`` ("" at the top).

    None is the defaults; a key left out keeps its default; an unknown key is an ``error`` that lists
    the allowed ones."""
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise error(f"{where or 'the config'}: expected a mapping of keys, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = sorted(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    unknown = sorted(set(map(str, data)) - set(known))
    if unknown:
        key = f"{where}.{unknown[0]}" if where else unknown[0]
        if unknown[0] in getattr(data, "set_keys", ()):
            key = f"--set {key}"
        raise error(f"{key}: unknown key (allowed: {', '.join(known)})")
    values = {}
    for name, value in data.items():
        kind = hints[name]
        key = f"{where}.{name}" if where else name
        if isinstance(value, CommandLineValue) and dataclasses.is_dataclass(kind):
            raise error(f"--set {key}: {key} is a section, give one of its keys (--set {key}.KEY=VALUE)")
        if dataclasses.is_dataclass(kind):
            values[name] = parse_section(kind, value, key, error)
        elif isinstance(kind, types.UnionType):  # pragma: no cover - no optional fields today
            values[name] = value
        else:
            values[name] = coerce_value(value, kind, key, error)
    return cls(**values)


def value_at(config: Any, key: str) -> Any:
    """The field at dotted ``key`` (``"agent.n_step"``, ``"backend"``) of a nested dataclass."""
    value = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


def check_ranges(config: Any, ranges: Ranges, error: type[Exception]) -> None:
    """``error`` for the first key of ``ranges`` whose value fails its check: ``key: expected ALLOWED, got V``."""
    for key, (ok, allowed) in ranges.items():
        value = value_at(config, key)
        if not ok(value):
            raise error(f"{key}: expected {allowed}, got {value!r}")


def load_yaml_config(path: str | Path, from_dict: Callable[[Any], T], error: type[Exception],
                     overrides: Iterable[str] | None = None) -> T:
    """Read the YAML file at ``path``, apply the ``--set KEY=VALUE`` ``overrides`` to it and build it with
    ``from_dict``; an unreadable file, bad YAML or a bad value (an override's included) is an ``error``
    whose message starts with the file."""
    pairs = parse_overrides(overrides, error)
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as failure:
        raise error(f"cannot read config {path}: {failure.strerror or failure}") from failure
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as failure:
        raise error(f"{path}: not valid YAML: {failure}") from failure
    try:
        return from_dict(apply_overrides(data, pairs, error))
    except error as failure:
        raise error(f"{path}: {failure}") from failure


def dump_yaml_config(config: Any) -> str:
    """YAML text of a dataclass config, fields in declaration order (``load_yaml_config`` reads it back)."""
    return yaml.safe_dump(dataclasses.asdict(config), sort_keys=False)
