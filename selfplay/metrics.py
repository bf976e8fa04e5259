"""Run metrics: a CSV (one row per network version), TensorBoard scalars and PNG plots.

``RUN_DIR/metrics.csv`` columns are ``COLUMNS``; a resumed run appends to the same file (rows of a
version already written are not repeated) under that file's own header (a file written by an older
tenuki keeps its columns). Plots (``RUN_DIR/plots/*.png``, matplotlib's Agg
backend): losses against versions, self-play games per hour, Elo against the previous best
(chained into a curve) and the score against GNU Go.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

COLUMNS = [
    "version", "elapsed_s", "games", "positions", "samples_trained", "games_per_hour", "positions_per_s",
    "loss", "policy_loss", "value_loss", "policy_kl", "window", "resign_threshold", "false_positive_rate",
    "elo", "gate_score", "gnugo_score", "gnugo_elo", "black_win_rate", "mean_moves", "ownership_loss",
]


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


class MetricsWriter:
    def __init__(self, run_dir: Path, tensorboard: bool = True):
        self.run_dir = Path(run_dir)
        self.csv_path = self.run_dir / "metrics.csv"
        self.columns = list(COLUMNS)
        if self.csv_path.exists():
            with self.csv_path.open(newline="") as stream:
                header = next(csv.reader(stream), None)
            if header:
                self.columns = header
        self.written = {int(_number(r.get("version"))) for r in read_rows(self.csv_path)
                        if not math.isnan(_number(r.get("version")))}
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.run_dir / "tensorboard"))
            except ImportError:  # pragma: no cover - tensorboard is a dependency
                self._tb = None

    def row(self, values: dict[str, Any]) -> None:
        version = int(values["version"])
        if version in self.written:
            return
        new = not self.csv_path.exists()
        with self.csv_path.open("a", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=self.columns, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow({k: ("" if values.get(k) is None else values.get(k)) for k in self.columns})
        self.written.add(version)
        if self._tb is not None:
            for key in COLUMNS[1:]:
                value = values.get(key)
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self._tb.add_scalar(f"selfplay/{key}", value, version)
            self._tb.flush()

    def scalar(self, tag: str, value: float, step: int) -> None:
        if self._tb is not None and math.isfinite(value):
            self._tb.add_scalar(tag, value, step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def plot_run(run_dir: Path) -> list[Path]:
    """Draw the run's PNG plots from its metrics.csv; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    rows = read_rows(run_dir / "metrics.csv")
    if not rows:
        return []
    out_dir = run_dir / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    versions = [_number(r["version"]) for r in rows]
    hours = [_number(r["elapsed_s"]) / 3600 for r in rows]

    def series(key: str) -> list[float]:
        return [_number(r.get(key)) for r in rows]

    def points(key: str) -> tuple[list[float], list[float]]:
        pairs = [(v, y) for v, y in zip(versions, series(key), strict=True) if not math.isnan(y)]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    written = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for key in ("loss", "policy_loss", "value_loss"):
        ax.plot(versions, series(key), label=key)
    ax.set_xlabel("network version")
    ax.set_ylabel("training loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    written.append(out_dir / "loss.png")
    fig.savefig(written[-1], dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(hours, series("games_per_hour"))
    ax.set_xlabel("hours")
    ax.set_ylabel("self-play games per hour")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    written.append(out_dir / "games_per_hour.png")
    fig.savefig(written[-1], dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    x, y = points("elo")
    ax.plot(x, y, marker="o", label="Elo (chained gating matches vs the previous best)")
    x2, y2 = points("gnugo_elo")
    if x2:
        ax.plot(x2, y2, marker="s", label="Elo vs GNU Go (0 = equal)")
    ax.set_xlabel("network version")
    ax.set_ylabel("Elo")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    written.append(out_dir / "elo.png")
    fig.savefig(written[-1], dpi=90)
    plt.close(fig)
    return written
