"""A self-play run on disk: the run directory's files and the counters that carry a run across sessions.

Run directory (``tenuki selfplay launch --run-dir RUN_DIR``)::

    config.yaml       CONFIG_FILE: the run's config, written on a fresh start and read back by --resume
    state.json        STATE_FILE: ``RunState``, the coordinator's counters, written atomically
    nodes.json        games and positions played on each Ray node (written with state.json)
    replay.npz        SNAPSHOT_FILE: the replay buffer's snapshot (``tenuki.selfplay.replay``)
    checkpoints/      the learner's versions (``tenuki.selfplay.learner``)

``prepare_run_dir`` creates a fresh directory or checks one to resume; ``RunState.load`` /
``RunState.save`` read and write the counters. No Ray and no torch here: ``tenuki selfplay status``
reads a run with this module alone.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenuki.common.atomic import atomic_write
from tenuki.selfplay.config import SelfPlayConfig, dump_config, load_config

STATE_FILE = "state.json"
CONFIG_FILE = "config.yaml"
SNAPSHOT_FILE = "replay.npz"


class RunDirError(ValueError):
    """A run directory that cannot be started or resumed."""


@dataclass
class RunState:
    """Counters of a run, saved atomically to ``state.json``."""

    games: int = 0  # games recorded in the replay buffer
    positions: int = 0  # training positions recorded
    moves: int = 0  # moves played in recorded games
    samples_trained: int = 0
    version: int = 0  # newest version published to the workers
    best_version: int = 0
    best_elo: float = 0.0
    next_game_id: int = 0
    elapsed_s: float = 0.0  # wall time over every session of the run
    resign_threshold: float = 0.0
    resign_checks: int = 0  # played-out games where a side would have resigned
    false_positives: int = 0  # ... and that side won
    worker_failures: int = 0
    buffer_failures: int = 0
    learner_failures: int = 0
    sessions: int = 0
    elo: list[list[float]] = field(default_factory=list)  # [version, Elo]
    gates: list[dict[str, Any]] = field(default_factory=list)
    gnugo: list[dict[str, Any]] = field(default_factory=list)
    last_metrics: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> RunState:
        """The state saved at ``path``; keys this version does not know are ignored (older runs resume)."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise RunDirError(f"cannot read run state {path}: {error}") from error
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, path: Path) -> None:
        """Write atomically: a run killed while saving keeps its previous state."""
        text = json.dumps(dataclasses.asdict(self), indent=1).encode()
        atomic_write(Path(path), lambda stream: stream.write(text))

    @property
    def false_positive_rate(self) -> float:
        return self.false_positives / self.resign_checks if self.resign_checks else math.nan


def prepare_run_dir(config: SelfPlayConfig | None, run_dir: Path, resume: bool) -> SelfPlayConfig:
    """Create a fresh run directory (writing its config) or check one to resume (reading it)."""
    run_dir = Path(run_dir)
    if resume:
        if not (run_dir / CONFIG_FILE).exists():
            raise RunDirError(f"{run_dir} is not a self-play run directory (no {CONFIG_FILE})")
        return load_config(run_dir / CONFIG_FILE)
    if (run_dir / STATE_FILE).exists():
        raise RunDirError(f"{run_dir} already holds a run: resume it with --resume {run_dir}, or choose another "
                          f"--run-dir")
    assert config is not None
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / CONFIG_FILE).write_text(dump_config(config))
    return config
