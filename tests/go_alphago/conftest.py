"""Shared fixtures of the AlphaGo training tests: a tiny dataset of real Tom games."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenuki.agents.go.dataset import build_dataset


@pytest.fixture(scope="session")
def tiny_data(data_dir: Path, tmp_path_factory) -> Path:
    """The first 40 Tom games, a fifth of them held out (``tenuki data build``)."""
    out = tmp_path_factory.mktemp("go19")
    build_dataset([data_dir / "go" / "tom9d.tar.gz"], out, val_fraction=0.2, max_games=40, progress=False)
    return out


def tiny_config(data: Path, run_dir: Path, **train) -> dict:
    """A supervised run on ``tiny_data`` small enough for a test (``train`` overrides the train section)."""
    return {
        "run_dir": str(run_dir),
        "data": {"dir": str(data), "shuffle_buffer": 2000},
        "network": {"filters": 8, "layers": 3},
        "optim": {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9, "batch_size": 32},
        "train": {"max_steps": 60, "max_hours": 0.0, "eval_every": 30, "checkpoint_every": 10, "val_positions": 400,
                  "log_every": 10, "torch_threads": 1, **train},
    }
