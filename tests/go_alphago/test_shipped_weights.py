"""The networks shipped in ``agents/go/weights``: each one loads (hash, shapes, kwargs verified), and
the shipped value net answers differently for different real positions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tenuki.agents.go.features import alphago_planes
from tenuki.agents.go.networks.checkpoint import load_checkpoint
from tenuki.agents.go.rollout.model import RolloutPolicy
from tenuki.envs.go.sgf_archives import iter_games

WEIGHTS = Path(__file__).parents[2] / "agents" / "go" / "weights"
SHIPPED = sorted(WEIGHTS.glob("*.json"))


def test_there_are_shipped_weights():
    assert {"sl-policy19.json", "rl-policy19.json", "sl-value19.json", "rollout19.json"} <= {p.name for p in SHIPPED}


@pytest.mark.parametrize("sidecar", SHIPPED, ids=lambda p: p.stem)
def test_each_shipped_checkpoint_loads(sidecar: Path):
    kind = json.loads(sidecar.read_text())["format"]
    if kind == "tenuki-rollout-policy":
        assert RolloutPolicy.load(sidecar.with_suffix("")) is not None
        return
    model, meta = load_checkpoint(sidecar)
    assert model.init_kwargs() == meta.kwargs  # every constructor argument recorded: nothing rebuilt by default


def test_the_shipped_value_net_tells_real_positions_apart(data_dir: Path):
    model, meta = load_checkpoint(WEIGHTS / "sl-value19", architecture="alphago_value")
    assert meta.kwargs["head_relu"] is False
    planes = []
    for record in iter_games(data_dir / "go" / "tom9d.tar.gz", errors="skip"):
        planes += [alphago_planes(board, value=True) for board, _, _ in list(record.positions())[::20]]
        if len(planes) >= 64:
            break
    with torch.no_grad():
        values = model(torch.from_numpy(np.stack(planes)).float())
    assert values.abs().max() <= 1.0
    # 0.43 for the shipped net; 0.07 for the first run (ReLU head, MSE 0.993) and for a fresh net
    assert values.std() > 0.2
