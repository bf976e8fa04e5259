"""``tenuki eval policy-match``: sampled games between two policy networks on Ray equal the same
games played in-process; the counts and colours add up; bad input is a clear error. 9x9, tiny nets."""

from __future__ import annotations

import json

import pytest
import torch

from tenuki.agents.go.networks.alphago import AlphaGoPolicyNet
from tenuki.agents.go.networks.checkpoint import save_checkpoint
from tenuki.commands.main import main
from tenuki.selfplay.alphago.policy_match import _play, policy_match

N = 9


@pytest.fixture
def nets(tmp_path):
    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        paths.append(str(save_checkpoint(tmp_path / f"p{seed}", AlphaGoPolicyNet(N, filters=8, layers=2), step=0,
                                         config={})))
    return paths


def test_games_on_ray_equal_the_same_games_in_process(nets, ray_cluster):
    result = policy_match(nets[0], nets[1], games=6, size=N, komi=7.0, max_moves=40, seed=2, chunk=4)
    direct = _play(nets[0], nets[1], N, 7.0, 40, [2 * 1_000_003 + g for g in range(6)])
    zs = [g["z"] for g in direct]
    assert result["games"] == 6 and result["wins"] == sum(z > 0 for z in zs) and result["losses"] == sum(z < 0 for z in zs)
    assert result["wins"] + result["losses"] + result["draws"] == 6
    assert result["win_rate"] == pytest.approx((result["wins"] + 0.5 * result["draws"]) / 6, abs=1e-4)
    assert {g["colour"] for g in direct} <= {1, 2} and result["mean_moves"] <= 40


def test_cli_prints_one_json_object_and_rejects_a_network_of_another_size(nets, ray_cluster, tmp_path, capsys):
    assert main(["eval", "policy-match", "--policy", nets[0], "--opponent", nets[1], "--games", "2", "--size", str(N),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["games"] == 2
    assert main(["eval", "policy-match", "--policy", nets[0], "--opponent", nets[1], "--size", "19"]) == 2
    assert "not 19x19" in capsys.readouterr().err
    assert main(["eval", "policy-match", "--policy", str(tmp_path / "missing"), "--opponent", nets[1],
                 "--size", str(N)]) == 2
