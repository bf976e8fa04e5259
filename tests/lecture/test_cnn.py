"""lecture/cnn: the hand-written convolution / pooling / activations equal torch; the parameter-count
example; a --quick run learns (CNN test accuracy over its threshold, fewer parameters than the MLP)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tenuki.lecture import _cnn_ops as ops
from tenuki.lecture import cnn
from tenuki.lecture.common import LectureError, run_experiment

ATOL = 1e-12  # float64 throughout: only summation-order rounding differs


def test_single_kernel_formula_closed_form() -> None:
    """s[i, j] = sum_m sum_n x[i+m, j+n] w[m, n]: a kernel with a single 1 at (1, 2) shifts the image."""
    x = np.arange(30.0).reshape(5, 6)
    w = np.zeros((3, 3))
    w[1, 2] = 1.0
    np.testing.assert_array_equal(ops.conv2d_single_loop(x, w), x[1:4, 2:6])
    box = ops.conv2d_single_loop(x, np.ones((2, 2)))  # sums of 2x2 windows
    assert box[0, 0] == x[0, 0] + x[0, 1] + x[1, 0] + x[1, 1]


def test_single_kernel_matches_torch_cross_correlation() -> None:
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(7, 9)), rng.normal(size=(3, 2))
    expected = F.conv2d(torch.from_numpy(x)[None, None], torch.from_numpy(w)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(ops.conv2d_single_loop(x, w), expected, rtol=0, atol=ATOL)
    # and it is not the flipped-kernel (true) convolution
    assert not np.allclose(ops.conv2d_single_loop(x, w[::-1, ::-1]), expected)


@pytest.mark.parametrize("c_in,c_out,height,width,kernel,stride,padding", [
    (1, 1, 6, 6, 3, 1, 0), (3, 4, 10, 9, 3, 2, 1), (2, 5, 9, 11, 4, 3, 0), (3, 2, 7, 7, 2, 1, 2),
    (4, 3, 8, 8, 5, 2, 2)])
def test_convolution_matches_torch(c_in, c_out, height, width, kernel, stride, padding) -> None:
    rng = np.random.default_rng(c_in * 100 + kernel)
    x = rng.normal(size=(3, c_in, height, width))
    w = rng.normal(size=(c_out, c_in, kernel, kernel))
    b = rng.normal(size=c_out)
    expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride, padding).numpy()
    vectorised = ops.conv2d(x, w, b, stride, padding)
    looped = np.stack([ops.conv2d_loop(image, w, b, stride, padding) for image in x])
    np.testing.assert_allclose(vectorised, expected, rtol=0, atol=ATOL)
    np.testing.assert_allclose(looped, expected, rtol=0, atol=ATOL)
    # batch independence: one image alone gives its row of the batch
    np.testing.assert_allclose(ops.conv2d(x[1:2], w, b, stride, padding)[0], vectorised[1], rtol=0, atol=ATOL)


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("size,stride", [(2, None), (3, 1), (3, 2), (2, 3)])
def test_pooling_matches_torch(mode, size, stride) -> None:
    x = np.random.default_rng(size).normal(size=(2, 3, 10, 9))
    reference = F.max_pool2d if mode == "max" else F.avg_pool2d
    expected = reference(torch.from_numpy(x), size, size if stride is None else stride).numpy()
    np.testing.assert_allclose(ops.pool2d(x, size, stride, mode), expected, rtol=0, atol=ATOL)
    looped = np.stack([ops.pool2d_loop(image, size, stride, mode) for image in x])
    np.testing.assert_allclose(looped, expected, rtol=0, atol=ATOL)


def test_activations_match_torch() -> None:
    z = np.concatenate([np.random.default_rng(0).normal(scale=4.0, size=200), [-800.0, 0.0, 800.0]])
    np.testing.assert_array_equal(ops.relu(z), torch.relu(torch.from_numpy(z)).numpy())
    np.testing.assert_allclose(ops.tanh(z), torch.tanh(torch.from_numpy(z)).numpy(), rtol=0, atol=1e-15)


def test_shapes_that_do_not_fit_are_rejected() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        ops.conv2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="C_in"):
        ops.conv2d(np.zeros((1, 2, 5, 5)), np.zeros((1, 3, 3, 3)))
    with pytest.raises(ValueError, match="pooling mode"):
        ops.pool2d(np.zeros((1, 1, 4, 4)), 2, mode="median")


def test_parameter_count_example() -> None:
    example = cnn.parameter_count_example()
    assert example["fully_connected_weights"] == 1_600_000_000
    assert example["convolution_weights"] == example["convolution_weights_torch"] == 2_500


@pytest.mark.parametrize("bad", [{"epoch": 3}, {"cnn_activations": ["sigmoid"]}, {"cnn_activations": []}])
def test_bad_config_is_rejected(bad, tmp_path) -> None:
    with pytest.raises(LectureError, match="cnn config"):
        cnn.run(bad, quick=True, out_dir=tmp_path)


def test_quick_run_learns(tmp_path) -> None:
    record = run_experiment(cnn, quick=True, out_dir=tmp_path)
    assert record["headline"]["passed"], record["headline"]
    assert record["operations_match_torch"], record["operation_checks_max_abs_diff"]
    models = record["models"]
    assert models["cnn_relu"]["parameters"] < models["mlp"]["parameters"] / 10
    assert models["cnn_relu"]["test_accuracy"] > 0.5  # far above chance (0.1)
    assert {"cnn_filters.png", "cnn_feature_maps.png"} <= set(record["figures"])
    assert (tmp_path / "result.json").exists() and (tmp_path / "summary.md").exists()
