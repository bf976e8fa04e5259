"""Player ``auto`` and the shipped-network defaults of ``play.registry``."""

from __future__ import annotations

import pytest

from agents.go.checkpoint import save_checkpoint
from agents.go.resnet import AlphaZeroNet
from envs.go.board import Board
from play import registry
from search.mcts import SearchConfigError


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "az5", AlphaZeroNet(5, blocks=1, channels=8), step=0, config={})
    monkeypatch.setattr(registry, "SHIPPED_WEIGHTS", {5: path})
    return path


def test_auto_is_az_mcts_with_the_shipped_network_where_there_is_one(shipped):
    assert registry.resolve("auto", 5) == ("az-mcts", str(shipped))
    assert registry.resolve("auto", 7) == ("mcts", None)
    assert registry.resolve("auto", 7, weights="x.safetensors") == ("az-mcts", "x.safetensors")
    assert registry.resolve("az-mcts", 5) == ("az-mcts", str(shipped))
    assert registry.resolve("policy", 5, weights="mine") == ("policy", "mine")
    assert registry.resolve("alphago", 5) == ("alphago", None)  # AlphaGo needs its own networks


def test_auto_players_move(shipped):
    player = registry.make("auto", 5, visits=8)
    assert player.name == "az-mcts"
    assert player.genmove(Board(5)).action >= 0
    assert registry.make("auto", 7, visits=16).name == "mcts"


def test_network_player_without_weights_on_another_size_is_a_clear_error(shipped):
    with pytest.raises(SearchConfigError, match="needs --weights.*ships one for 5x5 only"):
        registry.make("az-mcts", 7)


def test_shipped_network_file_matches_its_board_size():
    from agents.go.checkpoint import read_checkpoint_meta

    for size, path in registry.SHIPPED_WEIGHTS.items():
        if path.exists():
            meta = read_checkpoint_meta(path)
            assert meta.kwargs["board_size"] == size
