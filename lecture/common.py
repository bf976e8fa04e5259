"""What every lecture experiment shares: its result record, the results folder, seeding, configs.

An experiment is a module of ``lecture/`` with

- ``NAME`` (the command's name), ``CLAIM`` (the lecture's claim it shows, one sentence);
- ``run(config: dict, quick: bool, out_dir: Path) -> dict``: the measured figures (JSON-ready),
  including ``headline`` = {"name", "value", "threshold", "passed"} (the figure the lecture README
  lists and the ``--quick`` test asserts), having written its PNG figures into ``out_dir``.

``run_experiment`` adds the common fields (name, claim, quick, seconds, seed, config, figures, the
results folder: ``runs/lecture/NAME`` under the current folder by default), writes ``result.json`` and
``summary.md`` there, and returns the record.
Configs: ``configs/lecture/NAME.yaml`` (a mapping; ``quick:`` holds the overrides of ``--quick``).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "configs" / "lecture"


class LectureError(ValueError):
    """An unknown experiment or an unusable config (the message names it)."""


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_experiment_config(name: str, quick: bool, path: str | Path | None = None) -> dict[str, Any]:
    """The experiment's config: ``configs/lecture/NAME.yaml`` (or ``path``), with the ``quick`` overrides
    applied when ``quick``."""
    path = Path(path) if path else CONFIG_DIR / f"{name}.yaml"
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise LectureError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(data, dict):
        raise LectureError(f"{path}: expected a mapping of settings")
    overrides = data.pop("quick", {}) or {}
    if not isinstance(overrides, dict):
        raise LectureError(f"{path}: 'quick' must be a mapping of settings")
    if quick:
        data.update(overrides)
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
                   config_path: str | Path | None = None) -> dict[str, Any]:
    """Run one experiment module and write its results folder (see the module docstring)."""
    config = load_experiment_config(module.NAME, quick, config_path)
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
