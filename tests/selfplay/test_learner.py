"""tenuki.selfplay.losses and tenuki.selfplay.learner.LearnerCore without Ray (the AlphaZero loss in closed form,
training that lowers the loss, checkpoints that resume exactly and survive a damaged newest
version), and the run's outputs: metrics.csv / plots (tenuki.selfplay.metrics) and status."""

from __future__ import annotations

import csv
import itertools
import json
import logging
import math

import numpy as np
import pytest
import torch

from tenuki.selfplay.config import config_from_dict, dump_config
from tenuki.selfplay.learner import STATE_FILE, LearnerCore, version_name
from tenuki.selfplay.losses import LOSSES, alphazero_loss

N = 5
ACTIONS = N * N + 1


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _config(**learner):
    return config_from_dict({
        "run": {"seed": 3},
        "game": {"size": N},
        "network": {"blocks": 1, "channels": 8},
        "learner": {"batch_size": 16, "learning_rate": 0.02, "momentum": 0.9, **learner},
    })


def _dataset(count: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    """Random 0/1 planes (with the colour plane), one-hot policy targets, +-1 outcomes."""
    rng = np.random.default_rng(seed)
    planes = rng.integers(0, 2, (count, 17, N, N)).astype(np.uint8)
    planes[:, 16] = rng.integers(0, 2, (count, 1, 1))
    policy = np.zeros((count, ACTIONS), np.float32)
    policy[np.arange(count), rng.integers(0, ACTIONS, count)] = 1.0
    value = rng.choice([-1.0, 1.0], count).astype(np.float32)
    return {"planes": planes, "policy": policy, "value": value}


def _state(learner: LearnerCore) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in learner.model.state_dict().items()}


def _momentum(learner: LearnerCore) -> list[torch.Tensor]:
    state = learner.optimizer.state_dict()["state"]
    return [state[i]["momentum_buffer"].clone() for i in sorted(state)]


def _assert_same_tensors(a, b):
    assert len(a) == len(b)
    pairs = zip(a.values(), b.values(), strict=True) if isinstance(a, dict) else zip(a, b, strict=True)
    if isinstance(a, dict):
        assert list(a) == list(b)
    for x, y in pairs:
        assert torch.equal(x, y)


# ------------------------------------------------------------------------------- the loss


class _Fixed(torch.nn.Module):
    """Returns given logits and values whatever the planes (the logits are trainable)."""

    def __init__(self, logits, value):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.tensor(logits, dtype=torch.float32))
        self.value = torch.nn.Parameter(torch.tensor(value, dtype=torch.float32))

    def forward(self, planes):
        assert planes.dtype == torch.float32
        return self.logits, self.value


def test_alphazero_loss_in_closed_form():
    # row 0: uniform logits over 3 actions -> cross-entropy ln 3 for any target;
    # row 1: logits (0, 0, ln 2) -> softmax (1/4, 1/4, 1/2), one-hot target on action 0 -> ln 4
    model = _Fixed([[0.0, 0.0, 0.0], [0.0, 0.0, math.log(2.0)]], [0.5, 0.25])
    pi = torch.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    batch = {"planes": torch.zeros(2, 17, 3, 3, dtype=torch.uint8), "policy": pi, "value": torch.tensor([1.0, -1.0])}
    config = config_from_dict({"learner": {"value_weight": 2.0}})
    total, metrics = alphazero_loss(model, batch, config)
    policy = (math.log(3.0) + math.log(4.0)) / 2  # = ln(12) / 2
    value = ((1.0 - 0.5) ** 2 + (-1.0 - 0.25) ** 2) / 2  # = 0.90625
    entropy = -(0.2 * math.log(0.2) + 0.3 * math.log(0.3) + 0.5 * math.log(0.5)) / 2  # row 1: 0 log 0 = 0
    assert metrics["policy_loss"] == pytest.approx(policy, rel=1e-6)
    assert metrics["value_loss"] == pytest.approx(value, rel=1e-6)
    assert metrics["loss"] == pytest.approx(policy + 2.0 * value, rel=1e-6)
    assert total.item() == pytest.approx(policy + 2.0 * value, rel=1e-6)
    assert metrics["policy_kl"] == pytest.approx(policy - entropy, rel=1e-5)
    # gradients: d/dlogits = (softmax - pi) / B, d/dv = weight * 2 (v - z) / B
    total.backward()
    softmax = np.array([[1 / 3, 1 / 3, 1 / 3], [0.25, 0.25, 0.5]])
    np.testing.assert_allclose(model.logits.grad.numpy(), (softmax - pi.numpy()) / 2, atol=1e-6)
    np.testing.assert_allclose(model.value.grad.numpy(), 2.0 * 2 * np.array([0.5 - 1.0, 0.25 + 1.0]) / 2, atol=1e-6)


def test_alphazero_loss_on_the_network_matches_numpy():
    config = _config()
    learner = LearnerCore(config)
    data = _dataset(8, seed=1)
    batch = {k: torch.from_numpy(v) for k, v in data.items()}
    learner.model.eval()
    total, metrics = LOSSES["alphazero"](learner.model, batch, config)
    with torch.no_grad():
        logits, value = learner.model(batch["planes"].float())
    logits, value = logits.double().numpy(), value.double().numpy()
    log_softmax = logits - logits.max(1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(1, keepdims=True))
    policy = -(data["policy"] * log_softmax).sum(1).mean()
    mse = ((data["value"] - value) ** 2).mean()
    assert metrics["policy_loss"] == pytest.approx(policy, rel=1e-5)
    assert metrics["value_loss"] == pytest.approx(mse, rel=1e-5)
    assert total.item() == pytest.approx(policy + mse, rel=1e-5)


# ------------------------------------------------------------------------------- training


def test_training_on_a_fixed_dataset_lowers_the_loss():
    learner = LearnerCore(_config())
    data = _dataset(16)
    losses = []
    means = learner.train(itertools.repeat(data), 30, on_step=lambda i, m: losses.append(m["loss"]))
    assert len(losses) == 30
    assert learner.step == 30 and learner.samples_trained == 30 * 16
    assert learner.version == 0  # train does not publish a version
    assert means["loss"] == pytest.approx(np.mean(losses))
    assert set(means) == {"loss", "policy_loss", "value_loss", "policy_kl"}
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses
    assert not learner.model.training  # back in eval mode for inference


def test_the_same_seed_builds_the_same_network():
    a, b = LearnerCore(_config()), LearnerCore(_config())
    _assert_same_tensors(_state(a), _state(b))


# ------------------------------------------------------------------------------- checkpoints


def _trained(run_dir, steps: int = 4, versions: int = 1, seed: int = 0) -> tuple[LearnerCore, list[dict]]:
    """A learner that saved version 0, then ``versions`` versions of ``steps`` steps each; returns
    the weights of every saved version too."""
    learner = LearnerCore(_config(), run_dir)
    learner.save()
    saved = [_state(learner)]
    batches = (_dataset(16, seed=seed + i) for i in itertools.count())
    for _ in range(versions):
        learner.train(batches, steps)
        learner.new_version()
        learner.save()
        saved.append(_state(learner))
    return learner, saved


def test_a_fresh_run_dir_starts_at_version_0(tmp_path):
    learner = LearnerCore(_config(), tmp_path)
    assert (learner.version, learner.step, learner.samples_trained, learner.resumed_from) == (0, 0, 0, None)
    assert not (tmp_path / "checkpoints").exists()


def test_save_then_resume_restores_everything(tmp_path):
    learner, _ = _trained(tmp_path, steps=5)
    record = json.loads((tmp_path / "checkpoints" / STATE_FILE).read_text())
    assert record == {"version": 1, "step": 5, "samples_trained": 80, "checkpoint": "v000001"}
    for suffix in (".safetensors", ".json", ".optimizer.safetensors"):
        assert (tmp_path / "checkpoints" / f"v000001{suffix}").exists()

    resumed = LearnerCore(_config(), tmp_path)
    assert resumed.resumed_from == "v000001"
    assert (resumed.version, resumed.step, resumed.samples_trained) == (1, 5, 80)
    _assert_same_tensors(_state(resumed), _state(learner))
    _assert_same_tensors(_momentum(resumed), _momentum(learner))
    assert any(m.abs().sum() > 0 for m in _momentum(resumed))
    # the resumed learner continues exactly as the original would have
    data = _dataset(16, seed=42)
    learner.train(itertools.repeat(data), 2)
    resumed.train(itertools.repeat(data), 2)
    _assert_same_tensors(_state(resumed), _state(learner))
    assert resumed.step == learner.step == 7


def test_the_learning_rate_drops_at_its_version_and_stays_dropped_after_a_resume(tmp_path):
    config = _config(lr_drop_version=2, lr_drop_factor=0.25)
    learner = LearnerCore(config, tmp_path)
    data = _dataset(16, seed=5)
    seen = []
    for _ in range(3):
        learner.train(itertools.repeat(data), 1)
        seen.append(learner.optimizer.param_groups[0]["lr"])
        learner.new_version()
        learner.save()
    assert seen == pytest.approx([0.02, 0.02, 0.005])  # versions 0 and 1 at the base rate, 2 dropped
    resumed = LearnerCore(config, tmp_path)  # the saved optimizer state carries lr 0.005; version 3
    resumed.train(itertools.repeat(data), 1)
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(0.005)
    # the same checkpoint without a drop in the config trains at the base rate again
    undropped = LearnerCore(_config(), tmp_path)  # same checkpoint, no drop configured
    undropped.train(itertools.repeat(data), 1)
    assert undropped.optimizer.param_groups[0]["lr"] == pytest.approx(0.02)
    assert LearnerCore(_config(lr_drop_version=0), None).learning_rate == pytest.approx(0.02)


def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_version(tmp_path, caplog, monkeypatch):
    # a command run earlier in this process may have set up the tenuki logger without propagation
    monkeypatch.setattr(logging.getLogger("tenuki"), "propagate", True)
    _, saved = _trained(tmp_path, steps=3, versions=2)
    folder = tmp_path / "checkpoints"
    assert json.loads((folder / STATE_FILE).read_text())["checkpoint"] == "v000002"
    weights = folder / "v000002.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated after learner.json named it

    resumed = LearnerCore(_config(), tmp_path)
    assert resumed.resumed_from == "v000001"
    assert (resumed.version, resumed.step, resumed.samples_trained) == (1, 3, 48)
    _assert_same_tensors(_state(resumed), saved[1])
    assert "skipping checkpoint v000002" in caplog.text  # logged (WARNING), no longer printed


def test_a_damaged_optimizer_file_falls_back_to_the_previous_version(tmp_path):
    _, saved = _trained(tmp_path, steps=3, versions=2)
    optimizer = tmp_path / "checkpoints" / "v000002.optimizer.safetensors"
    optimizer.write_bytes(optimizer.read_bytes()[:50])
    resumed = LearnerCore(_config(), tmp_path)
    assert resumed.resumed_from == "v000001" and resumed.version == 1
    _assert_same_tensors(_state(resumed), saved[1])


def test_an_unreadable_learner_json_resumes_from_the_newest_checkpoint(tmp_path):
    _, saved = _trained(tmp_path, steps=2, versions=2)
    (tmp_path / "checkpoints" / STATE_FILE).write_text("{not json")
    resumed = LearnerCore(_config(), tmp_path)
    assert resumed.resumed_from == "v000002" and resumed.version == 2 and resumed.step == 4
    _assert_same_tensors(_state(resumed), saved[2])


def test_keep_checkpoints_prunes_old_versions(tmp_path):
    learner = LearnerCore(_config(keep_checkpoints=2), tmp_path)
    data = _dataset(16)
    for _ in range(4):
        learner.train(itertools.repeat(data), 1)
        learner.new_version()
        learner.save()
    names = {p.name for p in (tmp_path / "checkpoints").iterdir()}
    for version in (3, 4):
        for suffix in (".safetensors", ".json", ".optimizer.safetensors"):
            assert f"{version_name(version)}{suffix}" in names
    assert not any(name.startswith(("v000001", "v000002")) for name in names)
    assert LearnerCore(_config(keep_checkpoints=2), tmp_path).version == 4


# ------------------------------------------------------------------------------- metrics and status


def _row(version: int, **values):
    return {"version": version, "elapsed_s": 600.0 * version, "games": 10 * version, "loss": 3.0 - 0.1 * version,
            "policy_loss": 2.5, "value_loss": 0.5, "games_per_hour": 60.0, "elo": None, **values}


def test_metrics_writer_writes_one_row_per_version(tmp_path):
    from tenuki.selfplay.metrics import COLUMNS, MetricsWriter

    writer = MetricsWriter(tmp_path, tensorboard=False)
    writer.row(_row(1))
    writer.row(_row(1, loss=99.0))  # the same version again: ignored
    writer.row(_row(2, elo=35.5))
    writer.close()
    reopened = MetricsWriter(tmp_path, tensorboard=False)  # a resumed run
    reopened.row(_row(2, loss=99.0))
    reopened.row(_row(3))
    reopened.close()
    with (tmp_path / "metrics.csv").open(newline="") as stream:
        reader = csv.DictReader(stream)
        rows = list(reader)
        assert reader.fieldnames == COLUMNS
    assert [r["version"] for r in rows] == ["1", "2", "3"]
    assert float(rows[0]["loss"]) == pytest.approx(2.9) and float(rows[1]["loss"]) == pytest.approx(2.8)
    assert rows[0]["elo"] == "" and float(rows[1]["elo"]) == 35.5  # None -> empty cell
    assert (tmp_path / "metrics.csv").read_text().count("version,") == 1  # one header


def test_metrics_writer_keeps_the_columns_of_an_older_file(tmp_path):
    from tenuki.selfplay.metrics import COLUMNS, MetricsWriter

    old = [c for c in COLUMNS if c not in ("black_win_rate", "mean_moves")]  # a run of an older tenuki
    (tmp_path / "metrics.csv").write_text(",".join(old) + "\n1,600.0,10\n")
    writer = MetricsWriter(tmp_path, tensorboard=False)
    writer.row(_row(2, black_win_rate=0.55, mean_moves=81.0))
    writer.close()
    with (tmp_path / "metrics.csv").open(newline="") as stream:
        reader = csv.DictReader(stream)
        rows = list(reader)
    assert reader.fieldnames == old and all(None not in row for row in rows)  # no cell without a column
    assert [r["version"] for r in rows] == ["1", "2"] and float(rows[1]["loss"]) == pytest.approx(2.8)


def test_plot_run_draws_the_three_plots(tmp_path):
    from tenuki.selfplay.metrics import MetricsWriter, plot_run

    assert plot_run(tmp_path) == []  # no metrics yet
    writer = MetricsWriter(tmp_path, tensorboard=False)
    for version in range(1, 6):
        writer.row(_row(version, elo=20.0 * version if version % 2 else None,
                        gnugo_elo=-300.0 if version == 4 else None))
    written = plot_run(tmp_path)
    assert [p.name for p in written] == ["loss.png", "games_per_hour.png", "elo.png"]
    for path in written:
        assert path.parent == tmp_path / "plots"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000


def test_status_of_a_directory_that_is_not_a_run_is_an_error(tmp_path):
    from tenuki.selfplay.run_state import RunDirError
    from tenuki.selfplay.status import summarize_run

    with pytest.raises(RunDirError, match="not a self-play run directory"):
        summarize_run(tmp_path)
    with pytest.raises(RunDirError):
        summarize_run(tmp_path / "missing")


def test_status_of_a_run_that_has_only_started(tmp_path):
    from tenuki.selfplay.status import format_summary, summarize_run

    (tmp_path / "config.yaml").write_text(dump_config(_config()))
    _trained(tmp_path, steps=1)
    summary = summarize_run(tmp_path)
    assert summary["size"] == N
    assert summary["games"] == 0 and summary["games_per_hour"] is None and summary["train_ratio"] is None
    assert summary["learner_checkpoint"] == "v000001"
    assert summary["best_network"] == str(tmp_path / "checkpoints" / "v000001.safetensors")
    assert summary["replay_snapshot"] is False
    text = format_summary(summary)
    assert "v000001" in text and f"--size {N}" in text and "--player az-mcts" in text
    # an AlphaGo policy run is played with the policy player, a value net with the alphago player
    assert "--player policy --weights" in format_summary({**summary, "architecture": "alphago_policy"})
    assert "--player alphago --value-weights" in format_summary({**summary, "architecture": "alphago_value"})
