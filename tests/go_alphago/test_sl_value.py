"""A value network trained on the results of expert games (``tenuki train sl-value``, ``target:
value`` of ``tenuki.agents.go.sl``): the labels are the result for the side to move, one random
position of each game an epoch, the network fits its targets, a run resumes, it may start from a
policy network's trunk, and the commands refuse the other target's config."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from tenuki.agents.go.dataset import GameShards
from tenuki.agents.go.networks.alphago import AlphaGoPolicyNet, AlphaGoValueNet
from tenuki.agents.go.networks.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tenuki.agents.go.sl import (
    SLTrainer,
    evaluate_value,
    sl_config_from_dict,
    train_sl_policy,
    validation_set,
)
from tenuki.agents.go.sl.data import _open_stream
from tenuki.commands.main import main
from tenuki.selfplay.config import ConfigError
from tests.go_alphago.conftest import tiny_config

pytestmark = pytest.mark.data


def value_config(data: Path, run_dir: Path, per_game: int = 1, **train) -> dict:
    config = tiny_config(data, run_dir, **{"max_steps": 12, "eval_every": 6, "checkpoint_every": 3,
                                           "log_every": 3, **train})
    config["data"].update(shuffle_buffer=64, positions_per_game=per_game)
    config["optim"] = {"optimizer": "adam", "learning_rate": 0.003, "batch_size": 16}
    return {"target": "value", **config}


def test_the_labels_are_the_result_for_the_side_to_move(tiny_data: Path):
    config = sl_config_from_dict(value_config(tiny_data, Path("unused"), per_game=0))
    planes, values = validation_set(config)
    assert planes.shape[1:] == (49, 19, 19) and set(np.unique(values)) <= {-1.0, 1.0}
    games = list(GameShards(tiny_data, "val").iter_games())
    # Unshuffled replay of the first game: the colour plane says who moves, the label flips with it.
    stream = _open_stream(config, "val", seed=0, symmetries=False, max_positions=None, batch_size=8,
                          shuffle_buffer=0)
    stream.shuffle_games = False
    batch = next(iter(stream))
    first = games[0]
    assert first.winner != 0
    for i in range(8):
        black_to_move = bool(batch.planes[i, 48].all())
        assert batch.values[i] == (first.winner if black_to_move else -first.winner)
    assert len({bool(p[48].all()) for p in batch.planes}) == 2  # both colours move in 8 plies


def test_games_without_a_winner_give_no_value_labels(tiny_data: Path):
    config = sl_config_from_dict(value_config(tiny_data, Path("unused"), per_game=0))
    stream = _open_stream(config, "val", seed=0, symmetries=False, max_positions=None, batch_size=64,
                          shuffle_buffer=0)
    games = list(stream.games.iter_games())
    assert all(g.winner != 0 for g in games) and len(games) >= 4
    undecided = {g.name for g in games[::2]}  # every other game made a draw / unknown result
    stream.games.iter_games = lambda **_: (dataclasses.replace(g, winner=0) if g.name in undecided else g
                                           for g in games)
    values = np.concatenate([b.values for b in stream])
    kept = sum(g.actions.size for g in games if g.name not in undecided)
    assert values.size == kept and np.all(np.abs(values) == 1)


def test_one_position_per_game_an_epoch(tiny_data: Path):
    data = value_config(tiny_data, Path("unused"))
    data["data"]["val_positions_per_game"] = 3
    config = sl_config_from_dict(data)
    assert len(validation_set(config)[1]) == 3 * len(GameShards(tiny_data, "val"))
    assert len(validation_set(config, "train")[1]) == len(GameShards(tiny_data, "train"))
    stream = _open_stream(config, "train", seed=3, symmetries=False, max_positions=None, batch_size=16,
                          shuffle_buffer=0)
    epochs = [np.concatenate([b.planes for b in stream]) for _ in range(2)]
    games = len(GameShards(tiny_data, "train"))
    assert [len(e) for e in epochs] == [games, games] and games > 20
    # Each epoch draws other positions: the stone counts (the move numbers) differ.
    stones = [e[:, :2].sum(axis=(1, 2, 3)) for e in epochs]
    assert not np.array_equal(np.sort(stones[0]), np.sort(stones[1]))


def test_the_network_fits_a_batch_and_the_mse_is_the_loss(tiny_data: Path, tmp_path: Path):
    trainer = SLTrainer(sl_config_from_dict(value_config(tiny_data, tmp_path / "run", per_game=0)))
    planes, values = validation_set(trainer.config)
    planes, values = planes[:32], values[:32]
    before = evaluate_value(trainer.model, planes, values)
    assert before["zero_mse"] == pytest.approx(float(np.mean(values ** 2)))
    with torch.no_grad():
        predicted = trainer.model(torch.from_numpy(planes).float())
    assert before["mse"] == pytest.approx(float(np.mean((predicted.numpy() - values) ** 2)), rel=1e-5)
    for _ in range(150):
        trainer.train_step(planes, values)
    after = evaluate_value(trainer.model, planes, values)
    assert after["mse"] < 0.2 * before["zero_mse"], (before, after)
    assert trainer.step == 150 and trainer.samples == 150 * 32


def test_a_value_run_writes_mse_metrics_and_resumes(tiny_data: Path, tmp_path: Path):
    config = sl_config_from_dict(value_config(tiny_data, tmp_path / "run", max_steps=6))
    first = train_sl_policy(config, progress=False, log=lambda _: None)
    assert first["target"] == "value" and first["step"] == 6 and "best_val_top1" not in first
    assert first["best_val_mse"] == first["val_mse"] and first["val_zero_mse"] > 0.5
    config.train.max_steps = 12
    summary = train_sl_policy(config, progress=False, log=lambda _: None)
    assert summary["step"] == 12 and first["samples"] < summary["samples"] <= 12 * 16  # an epoch's last batch may be short
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [6, 12]
    assert all({"val_mse", "val_zero_mse", "train_loss", "train_positions_mse"} <= line.keys() for line in lines)
    assert all(line["train_loss"] is not None for line in lines)  # log_every 3 divides eval_every 6
    assert summary["train_positions_mse"] == lines[-1]["train_positions_mse"]
    state = json.loads((tmp_path / "run" / "checkpoints" / "trainer.json").read_text())
    assert state["best_mse"] == min(line["val_mse"] for line in lines) and "best_top1" not in state
    model, meta = load_checkpoint(tmp_path / "run" / "best")
    assert meta.architecture == "alphago_value" and model.in_planes == 49
    assert meta.config["val_mse"] == state["best_mse"]


def test_a_value_run_saved_before_any_evaluation_resumes(tiny_data: Path, tmp_path: Path):
    config = sl_config_from_dict(value_config(tiny_data, tmp_path / "run"))
    trainer = SLTrainer(config)
    trainer.save()
    state = json.loads((tmp_path / "run" / "checkpoints" / "trainer.json").read_text())  # strict JSON: no Infinity
    assert state["best_mse"] is None
    assert SLTrainer(config).best_mse == math.inf


def test_a_value_run_with_loader_workers(tiny_data: Path, tmp_path: Path):
    config = sl_config_from_dict(value_config(tiny_data, tmp_path / "run", max_steps=4, eval_every=4,
                                              loader_workers=2))
    summary = train_sl_policy(config, progress=False, log=lambda _: None)
    assert summary["step"] == 4 and math.isfinite(summary["val_mse"])


def test_a_value_run_starts_from_a_policy_trunk(tiny_data: Path, tmp_path: Path):
    torch.manual_seed(5)
    policy = AlphaGoPolicyNet(19, filters=8, layers=3)
    save_checkpoint(tmp_path / "policy", policy)
    data = value_config(tiny_data, tmp_path / "run")
    data["network"]["init_checkpoint"] = str(tmp_path / "policy")
    trainer = SLTrainer(sl_config_from_dict(data))
    assert torch.equal(trainer.model.trunk[0].weight[:, :48], policy.trunk[0].weight)
    assert torch.count_nonzero(trainer.model.trunk[0].weight[:, 48:]) == 0
    assert torch.equal(trainer.model.trunk[2].weight, policy.trunk[2].weight)
    # A resumed run keeps its own weights, not the init checkpoint's.
    data["train"]["max_steps"] = 3
    train_sl_policy(sl_config_from_dict(data), progress=False, log=lambda _: None)
    resumed = SLTrainer(sl_config_from_dict(data))
    saved, _ = load_checkpoint(tmp_path / "run" / "checkpoints" / "step-00000003")
    assert resumed.resumed and torch.equal(resumed.model.trunk[2].weight, saved.trunk[2].weight)
    assert not torch.equal(resumed.model.trunk[2].weight, policy.trunk[2].weight)
    save_checkpoint(tmp_path / "wide", AlphaGoPolicyNet(19, filters=16, layers=3))
    data["network"]["init_checkpoint"] = str(tmp_path / "wide")
    data["run_dir"] = str(tmp_path / "fresh")
    with pytest.raises(CheckpointError, match="init_checkpoint .*does not fit the value network"):
        SLTrainer(sl_config_from_dict(data))


def test_a_value_run_starts_from_a_value_checkpoint_with_the_same_head(tiny_data: Path, tmp_path: Path):
    torch.manual_seed(6)
    source = AlphaGoValueNet(19, filters=8, layers=3)
    save_checkpoint(tmp_path / "value", source)
    data = value_config(tiny_data, tmp_path / "run")
    data["network"]["init_checkpoint"] = str(tmp_path / "value")
    trainer = SLTrainer(sl_config_from_dict(data))
    for name, tensor in source.state_dict().items():
        assert torch.equal(trainer.model.state_dict()[name], tensor), name
    save_checkpoint(tmp_path / "relu", AlphaGoValueNet(19, filters=8, layers=3, head_relu=True))
    data["network"]["init_checkpoint"] = str(tmp_path / "relu")
    data["run_dir"] = str(tmp_path / "fresh")
    with pytest.raises(CheckpointError, match="head_relu"):
        SLTrainer(sl_config_from_dict(data))


def test_the_commands_refuse_the_other_targets_config(tiny_data: Path, tmp_path: Path, capsys):
    with pytest.raises(ConfigError, match="target"):
        sl_config_from_dict({"target": "ownership"})
    assert sl_config_from_dict({"target": "value"}).run_dir == "runs/sl-value19"  # not the policy's folder
    assert sl_config_from_dict({}).run_dir == "runs/sl-policy19"
    path = tmp_path / "value.yaml"
    path.write_text(yaml.safe_dump(value_config(tiny_data, tmp_path / "run", max_steps=3, eval_every=3)))
    assert main(["train", "sl-policy", "--config", str(path)]) == 2
    assert "tenuki train sl-value" in capsys.readouterr().err
    assert main(["train", "sl-value", "--config", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["step"] == 3 and summary["target"] == "value"
    policy_config = Path(__file__).parents[2] / "configs" / "sl" / "policy19.yaml"
    assert main(["train", "sl-value", "--config", str(policy_config)]) == 2
    assert "tenuki train sl-policy" in capsys.readouterr().err


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[2] / "configs" / "sl").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_every_sl_config_loads(path: Path):
    from tenuki.agents.go.networks.checkpoint import read_checkpoint_meta
    from tenuki.agents.go.sl import load_sl_config

    config = load_sl_config(path)
    assert config.run_dir.startswith(f"runs/sl-{config.target}")
    init = config.network.init_checkpoint
    # a shipped network by name (found from any folder), as the shipped configs write it
    assert not init or ("/" not in init and read_checkpoint_meta(init).architecture.startswith("alphago_")), init
