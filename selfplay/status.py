"""``tenuki selfplay status RUN_DIR``: a summary of a run from its files (no Ray needed)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tenuki.selfplay.metrics import read_rows
from tenuki.selfplay.run_state import CONFIG_FILE, SNAPSHOT_FILE, STATE_FILE, RunDirError, RunState


def summarize_run(run_dir: str | Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).exists():
        raise RunDirError(f"{run_dir} is not a self-play run directory (no {CONFIG_FILE})")
    state = RunState.load(run_dir / STATE_FILE) if (run_dir / STATE_FILE).exists() else RunState()
    learner_path = run_dir / "checkpoints" / "learner.json"
    learner = json.loads(learner_path.read_text()) if learner_path.exists() else {}
    rows = read_rows(run_dir / "metrics.csv")
    last = rows[-1] if rows else {}
    hours = state.elapsed_s / 3600
    return {
        "run_dir": str(run_dir),
        "elapsed_hours": round(hours, 3),
        "sessions": state.sessions,
        "games": state.games,
        "positions": state.positions,
        "moves_per_game": round(state.moves / state.games, 1) if state.games else None,
        "games_per_hour": round(state.games / hours, 1) if hours > 0 else None,
        "version": state.version,
        "learner_checkpoint": learner.get("checkpoint"),
        "samples_trained": state.samples_trained,
        "train_ratio": round(state.samples_trained / state.positions, 2) if state.positions else None,
        "best_version": state.best_version,
        "best_elo": state.best_elo,
        "last_loss": {k: last.get(k) for k in ("loss", "policy_loss", "value_loss") if last.get(k)},
        "resign_threshold": state.resign_threshold,
        "resign_false_positive_rate": None if math.isnan(state.false_positive_rate) else state.false_positive_rate,
        "gnugo": state.gnugo[-3:],
        "failures": {"worker": state.worker_failures, "buffer": state.buffer_failures,
                     "learner": state.learner_failures},
        "replay_snapshot": (run_dir / SNAPSHOT_FILE).exists(),
        "best_network": str(run_dir / "best.safetensors") if (run_dir / "best.safetensors").exists() else (
            str(run_dir / "checkpoints" / f"{learner['checkpoint']}.safetensors") if learner else None),
        "size": _size(run_dir),
        "architecture": _architecture(run_dir),
    }


def _size(run_dir: Path) -> int:
    from tenuki.selfplay.config import load_config

    try:
        return load_config(run_dir / CONFIG_FILE).game.size
    except ValueError:
        return 9


def _architecture(run_dir: Path) -> str:
    from tenuki.selfplay.config import load_config

    try:
        return load_config(run_dir / CONFIG_FILE).network.architecture
    except ValueError:
        return "alphazero_resnet"


# the player that uses a network of each architecture (a value network plays with a policy network)
PLAYER_FOR = {"alphago_policy": "policy", "alphago_value": None}


def format_summary(summary: dict[str, Any], command: str = "tenuki") -> str:
    """The summary as lines of text; ``command`` is how the reader's shell runs tenuki (``.venv/bin/tenuki``
    when it is not on the PATH), used in the "play it" line."""
    lines = [f"run {summary['run_dir']}: {summary['elapsed_hours']:.2f} h over {summary['sessions']} session(s)"]
    lines.append(f"  games {summary['games']}  positions {summary['positions']}  "
                 f"games/hour {summary['games_per_hour']}  moves/game {summary['moves_per_game']}")
    lines.append(f"  network version {summary['version']} (checkpoint {summary['learner_checkpoint']})  "
                 f"samples trained {summary['samples_trained']} (ratio {summary['train_ratio']})")
    if summary["last_loss"]:
        lines.append("  last loss " + "  ".join(f"{k} {v}" for k, v in summary["last_loss"].items()))
    lines.append(f"  best version {summary['best_version']}  Elo {summary['best_elo']:+.0f} (chained gating)")
    for match in summary["gnugo"]:
        lines.append(f"  vs GNU Go level {match['level']}: v{match['version']} {match['wins']}/{match['games']} "
                     f"(score {match['score']:.2f})")
    fp = summary["resign_false_positive_rate"]
    lines.append(f"  resign threshold {summary['resign_threshold']:.3f}"
                 + (f"  false positives {fp:.0%}" if fp is not None else ""))
    failures = summary["failures"]
    lines.append(f"  failures survived: worker {failures['worker']}, buffer {failures['buffer']}, "
                 f"learner {failures['learner']}")
    player = PLAYER_FOR.get(summary.get("architecture", ""), "az-mcts")
    if summary["best_network"] and player:
        lines.append(f"  play it: {command} play --player {player} --weights {summary['best_network']} "
                     f"--size {summary['size']}")
    elif summary["best_network"]:
        lines.append(f"  use it: {command} play --player alphago --value-weights {summary['best_network']} "
                     f"--size {summary['size']}")
    return "\n".join(lines)
