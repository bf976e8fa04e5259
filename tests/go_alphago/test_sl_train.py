"""Supervised policy training (``tenuki train sl-policy``) and ``tenuki eval policy`` on a tiny
dataset of real Tom games: learning happens, a resumed run continues the same counters and
optimizer state, bad configs name the key, and both commands print one JSON object."""

from __future__ import annotations

import json
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
import torch
import yaml

from tenuki.agents.go.networks.alphago import AlphaGoPolicyNet, AlphaGoValueNet
from tenuki.agents.go.networks.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tenuki.agents.go.sl import (
    SLTrainer,
    TrainingDiverged,
    evaluate_checkpoint,
    evaluate_policy,
    learning_rate,
    legal_mask,
    load_sl_config,
    result_winner,
    sl_config_from_dict,
    train_sl_policy,
    training_batches,
    validation_set,
)
from tenuki.agents.go.sl.data import _StreamParts
from tenuki.agents.go.train_state import read_optimizer_state
from tenuki.commands.main import main
from tenuki.selfplay.config import ConfigError
from tests.go_alphago.conftest import tiny_config

pytestmark = pytest.mark.data


def test_config_errors_name_the_key(tmp_path: Path):
    with pytest.raises(ConfigError, match="optim.optimizer"):
        sl_config_from_dict({"optim": {"optimizer": "lbfgs"}})
    with pytest.raises(ConfigError, match="network.depth"):
        sl_config_from_dict({"network": {"depth": 3}})
    with pytest.raises(ConfigError, match="train.max_steps"):
        sl_config_from_dict({"train": {"max_steps": "many"}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_sl_config(bad)
    assert load_sl_config(Path(__file__).parents[2] / "configs" / "sl" / "policy19.yaml").network.filters == 64


def test_legal_mask_reads_the_features(tiny_data: Path):
    config = sl_config_from_dict(tiny_config(tiny_data, Path("unused")))
    planes, actions = validation_set(config)
    mask = legal_mask(torch.from_numpy(planes[:64]).float())
    assert mask[:, -1].all()  # pass
    # Every human move is legal, and occupied points never are.
    assert mask[torch.arange(64), torch.from_numpy(actions[:64])].all()
    occupied = torch.from_numpy(planes[:64, 0] + planes[:64, 1]).flatten(1) > 0
    assert not (mask[:, :-1] & occupied).any()


def test_tiny_training_lowers_the_validation_loss(tiny_data: Path, tmp_path: Path):
    config = sl_config_from_dict(tiny_config(tiny_data, tmp_path / "run"))
    planes, actions = validation_set(config)
    before = evaluate_policy(SLTrainer(config).model, planes, actions)
    summary = train_sl_policy(config, progress=False, log=lambda _: None)
    assert summary["step"] == 60 and summary["samples"] == 60 * 32
    assert summary["val_loss"] < before["loss"] - 0.3, (before, summary)
    # Among ~250 legal moves, even this tiny net must beat chance by far after 60 steps.
    assert summary["val_top5"] > 5 * 5 / 250
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [30, 60]
    assert (tmp_path / "run" / "best.safetensors").exists()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("val/top1")] == [30, 60]
    assert [e.value for e in events.Scalars("val/top1")] == pytest.approx([line["val_top1"] for line in lines])
    assert [e.step for e in events.Scalars("train/loss")] == list(range(10, 61, 10))
    assert {"train/top1", "train/samples_per_s", "val/loss", "val/top5"} <= set(events.Tags()["scalars"])


def test_resume_continues_the_same_step_samples_and_optimizer_state(tiny_data: Path, tmp_path: Path):
    config = sl_config_from_dict(tiny_config(tiny_data, tmp_path / "run", max_steps=20, eval_every=20))
    train_sl_policy(config, progress=False, log=lambda _: None)
    first = SLTrainer(config)
    assert first.resumed and first.step == 20 and first.samples == 20 * 32
    checkpoints = tmp_path / "run" / "checkpoints"
    assert json.loads((checkpoints / "trainer.json").read_text())["checkpoint"] == "step-00000020"
    saved, _ = load_checkpoint(checkpoints / "step-00000020")
    for name, tensor in saved.state_dict().items():
        assert torch.equal(first.model.state_dict()[name], tensor)
    momentum = read_optimizer_state(checkpoints / "step-00000020.optimizer.safetensors")
    restored = first.optimizer.state_dict()["state"]
    assert momentum and all(torch.equal(restored[int(k.split(".")[0])][k.split(".", 1)[1]], v) for k, v in momentum.items())
    # Continue to 30 steps: the counters go on from 20, not from 0.
    config.train.max_steps = 30
    summary = train_sl_policy(config, progress=False, log=lambda _: None)
    assert summary["step"] == 30 and summary["samples"] == 30 * 32
    state = json.loads((checkpoints / "trainer.json").read_text())
    assert state["step"] == 30 and state["checkpoint"] == "step-00000030"
    # Only the committed step's files remain (the step-20 ones went after the step-30 commit).
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        "step-00000030.json", "step-00000030.optimizer.safetensors", "step-00000030.safetensors", "trainer.json"]


def test_a_crash_before_the_commit_resumes_from_the_previous_consistent_save(tiny_data: Path, tmp_path: Path):
    """A save killed after writing the new step's files but before trainer.json: the resume takes the
    weights, optimizer and counters of the committed step, all three from the same save."""
    config = sl_config_from_dict(tiny_config(tiny_data, tmp_path / "run", max_steps=20, eval_every=20))
    train_sl_policy(config, progress=False, log=lambda _: None)
    trainer = SLTrainer(config)
    committed = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    moments = read_optimizer_state(tmp_path / "run" / "checkpoints" / "step-00000020.optimizer.safetensors")
    planes, actions = next(iter(training_batches(config, seed=1)))
    trainer.train_step(planes, actions)

    def crash(*_args, **_kwargs):
        raise OSError("killed")

    with patch("tenuki.agents.go.sl.trainer.atomic_write", crash), pytest.raises(OSError, match="killed"):
        trainer.save()  # step 21's network and optimizer are on disk, trainer.json still says step 20
    assert (tmp_path / "run" / "checkpoints" / "step-00000021.safetensors").exists()
    resumed = SLTrainer(config)
    assert resumed.step == 20 and resumed.samples == 20 * 32
    assert all(torch.equal(resumed.model.state_dict()[k], v) for k, v in committed.items())
    state = resumed.optimizer.state_dict()["state"]
    assert all(torch.equal(state[int(k.split(".")[0])][k.split(".", 1)[1]], v) for k, v in moments.items())


def test_a_run_saved_in_the_old_latest_layout_resumes(tiny_data: Path, tmp_path: Path):
    config = sl_config_from_dict(tiny_config(tiny_data, tmp_path / "run", max_steps=20, eval_every=20))
    train_sl_policy(config, progress=False, log=lambda _: None)
    checkpoints = tmp_path / "run" / "checkpoints"
    for suffix in (".safetensors", ".json", ".optimizer.safetensors"):
        (checkpoints / f"step-00000020{suffix}").rename(checkpoints / f"latest{suffix}")
    state = json.loads((checkpoints / "trainer.json").read_text())
    (checkpoints / "trainer.json").write_text(json.dumps({**state, "checkpoint": "latest"}))
    assert SLTrainer(config).step == 20
    config.train.max_steps = 25
    assert train_sl_policy(config, progress=False, log=lambda _: None)["step"] == 25
    assert not (checkpoints / "latest.safetensors").exists()  # replaced by the new layout's step-00000025
    (checkpoints / "trainer.json").write_text(json.dumps({**state, "checkpoint": "../../elsewhere"}))
    with pytest.raises(CheckpointError, match="names the checkpoint"):
        SLTrainer(config)


def test_resuming_a_finished_run_adds_no_metrics_line_and_reports_its_last_evaluation(tiny_data: Path, tmp_path: Path):
    config = sl_config_from_dict(tiny_config(tiny_data, tmp_path / "run", max_steps=20, eval_every=10))
    first = train_sl_policy(config, progress=False, log=lambda _: None)
    metrics = (tmp_path / "run" / "metrics.jsonl").read_text()
    again = train_sl_policy(config, progress=False, log=lambda _: None)
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == metrics
    assert len(metrics.splitlines()) == 2
    assert again["step"] == 20 and again["val_top1"] == first["val_top1"] and again["val_loss"] == first["val_loss"]


def test_linear_schedule_warms_up_then_falls_to_zero_at_the_budget():
    optim = sl_config_from_dict({"optim": {"schedule": "linear", "learning_rate": 0.01, "warmup_steps": 10},
                                 "train": {"max_steps": 100, "max_hours": 0}}).optim
    assert learning_rate(optim, 0, 0.0) == pytest.approx(0.001)  # (0 + 1) / 10 of the rate
    assert learning_rate(optim, 9, 0.09) == pytest.approx(0.01 * 0.91)
    assert learning_rate(optim, 50, 0.5) == pytest.approx(0.005)
    assert learning_rate(optim, 100, 1.0) == 0.0
    with pytest.raises(ConfigError, match="optim.schedule"):
        sl_config_from_dict({"optim": {"schedule": "linear"}, "train": {"max_steps": 0, "max_hours": 0}})
    with pytest.raises(ConfigError, match="train.device"):
        sl_config_from_dict({"train": {"device": "tpu"}})


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error of a machine without a GPU")
def test_a_cuda_config_without_a_gpu_is_a_config_error(tiny_data: Path, tmp_path: Path):
    with pytest.raises(ConfigError, match="train.device: 'cuda'.*no CUDA GPU"):
        SLTrainer(sl_config_from_dict(tiny_config(tiny_data, tmp_path / "run", device="cuda")))
    assert not (tmp_path / "run").exists()


def test_linear_schedule_progress_is_the_larger_share_of_steps_and_hours(tiny_data: Path, tmp_path: Path):
    config = sl_config_from_dict(tiny_config(tiny_data, tmp_path / "run", max_steps=40, max_hours=1.0))
    trainer = SLTrainer(config)
    trainer.step, trainer.elapsed_s = 10, 0.0
    assert trainer.progress() == pytest.approx(0.25)
    trainer.elapsed_s = 1800.0
    assert trainer.progress() == pytest.approx(0.5)


def test_he_init_keeps_the_signal_of_a_deep_relu_stack(tiny_data: Path, tmp_path: Path):
    def output_std(init: str) -> float:
        data = tiny_config(tiny_data, tmp_path / init)
        data["network"] = {"filters": 32, "layers": 13, "init": init}
        model = SLTrainer(sl_config_from_dict(data)).model
        planes = torch.from_numpy(validation_set(sl_config_from_dict(data))[0][:64]).float()
        with torch.no_grad():
            return float(model.trunk(planes).pow(2).mean().sqrt() / planes.pow(2).mean().sqrt())

    torch_gain, he_gain = output_std("torch"), output_std("he")
    # He's gain keeps the root mean square of the activations of the same order through 12 ReLU layers;
    # PyTorch's default (weights at a third of that variance) lets it sink layer after layer.
    assert 0.1 < he_gain < 10 and torch_gain < he_gain / 3, (torch_gain, he_gain)


def test_loader_workers_split_the_games_between_them(tiny_data: Path, tmp_path: Path):
    config = sl_config_from_dict(tiny_config(tiny_data, tmp_path / "run", loader_workers=2))
    loader = torch.utils.data.DataLoader(_StreamParts(config, seed=7), batch_size=None, num_workers=2)
    parts = [(planes.numpy(), actions.numpy()) for planes, actions in loader]  # one epoch from each worker
    single = sl_config_from_dict(tiny_config(tiny_data, tmp_path / "run"))
    whole = list(iter(_StreamParts(single, seed=7)))  # no worker: the whole split in this process
    count = sum(a.size for _, a in parts)
    assert count == sum(a.numpy().size for _, a in whole) > 0
    dataset = _StreamParts(single, seed=7)
    first, second = (np.concatenate([a.numpy() for _, a in dataset]) for _ in range(2))
    assert first.size == second.size and not np.array_equal(first, second)  # each epoch in a new order
    assert all(p.dtype == np.uint8 and p.shape[1:] == (48, 19, 19) for p, _ in parts)


def test_training_with_loader_workers_and_the_linear_schedule(tiny_data: Path, tmp_path: Path):
    data = tiny_config(tiny_data, tmp_path / "run", max_steps=30, eval_every=30, loader_workers=2)
    data["optim"] = {"optimizer": "adam", "learning_rate": 0.003, "batch_size": 32, "schedule": "linear",
                     "warmup_steps": 5, "max_grad_norm": 5.0}
    data["network"]["init"] = "he"
    summary = train_sl_policy(sl_config_from_dict(data), progress=False, log=lambda _: None)
    assert summary["step"] == 30 and summary["samples"] == 30 * 32
    assert summary["val_top5"] > 5 * 5 / 250


def test_a_non_finite_loss_stops_training_before_the_step(tiny_data: Path, tmp_path: Path):
    trainer = SLTrainer(sl_config_from_dict(tiny_config(tiny_data, tmp_path / "run")))
    planes, actions = validation_set(trainer.config)
    with torch.no_grad():  # every logit +inf: the loss is NaN (inf - inf) while no weight is NaN
        trainer.model.position_bias.fill_(float("inf"))
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    assert not any(torch.isnan(v).any() for v in before.values())
    with pytest.raises(TrainingDiverged, match="step 0"):
        trainer.train_step(planes[:32], actions[:32])
    assert trainer.step == 0 and trainer.samples == 0
    for name, tensor in trainer.model.state_dict().items():
        assert torch.equal(tensor, before[name]), name  # bit for bit: the step was not taken
    assert not trainer.optimizer.state  # not even the momentum buffers
    # The same trainer steps once the loss is finite: the weights compared above are ones a step moves.
    with torch.no_grad():
        trainer.model.position_bias.zero_()
    trainer.train_step(planes[:32], actions[:32])
    assert trainer.step == 1
    moved = [n for n, t in trainer.model.state_dict().items()
             if n != "position_bias" and not torch.equal(t, before[n])]
    assert len(moved) >= 3 and all(torch.isfinite(t).all() for t in trainer.model.state_dict().values())


def test_cli_train_then_eval_print_one_json_object(tiny_data: Path, data_dir: Path, tmp_path: Path, capsys):
    config_path = tmp_path / "sl.yaml"
    config_path.write_text(yaml.safe_dump(tiny_config(tiny_data, tmp_path / "run", max_steps=10, eval_every=10)))
    assert main(["train", "sl-policy", "--config", str(config_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["step"] == 10
    kgs = min((data_dir / "go" / "kgs").glob("KGS-*.tar.gz"))
    assert main(["eval", "policy", "--checkpoint", str(tmp_path / "run" / "best.safetensors"), "--games", str(kgs),
                 "--max-positions", "300", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["positions"] == 300 and 0.0 <= result["top1"] <= result["top5"] <= 1.0
    assert "value_mse" not in result
    assert main(["eval", "policy", "--checkpoint", str(tmp_path / "missing.safetensors"), "--games", str(kgs)]) == 2
    assert "tenuki eval policy" in capsys.readouterr().err


def test_value_checkpoint_reports_the_mse_against_results(data_dir: Path, tmp_path: Path):
    torch.manual_seed(0)
    net = AlphaGoValueNet(19, filters=8, layers=3)
    path = save_checkpoint(tmp_path / "value", net)
    result = evaluate_checkpoint(path, data_dir / "go" / "tom9d.tar.gz", max_positions=200)
    assert result["positions"] == 200 and result["value_positions"] > 0
    # A fresh network answers near 0, so its MSE against +-1 outcomes is close to 1.
    assert 0.5 < result["value_mse"] < 1.5
    assert "top1" not in result
    phases = result["value_mse_by_move"]
    assert sum(p["positions"] for p in phases.values()) == result["value_positions"]
    weighted = sum(p["positions"] * p["value_mse"] for p in phases.values()) / result["value_positions"]
    assert weighted == pytest.approx(result["value_mse"], abs=1e-4)


def test_value_mse_by_move_of_a_network_that_always_answers_zero(data_dir: Path, tmp_path: Path):
    """Value 0 against outcomes of +-1: an MSE of exactly 1 in every phase of the game."""
    net = AlphaGoValueNet(19, filters=8, layers=3)
    with torch.no_grad():
        net.fc_out.weight.zero_()
        net.fc_out.bias.zero_()
    path = save_checkpoint(tmp_path / "zero", net)
    result = evaluate_checkpoint(path, data_dir / "go" / "tom9d.tar.gz", max_positions=600)
    phases = result["value_mse_by_move"]
    assert list(phases)[:3] == ["1-50", "51-100", "101-150"] and len(phases) >= 4
    assert result["value_mse"] == 1.0 and all(p["value_mse"] == 1.0 for p in phases.values())


@pytest.mark.parametrize("text, winner", [("B+0.5", 1), ("W+R", -1), ("b+T", 1), ("0", 0), ("Void", 0), (None, 0)])
def test_result_winner(text, winner):
    assert result_winner(text) == winner


def test_evaluate_policy_counts_top1_and_top5():
    class Fixed(torch.nn.Module):
        def forward(self, x):  # prefers action 0, then 1, 2, ...
            return torch.arange(362, 0, -1, dtype=torch.float32).expand(x.shape[0], 362).clone()

    planes = np.zeros((3, 48, 19, 19), np.uint8)
    planes[:, 36] = 1  # every point legal with one liberty after the move
    result = evaluate_policy(Fixed(), planes, np.array([0, 3, 100]))
    assert result["top1"] == pytest.approx(1 / 3) and result["top5"] == pytest.approx(2 / 3)


def test_held_out_keeps_exactly_the_datasets_validation_games(tiny_data: Path, data_dir: Path, tmp_path: Path,
                                                              capsys):
    import itertools

    from tenuki.agents.go.sl.evaluate import held_out_filter
    from tenuki.envs.go.sgf_archives import iter_games

    meta = json.loads((tiny_data / "meta.json").read_text())
    keep = held_out_filter(tiny_data)
    first_40 = list(itertools.islice(iter_games(data_dir / "go" / "tom9d.tar.gz", errors="skip"), 40))
    assert sum(keep(record) for record in first_40) == meta["games"]["val"] > 0
    checkpoint = save_checkpoint(tmp_path / "p", AlphaGoPolicyNet(19, filters=8, layers=2), step=0, config={})
    assert main(["eval", "policy", "--checkpoint", str(checkpoint), "--games", str(data_dir / "go" / "tom9d.tar.gz"),
                 "--held-out", str(tiny_data), "--max-positions", "100", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["positions"] == 100 and result["held_out"] == str(tiny_data)
    assert main(["eval", "policy", "--checkpoint", str(checkpoint), "--games", str(data_dir / "go" / "tom9d.tar.gz"),
                 "--held-out", str(tmp_path)]) == 2
    assert "no readable dataset meta.json" in capsys.readouterr().err


def test_eval_policy_reads_an_sgf_file_and_a_folder_and_rejects_what_it_cannot_score(tmp_path: Path, capsys):
    """A single SGF and a folder of SGFs; a game with an illegal move is skipped whole (none of its
    positions scored), a game of another size is counted; nothing to score is an error, not a 0."""
    checkpoint = save_checkpoint(tmp_path / "p", AlphaGoPolicyNet(19, filters=8, layers=2), step=0, config={})
    legal = "(;GM[1]FF[4]SZ[19]KM[7.5]RE[B+R];B[pd];W[dp];B[pp];W[dd];B[fq])"
    illegal = "(;GM[1]FF[4]SZ[19]KM[7.5]RE[W+R];B[pd];W[dp];B[dp];W[dd])"  # move 3 on an occupied point
    small = "(;GM[1]FF[4]SZ[9]KM[7.5]RE[B+R];B[ee];W[cc])"
    games = tmp_path / "games"
    games.mkdir()
    for name, text in (("a.sgf", legal), ("b.sgf", illegal), ("c.sgf", small)):
        (games / name).write_text(text)

    def run(*argv: str) -> tuple[int, dict | str]:
        code = main(["eval", "policy", "--checkpoint", str(checkpoint), *argv, "--json"])
        captured = capsys.readouterr()
        return code, json.loads(captured.out) if code == 0 else captured.err

    code, result = run("--games", str(games / "a.sgf"))
    assert code == 0 and result["positions"] == 5 and result["games"] == 1
    code, result = run("--games", str(games))
    assert code == 0 and result["positions"] == 5  # the illegal game's two legal moves are not scored
    assert (result["games"], result["skipped_illegal"], result["skipped_size"]) == (1, 1, 1)
    code, error = run("--games", str(games / "c.sgf"))
    assert code == 2 and "no position" in error and "1 of another board size" in error
    code, error = run("--games", str(games / "a.sgf"), "--max-positions", "-1")
    assert code == 2 and "max_positions must be >= 0" in error
    code, error = run("--games", str(tmp_path / "nowhere"))
    assert code == 2 and "no such file or folder" in error
