"""KataGo's ownership target (learner.ownership_weight > 0): the head, the targets a game yields,
their symmetry in the replay buffer, and the loss term."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tenuki.agents.go.networks import build_network
from tenuki.envs.go.board import Board
from tenuki.envs.go.layout import BLACK, WHITE
from tenuki.envs.go.sgf import read_sgf
from tenuki.search.mcts import uniform_evaluator
from tenuki.selfplay.config import ConfigError, config_from_dict
from tenuki.selfplay.games import GameContext, alphazero_game, ownership_targets, sample_fields
from tenuki.selfplay.learner import build_model
from tenuki.selfplay.losses import alphazero_loss
from tenuki.selfplay.replay import ReplayStore

N = 5

# Black owns the two left columns (stones and the empty column 0), white the two right ones; the
# middle column is split: a black stone, a white stone and three empty points touching both colours.
FINAL = """
. X . O .
. X . O .
. X X O .
. X . O O
. X . O .
"""


def _config(weight: float = 1.5, **search):
    return config_from_dict({
        "game": {"size": N},
        "network": {"blocks": 1, "channels": 8},
        "search": {"visits": 8, "cap_visits": 2, "batch_size": 4, "full_probability": 1.0, "resign_threshold": 0.0,
                   **search},
        "learner": {"ownership_weight": weight},
    })


def test_targets_from_a_final_position_in_closed_form():
    owner = Board.from_ascii(FINAL).score("area").owner.reshape(-1)
    targets = ownership_targets(owner, np.array([BLACK, WHITE]), N)
    black = targets["ownership"][0].reshape(N, N)
    expected = np.array([
        [1, 1, 0, -1, -1],
        [1, 1, 0, -1, -1],
        [1, 1, 1, -1, -1],
        [1, 1, 0, -1, -1],
        [1, 1, 0, -1, -1],
    ])
    np.testing.assert_array_equal(black, expected)
    np.testing.assert_array_equal(targets["ownership"][1], -targets["ownership"][0])  # white to move: flipped
    np.testing.assert_array_equal(targets["ownership_valid"], [1.0, 1.0])
    assert targets["ownership"].dtype == np.int8


def test_a_resigned_game_gives_invalid_zero_targets():
    targets = ownership_targets(None, np.array([BLACK, WHITE, BLACK]), N)
    assert not targets["ownership"].any() and not targets["ownership_valid"].any()
    assert targets["ownership"].shape == (3, N * N)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_self_play_game_records_the_final_owner_for_each_side_to_move(seed):
    config = _config()
    record = alphazero_game(GameContext(config, uniform_evaluator(N), version=0, keep_sgf=True), 7, seed)
    board = Board(N, komi=config.game.komi)
    movers = []
    for color, action in read_sgf(record.sgf).moves:
        movers.append(color)
        board.play(action)
    owner = board.score("area").owner.reshape(-1)
    samples = record.samples
    assert set(samples) == set(sample_fields(config)) == {"planes", "policy", "value", "ownership", "ownership_valid"}
    assert samples["ownership"].shape == (record.moves, N * N)
    for i, mover in enumerate(movers):
        expected = np.where(owner == mover, 1, np.where(owner == 0, 0, -1))
        np.testing.assert_array_equal(samples["ownership"][i], expected, err_msg=f"sample {i}")
    assert samples["ownership_valid"].all()


def test_without_the_weight_no_ownership_fields():
    config = _config(weight=0.0)
    record = alphazero_game(GameContext(config, uniform_evaluator(N), version=0), 7, 0)
    assert set(record.samples) == {"planes", "policy", "value"}
    assert not build_model(config).ownership_head


def test_the_weight_must_not_be_negative():
    with pytest.raises(ConfigError, match="learner.ownership_weight"):
        _config(weight=-1.0)


def test_replay_symmetry_moves_ownership_with_the_stones():
    config = _config()
    store = ReplayStore(sample_fields(config), 100, 10, board_size=N, seed=0)
    record = alphazero_game(GameContext(config, uniform_evaluator(N), version=0), 7, 3)
    samples = dict(record.samples)
    # a marker target: own stones +1, opponent stones -1 (plane 0 / plane 1), so the transformed
    # target must equal the transformed planes, point by point
    planes = samples["planes"].reshape(record.num_samples, 17, N * N).astype(np.int8)
    samples["ownership"] = planes[:, 0] - planes[:, 1]
    store.add(7, samples)
    batch = store.gather(np.arange(len(store)))
    seen = set()
    for k in range(8):
        moved = store.apply_symmetries(batch, np.full(len(store), k))
        flat = moved["planes"].reshape(len(store), 17, N * N).astype(np.int8)
        np.testing.assert_array_equal(moved["ownership"], flat[:, 0] - flat[:, 1], err_msg=f"symmetry {k}")
        seen.add(moved["ownership"].tobytes())
    assert len(seen) == 8  # the eight symmetries really differ on these positions


def test_the_head_roundtrips_through_init_kwargs_and_old_kwargs_build_without_it():
    net = build_network("alphazero_resnet", board_size=N, blocks=1, channels=8, ownership_head=True)
    again = build_network("alphazero_resnet", **net.init_kwargs())
    again.load_state_dict(net.state_dict())
    plain = build_network("alphazero_resnet", board_size=N, blocks=1, channels=8)
    assert "ownership_head" not in plain.init_kwargs() and not hasattr(plain, "ownership_conv")
    planes = torch.zeros(3, 17, N, N)
    logits, value, ownership = net.forward_with_ownership(planes)
    assert logits.shape == (3, N * N + 1) and value.shape == (3,) and ownership.shape == (3, N * N)
    torch.testing.assert_close(net(planes)[1], value)  # search sees the same value with or without the head
    with pytest.raises(ValueError, match="no ownership head"):
        plain.forward_with_ownership(planes)


def test_the_loss_term_is_the_mean_cross_entropy_and_training_lowers_it():
    torch.manual_seed(0)
    config = _config()
    model = build_model(config)
    batch = {
        "planes": torch.randint(0, 2, (16, 17, N, N)).float(),
        "policy": torch.full((16, N * N + 1), 1.0 / (N * N + 1)),
        "value": torch.zeros(16),
        "ownership": torch.randint(-1, 2, (16, N * N), dtype=torch.int8),
        "ownership_valid": torch.cat((torch.ones(12), torch.zeros(4))),
    }
    model.eval()
    _, metrics = alphazero_loss(model, batch, config)
    with torch.no_grad():
        _, _, logits = model.forward_with_ownership(batch["planes"])
    p = (1 + torch.tanh(logits[:12])) / 2
    t = (batch["ownership"][:12].float() + 1) / 2
    expected = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()
    assert metrics["ownership_loss"] == pytest.approx(expected.item(), rel=1e-4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for _ in range(30):
        loss, _ = alphazero_loss(model, batch, config)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    assert alphazero_loss(model, batch, config)[1]["ownership_loss"] < metrics["ownership_loss"] - 0.05


def test_a_learner_with_the_head_starts_from_a_network_without_it(tmp_path):
    from tenuki.agents.go.networks.checkpoint import save_checkpoint
    from tenuki.selfplay.learner import LearnerCore

    source = build_network("alphazero_resnet", board_size=N, blocks=1, channels=8)
    path = tmp_path / "old"
    save_checkpoint(path, source)
    config = config_from_dict({**_config().to_dict(), "network": {"blocks": 1, "channels": 8,
                                                                   "init_checkpoint": str(path)}})
    learner = LearnerCore(config)
    state = learner.model.state_dict()
    for name, tensor in source.state_dict().items():
        torch.testing.assert_close(state[name], tensor, msg=name)
    assert learner.model.ownership_head
    wider = tmp_path / "wider"
    save_checkpoint(wider, build_network("alphazero_resnet", board_size=N, blocks=1, channels=16))
    with pytest.raises(Exception, match="does not fit"):
        LearnerCore(config_from_dict({**_config().to_dict(), "network": {"blocks": 1, "channels": 8,
                                                                          "init_checkpoint": str(wider)}}))
