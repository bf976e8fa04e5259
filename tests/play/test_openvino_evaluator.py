"""OpenVINOEvaluator (the `fast` extra) against torch: the same answers, ownership, backends.

OpenVINO's thread pools do not survive a fork, and other tests fork without exec (torch DataLoader
workers, Ray): each test here runs in a child process of its own (``own_process``, tests/conftest.py),
so OpenVINO never loads into the test process.
"""

from __future__ import annotations

import numpy as np
import pytest

from tenuki.agents.go.evaluator import TorchEvaluator
from tenuki.agents.go.networks import build_network
from tests.agents.test_networks import SMALL, one_torch_thread, random_planes, small_net  # noqa: F401 - autouse fixture

pytestmark = pytest.mark.own_process


def _openvino_or_skip():
    return pytest.importorskip("openvino", reason="the `fast` extra (openvino) is not installed")


@pytest.mark.parametrize("architecture", sorted(SMALL))
def test_openvino_evaluator_answers_what_torch_answers(architecture: str) -> None:
    """f32: the plain float32 model's answers to rounding, any batch size (the batch is left free);
    bf16: within the fast torch path's bounds. New weights are compiled again, not left stale."""
    _openvino_or_skip()
    from tenuki.agents.go.evaluator import OpenVINOEvaluator, openvino_bf16_available

    plain = TorchEvaluator(small_net(architecture))
    exact = OpenVINOEvaluator(small_net(architecture), precision="f32")
    for batch in (16, 1, 7):
        planes = random_planes(plain.model, batch, seed=batch)
        for got, want in zip(exact(planes), plain(planes), strict=True):
            assert got.shape == want.shape and got.dtype == np.float32
            np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)
    if openvino_bf16_available():
        fast = OpenVINOEvaluator(small_net(architecture), precision="bf16")
        planes = random_planes(plain.model, 16)
        (logits, values), (want_logits, want_values) = fast(planes), plain(planes)
        np.testing.assert_allclose(logits, want_logits, atol=0.1, rtol=0.02)
        np.testing.assert_allclose(values, want_values, atol=0.03, rtol=0)
    other = small_net(architecture, seed=5)
    exact.load_state_dict(other.state_dict())
    planes = random_planes(plain.model, 4)
    np.testing.assert_allclose(exact(planes)[0], TorchEvaluator(other)(planes)[0], atol=1e-4, rtol=1e-4)


def test_openvino_evaluator_answers_ownership_like_torch() -> None:
    _openvino_or_skip()
    from tenuki.agents.go.evaluator import OpenVINOEvaluator

    net = build_network("alphazero_resnet", board_size=9, blocks=2, channels=16, ownership_head=True)
    plain = TorchEvaluator(net)
    exact = OpenVINOEvaluator(build_network("alphazero_resnet", board_size=9, blocks=2, channels=16,
                                            ownership_head=True), precision="f32")
    exact.load_state_dict(net.state_dict())
    assert exact.has_ownership
    planes = random_planes(net, 5)
    for got, want in zip(exact.evaluate_with_ownership(planes), plain.evaluate_with_ownership(planes), strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="ownership"):
        OpenVINOEvaluator(small_net("alphazero_resnet"), precision="f32").evaluate_with_ownership(planes)


def test_play_evaluator_backends(monkeypatch) -> None:
    from tenuki.agents.go.evaluator import OpenVINOEvaluator, play_evaluator

    monkeypatch.setenv("TENUKI_INFERENCE", "torch")
    assert isinstance(play_evaluator(small_net("alphazero_resnet")), TorchEvaluator)
    monkeypatch.setenv("TENUKI_INFERENCE", "cuda")
    with pytest.raises(ValueError, match="TENUKI_INFERENCE"):
        play_evaluator(small_net("alphazero_resnet"))
    monkeypatch.delenv("TENUKI_INFERENCE")
    try:
        import openvino  # noqa: F401
    except ImportError:
        assert isinstance(play_evaluator(small_net("alphazero_resnet")), TorchEvaluator)  # auto falls back
    else:
        assert isinstance(play_evaluator(small_net("alphazero_resnet"), backend="openvino"), OpenVINOEvaluator)
