"""lecture/autoencoders: the lecture's loss in closed form, masking noise, filter statistics, greedy
stacking, and a --quick run that learns (reconstruction below the mean-image baseline, headline passed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tenuki.lecture import _autoencoders_models as models
from tenuki.lecture import autoencoders
from tenuki.lecture.common import LectureError, run_experiment


def test_lecture_loss_closed_form() -> None:
    """L = mean_b ||x_b - r_b||^2 + lambda * sum_l ||W_l||_F^2, computed by hand."""
    torch.manual_seed(0)
    model = models.Autoencoder([6, 4, 3])
    x = torch.rand(5, 6, dtype=torch.float32)
    with torch.no_grad():
        r = model(x)
        loss = models.lecture_loss(model, x, r, weight_penalty=0.01)
    weights = [w.detach().numpy().astype(np.float64) for w in model.weight_matrices()]
    assert [w.shape for w in weights] == [(4, 6), (3, 4), (4, 3), (6, 4)]  # encoder and mirrored decoder
    expected = ((r.numpy() - x.numpy()).astype(np.float64) ** 2).sum(1).mean() \
        + 0.01 * sum(np.linalg.norm(w, "fro") ** 2 for w in weights)
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_forward_is_sigmoid_layers() -> None:
    torch.manual_seed(1)
    model = models.Autoencoder([5, 3])
    x = torch.rand(2, 5)
    enc, dec = model.encoder[0], model.decoder[0]
    expected = torch.sigmoid(dec(torch.sigmoid(enc(x))))
    torch.testing.assert_close(model(x), expected)
    model.linear_code = True  # Hinton & Salakhutdinov's linear code units
    torch.testing.assert_close(model.encode(x), enc(x))
    torch.testing.assert_close(model(x), torch.sigmoid(dec(enc(x))))


def test_masking_noise() -> None:
    x = torch.rand(200, 784) + 0.1
    generator = torch.Generator().manual_seed(0)
    masked = models.mask(x, 0.3, generator)
    zeroed = masked == 0
    assert abs(float(zeroed.float().mean()) - 0.3) < 0.01
    torch.testing.assert_close(masked[~zeroed], x[~zeroed])  # kept components are untouched
    assert models.mask(x, 0.0, generator) is x


def test_filter_statistics_extremes() -> None:
    point = np.zeros((1, 784))
    point[0, 14 * 28 + 14] = 2.0
    stats = models.filter_statistics(point)
    assert stats["effective_pixels"] == pytest.approx(1.0)
    assert stats["spatial_spread_pixels"] == pytest.approx(0.0)
    assert stats["energy_in_top_10pct_pixels"] == pytest.approx(1.0)
    uniform = models.filter_statistics(np.ones((2, 784)))
    assert uniform["effective_pixels"] == pytest.approx(784.0)
    assert uniform["energy_in_top_10pct_pixels"] == pytest.approx(78 / 784)
    assert uniform["roughness"] == 0.0
    white = models.filter_statistics(np.random.default_rng(0).normal(size=(50, 784)))
    assert white["roughness"] == pytest.approx(27 / 28, abs=0.03)  # 2*27*28 neighbour pairs, 2 sigma^2 each


def test_greedy_stack_initialises_the_classifier() -> None:
    torch.manual_seed(0)
    data = torch.rand(64, 20)
    cfg = {**autoencoders.DEFAULTS, "pretrain_epochs": 2}
    stack = models.pretrain_stack(data, [8, 4], 0.3, cfg, seed=0)
    assert [(layer.in_features, layer.out_features) for layer in stack] == [(20, 8), (8, 4)]
    net = models.classifier([20, 8, 4], 10, stack)
    torch.testing.assert_close(net[0].weight, stack[0].weight)
    torch.testing.assert_close(net[2].bias, stack[1].bias)
    assert net(data).shape == (64, 10)


def test_balanced_subset() -> None:
    labels = np.repeat(np.arange(10), 30)
    chosen = models.balanced_subset(labels, 7, np.random.default_rng(0))
    assert len(set(chosen.tolist())) == 70
    assert np.bincount(labels[chosen]).tolist() == [7] * 10


def test_unknown_config_key_is_rejected(tmp_path) -> None:
    with pytest.raises(LectureError, match="unknown keys"):
        autoencoders.run({"noize": 0.3}, quick=True, out_dir=tmp_path)


def test_quick_run_learns(tmp_path) -> None:
    record = run_experiment(autoencoders, quick=True, out_dir=tmp_path)
    assert record["headline"]["passed"], record["headline"]
    errors = record["reconstruction"]
    baseline = errors["baseline_mean_image"]["test_error_clean"]
    for key in ("autoencoder", "deep_autoencoder", "denoising_0", "denoising_30"):
        assert errors[key]["test_error_clean"] < 0.8 * baseline, (key, errors[key], baseline)
    assert record["denoising_beats_plain_on_masked_inputs"]
    sdae = record["stacked_denoising"]["mean"]
    assert sdae["pretrained_test_accuracy"] > 0.5  # far above chance (0.1) with 100-200 labels
    assert {"autoencoder_filters_noise_0.png", "autoencoder_filters_noise_30.png",
            "autoencoder_reconstructions.png"} <= set(record["figures"])
