"""``tenuki eval value``: train MSE on the run's replay snapshot, test MSE on fresh games generated
like the training data (seeds no training game uses), both equal to a direct computation; the test
set is cached; bad run directories are clear errors. 9x9, tiny networks, games capped at 30 moves."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from tenuki.agents.go.networks.alphago import AlphaGoPolicyNet, AlphaGoValueNet
from tenuki.agents.go.networks.checkpoint import save_checkpoint
from tenuki.commands.main import main
from tenuki.selfplay.alphago.value_eval import (
    TEST_SEED_BASE,
    ValueEvalError,
    _play_value_games,
    evaluate_value_run,
    train_positions,
)
from tenuki.selfplay.config import config_from_dict
from tenuki.selfplay.games import sample_fields
from tenuki.selfplay.losses import LOSSES
from tenuki.selfplay.replay import ReplayStore
from tenuki.selfplay.run_state import SNAPSHOT_FILE, prepare_run_dir

N = 9


@pytest.fixture
def value_run(tmp_path):
    torch.manual_seed(0)
    sl = save_checkpoint(tmp_path / "sl", AlphaGoPolicyNet(N, filters=8, layers=2), step=0, config={})
    config = config_from_dict({
        "run": {"seed": 3},
        "game": {"size": N, "max_moves": 30},
        "network": {"architecture": "alphago_value", "filters": 8, "layers": 2},
        "workers": {"game_generator": "value_data", "sl_policy": str(sl)},
        "learner": {"loss": "value_mse", "batch_size": 8},
        "replay": {"window_min": 100, "window_max": 1000, "min_positions": 4},
        "evaluator": {"every_versions": 0, "gnugo_every_versions": 0},
    })
    run_dir = tmp_path / "run"
    config = prepare_run_dir(config, run_dir, resume=False)
    train_seeds = [config.run.seed * 1_000_003 + g for g in range(12)]  # as the coordinator seeds game g
    planes, values = _play_value_games(config, train_seeds)
    store = ReplayStore(sample_fields(config), 1000, 100, 0.0, 0.0, False, N, 0)
    for g in range(len(values)):
        store.add(g, {"planes": planes[g:g + 1], "value": values[g:g + 1]})
    store.snapshot(run_dir / SNAPSHOT_FILE)
    torch.manual_seed(1)
    value_net = AlphaGoValueNet(N, filters=8, layers=2)
    checkpoint = save_checkpoint(tmp_path / "value", value_net, step=7, config={})
    return config, run_dir, checkpoint, value_net, planes, values


def _mse(net, planes, values) -> float:
    with torch.no_grad():
        predicted = net(torch.from_numpy(planes.astype(np.float32))).double().numpy()
    return float(np.mean((predicted - values) ** 2))


def _constant_value_net(value: float) -> AlphaGoValueNet:
    """A value network whose output is ``value`` for every position: the output layer's weights are zero and
    its bias is atanh(value), so the final tanh gives ``value`` back."""
    torch.manual_seed(2)
    net = AlphaGoValueNet(N, filters=8, layers=2)
    with torch.no_grad():
        net.fc_out.weight.zero_()
        net.fc_out.bias.fill_(math.atanh(value))
    return net


def _closed_form_mse(prediction: float, outcomes: np.ndarray) -> float:
    """MSE of a constant prediction p against outcomes in {-1, 0, +1}: wins cost (p - 1)^2, draws p^2,
    losses (p + 1)^2."""
    wins, draws, losses = (int(np.sum(outcomes == z)) for z in (1, 0, -1))
    assert wins + draws + losses == len(outcomes)
    total = wins * (prediction - 1) ** 2 + draws * prediction**2 + losses * (prediction + 1) ** 2
    return total / len(outcomes)


def test_mse_of_networks_of_known_sign_equals_the_closed_form(value_run, ray_cluster, tmp_path):
    """+0.9 and -0.9 everywhere: a sign error in the targets or in the loss moves the MSE by 3.6 times
    the mean outcome, far beyond the tolerance (the seeds give sets whose mean outcome is not zero)."""
    config, run_dir, _, _, planes, values = value_run
    test_seeds = [TEST_SEED_BASE + config.run.seed * 1_000_003 + i for i in range(5)]
    _, test_values = _play_value_games(config, test_seeds)
    assert abs(float(np.mean(values))) > 0.05 and abs(float(np.mean(test_values))) > 0.05, (values,
                                                                                          test_values)
    results = {}
    for prediction in (0.9, -0.9):
        net = _constant_value_net(prediction)
        with torch.no_grad():
            out = net(torch.from_numpy(planes.astype(np.float32)))
        np.testing.assert_allclose(out.numpy(), prediction, atol=1e-6)
        checkpoint = save_checkpoint(tmp_path / f"value{prediction:+}", net, step=1, config={})
        result = results[prediction] = evaluate_value_run(checkpoint, run_dir, test_games=5)
        assert result["train_mse"] == pytest.approx(_closed_form_mse(prediction, values), abs=2e-5)
        assert result["test_mse"] == pytest.approx(_closed_form_mse(prediction, test_values), abs=2e-5)
        # The training loss of `tenuki train value` (learner.loss: value_mse) on the same positions.
        batch = {"planes": torch.from_numpy(planes.astype(np.float32)), "value": torch.from_numpy(values)}
        loss, _ = LOSSES["value_mse"](net, batch, config)
        assert loss.item() == pytest.approx(_closed_form_mse(prediction, values), abs=2e-5)
    gap = abs(results[0.9]["train_mse"] - results[-0.9]["train_mse"])
    assert gap == pytest.approx(3.6 * abs(float(np.mean(values))), abs=1e-4) and gap > 0.25


def test_train_positions_are_the_snapshot_in_order(value_run):
    config, run_dir, _, _, planes, values = value_run
    got_planes, got_values = train_positions(run_dir, config)
    np.testing.assert_array_equal(got_planes, planes)
    np.testing.assert_array_equal(got_values, values)
    assert set(np.unique(values)) <= {-1.0, 0.0, 1.0}


def test_train_and_test_mse_equal_a_direct_computation_and_the_test_set_is_cached(value_run, ray_cluster):
    config, run_dir, checkpoint, net, planes, values = value_run
    result = evaluate_value_run(checkpoint, run_dir, test_games=5)
    assert result["train_positions"] == 12 and result["test_positions"] == 5 and result["step"] == 7
    assert result["train_mse"] == pytest.approx(_mse(net, planes, values), abs=1e-4)
    test_seeds = [TEST_SEED_BASE + config.run.seed * 1_000_003 + i for i in range(5)]
    test_planes, test_values = _play_value_games(config, test_seeds)
    assert result["test_mse"] == pytest.approx(_mse(net, test_planes, test_values), abs=1e-4)
    assert result["baseline_zero_test_mse"] == pytest.approx(float(np.mean(test_values.astype(float) ** 2)), abs=1e-5)
    assert result["test_set"].startswith("generated")
    again = evaluate_value_run(checkpoint, run_dir, test_games=5)  # read back from the cache, no games
    assert again["test_set"] == "cached" and again["test_mse"] == result["test_mse"]
    assert (run_dir / "value-test-5.npz").exists()


def test_cli_prints_one_json_object_and_names_bad_input(value_run, ray_cluster, tmp_path, capsys):
    _, run_dir, checkpoint, *_ = value_run
    assert main(["eval", "value", "--checkpoint", str(checkpoint), "--run-dir", str(run_dir), "--test-games", "2",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["test_positions"] == 2 and result["train_positions"] == 12
    assert main(["eval", "value", "--checkpoint", str(checkpoint), "--run-dir", str(tmp_path / "nowhere")]) == 2
    assert "not a run directory" in capsys.readouterr().err
    (run_dir / SNAPSHOT_FILE).unlink()
    with pytest.raises(ValueEvalError, match="replay snapshot"):
        evaluate_value_run(checkpoint, run_dir, test_games=2)
