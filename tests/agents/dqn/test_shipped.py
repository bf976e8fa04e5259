"""The Atari networks shipped in ``agents/dqn/weights/`` (issue 29): each loads by name on a fresh clone, in
float16, with its config and the evaluation record of exactly that file; the shipped Pong agent wins a game."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tenuki.agents.checkpoint_io import checkpoint_paths
from tenuki.agents.dqn.checkpoint import load_q_network, resolve_dqn_checkpoint, shipped_dqn_networks

REPO = Path(__file__).resolve().parents[3]
# name -> (game, protocol, the folder of its records: the run's config, metrics, curve and evaluation JSON)
SHIPPED = {"pong": ("Pong", "nature", REPO / "docs" / "atari" / "pong-eps05"),
           "breakout": ("Breakout", "dopamine", REPO / "docs" / "atari" / "breakout")}


def test_every_shipped_network_has_its_records_here() -> None:
    assert shipped_dqn_networks() == sorted(SHIPPED)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_a_shipped_network_loads_by_name_with_its_config_and_evaluation(name: str) -> None:
    game, protocol, records = SHIPPED[name]
    network, meta = load_q_network(name)
    assert (meta.game, meta.protocol_name, meta.contents) == (game, protocol, "q_network")
    assert 0 < meta.step <= 1_000_000  # the budget: at most 1M agent steps
    weights, _ = checkpoint_paths(resolve_dqn_checkpoint(name))
    header = json.loads(weights.read_bytes()[8:8 + int.from_bytes(weights.read_bytes()[:8], "little")])
    assert {t["dtype"] for key, t in header.items() if key != "__metadata__"} == {"F16"}
    assert weights.stat().st_size < 8e6  # a few MB
    assert meta.config["train"]["total_steps"] <= 1_000_000 and meta.config["env"]["game"] == game
    evaluation = json.loads((records / "evaluation.json").read_text())
    assert evaluation["checkpoint"]["weights_sha256"] == meta.weights_sha256  # the record of this very file
    assert evaluation["checkpoint"]["step"] == meta.step and evaluation["protocol"] == protocol
    assert evaluation["episodes"] == 30 and len(evaluation["scores"]) == 30
    assert (records / "config.yaml").is_file() and (records / "metrics.jsonl").is_file()
    assert sum(p.numel() for p in network.parameters()) > 1_000_000


@pytest.mark.timeout(600)
def test_the_shipped_pong_agent_wins_a_game_from_a_fresh_clone() -> None:
    """One evaluation episode by name, as a user types it, under the Nature protocol (epsilon 0.05): the
    agent scores more points than the built-in player."""
    done = subprocess.run([sys.executable, "-m", "tenuki", "atari", "evaluate", "--checkpoint", "pong", "--episodes",
                           "1", "--json"], cwd=REPO, capture_output=True, text=True, timeout=540, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["game"] == "Pong" and result["episodes"] == 1 and result["epsilon"] == 0.05
    assert result["mean"] > 0, result["scores"]
