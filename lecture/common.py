"""What every lecture experiment shares: its result record, the results folder, seeding, configs.

An experiment is a module of ``lecture/`` with

- ``NAME`` (the command's name), ``CLAIM`` (the lecture's claim it shows, one sentence);
- ``run(config: dict, quick: bool, out_dir: Path) -> dict``: the measured figures (JSON-ready),
  including ``headline`` = {"name", "value", "threshold", "passed"} (the figure the lecture README
  lists and the ``--quick`` test asserts), having written its PNG figures into ``out_dir``.

``run_experiment`` adds the common fields (name, claim, quick, seconds, seed, config, figures, the
results folder: ``runs/lecture/NAME`` under the current folder by default), writes ``result.json`` and
``summary.md`` there, and returns the record.
Configs: ``configs/lecture/NAME.yaml`` (a mapping; ``quick:`` holds the overrides of ``--quick``). Its keys
(with the ``quick:`` ones and a module's ``DEFAULTS``) are the experiment's settings: a config file given
with ``--config`` or a ``--set KEY=VALUE`` override (applied last, after ``quick:``) may use no other key,
and an override's value must have the type of the shipped value (a number for a number, a list for a
list; any YAML value where the shipped one is null).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from tenuki.common.yaml_config import parse_overrides

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "configs" / "lecture"


class LectureError(ValueError):
    """An unknown experiment or an unusable config (the message names it)."""


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as error:
        raise LectureError(f"cannot read config {path}: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise LectureError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(data, dict):
        raise LectureError(f"{path}: expected a mapping of settings")
    return data


def config_schema(name: str, defaults: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The settings experiment ``name`` knows, each with an example value (its type is the setting's): the
    shipped ``configs/lecture/NAME.yaml`` with its ``quick:`` keys, and ``defaults`` (a module's
    ``DEFAULTS``). None when there is neither (nothing to check against)."""
    sources: list[dict[str, Any]] = []
    shipped = CONFIG_DIR / f"{name}.yaml"
    if shipped.is_file():
        data = _read_mapping(shipped)
        quick = data.pop("quick", None) or {}
        sources += [data, quick if isinstance(quick, dict) else {}]
    sources.append(defaults or {})
    schema: dict[str, Any] = {}
    for source in sources:  # the first source that has a key gives its example; a null anywhere: any value
        for key, value in source.items():
            if key not in schema:
                schema[key] = value
            elif value is None:
                schema[key] = None
    return schema or None


def _typed(key: str, text: str, example: Any) -> Any:
    """The ``--set`` text of ``key`` as the type of the shipped ``example`` value."""
    if isinstance(example, str):
        return text
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    if example is None:
        return value
    if isinstance(example, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(example, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(example, float):
        ok, kind = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
        value = float(value) if ok else value
    elif isinstance(example, list):
        ok, kind = isinstance(value, list), "a list, e.g. [8, 16]"
    elif isinstance(example, dict):
        ok, kind = isinstance(value, dict), "a mapping, e.g. {a: 1}"
    else:  # pragma: no cover - YAML gives no other types
        ok, kind = True, ""
    if not ok:
        raise LectureError(f"--set {key}: expected {kind}, got {text!r}")
    return value


def _check_keys(keys, schema: dict[str, Any] | None, where: str) -> None:
    unknown = sorted(set(keys) - set(schema)) if schema is not None else []
    if unknown:
        raise LectureError(f"{where}{unknown[0]}: unknown key (allowed: {', '.join(sorted(schema))})")


def load_experiment_config(name: str, quick: bool, path: str | Path | None = None,
                           overrides: list[str] | None = None,
                           defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """The experiment's config: ``configs/lecture/NAME.yaml`` (or ``path``, which must exist), with the
    ``quick`` overrides applied when ``quick``, then the ``--set KEY=VALUE`` ``overrides`` (checked against
    ``config_schema(name, defaults)``)."""
    schema = config_schema(name, defaults)
    if path:
        path = Path(path)
        if not path.is_file():
            raise LectureError(f"cannot read config {path}: no such file")
        data = _read_mapping(path)
    else:
        path = CONFIG_DIR / f"{name}.yaml"
        data = _read_mapping(path) if path.is_file() else {}
    quick_overrides = data.pop("quick", {}) or {}
    if not isinstance(quick_overrides, dict):
        raise LectureError(f"{path}: 'quick' must be a mapping of settings")
    _check_keys(data, schema, f"{path}: ")
    _check_keys(quick_overrides, schema, f"{path}: quick.")
    if quick:
        data.update(quick_overrides)
    for key, text in parse_overrides(overrides, LectureError, example="epochs=2"):
        _check_keys([key], schema, "--set ")
        data[key] = _typed(key, text, (schema or {}).get(key))
    return data


def headline(name: str, value: float, threshold: float, higher_is_better: bool = True) -> dict[str, Any]:
    """The experiment's headline figure and whether it passed its threshold."""
    passed = value >= threshold if higher_is_better else value <= threshold
    return {"name": name, "value": float(value), "threshold": float(threshold),
            "higher_is_better": higher_is_better, "passed": bool(passed)}


def write_summary(out_dir: Path, record: dict[str, Any]) -> Path:
    head = record["headline"]
    op = ">=" if head["higher_is_better"] else "<="
    verdict = "passed" if head["passed"] else "NOT passed"
    kind = "quick" if record["quick"] else "full"
    headline_line = (f"Headline: **{head['name']} = {head['value']:.4g}** (threshold {op} {head['threshold']:g}: "
                     f"{verdict}); {kind} run, {record['seconds']:.0f} s.")
    lines = [f"# {record['name']}", "", f"Lecture claim: {record['claim']}", "", headline_line, "", "## Figures", ""]
    for key, value in record.items():
        if key in ("name", "claim", "headline", "figures", "config", "markdown"):
            continue
        lines.append(f"- {key}: {json.dumps(value) if not isinstance(value, float) else f'{value:.4g}'}")
    if record.get("markdown"):
        lines += ["", record["markdown"]]
    if record.get("figures"):
        lines += ["", "## Plots", ""] + [f"![{f}]({f})" for f in record["figures"]]
    path = out_dir / "summary.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_experiment(module: Any, quick: bool = False, out_dir: str | Path | None = None,
                   config_path: str | Path | None = None, overrides: list[str] | None = None) -> dict[str, Any]:
    """Run one experiment module and write its results folder (see the module docstring); ``overrides``:
    ``--set KEY=VALUE`` items, applied last."""
    config = load_experiment_config(module.NAME, quick, config_path, overrides, getattr(module, "DEFAULTS", None))
    seed = int(config.get("seed", 0))
    seed_everything(seed)
    # under the current folder, as every command's outputs: next to the package would be site-packages
    out = Path(out_dir) if out_dir else Path.cwd() / "runs" / "lecture" / module.NAME
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    figures = module.run(config, quick, out)
    record = {"name": module.NAME, "claim": module.CLAIM, "quick": quick, "seed": seed,
              **figures, "seconds": round(time.perf_counter() - started, 1), "config": config,
              "figures": sorted(p.name for p in out.glob("*.png")), "results_dir": str(out)}
    if "headline" not in record:
        raise LectureError(f"experiment {module.NAME} returned no headline figure")
    (out / "result.json").write_text(json.dumps(record, indent=1) + "\n")
    write_summary(out, record)
    return record
