"""Batched torch evaluators: the one place where search meets a network.

Search calls an evaluator (``tenuki.search.mcts.Evaluator``)::

    evaluator(planes: float32[B, C, N, N]) -> (policy_logits: float32[B, N*N+1], values: float32[B])

``TorchEvaluator`` wraps any ``GoNetwork`` (``networks.base``) into that callable:

>>> from tenuki.agents.go.networks.resnet import AlphaZeroNet
>>> evaluator = TorchEvaluator(AlphaZeroNet(9, blocks=6, channels=64))
>>> logits, values = evaluator(np.zeros((16, 17, 9, 9), np.float32))
>>> logits.shape, values.shape
((16, 82), (16,))

For AlphaGo, ``TorchEvaluator(combine_policy_value(policy_net, value_net))`` answers the policy
network's prior and the value network's value in one call.

A network with KataGo's ownership head (``AlphaZeroNet(ownership_head=True)``) makes the evaluator's
``has_ownership`` true, and ``evaluate_with_ownership(planes)`` answers the head too (analysis:
``tenuki.search.mcts.MCTS(..., ownership=True)``)::

    evaluate_with_ownership(planes) -> (policy_logits [B, N*N+1], values [B], ownership float32[B, N*N])

ownership in [-1, 1]: tanh of the head's logit, the expected final owner of each point (+1 the side to
move). The head is trained with a binary cross-entropy on 2 * logit (``tenuki.selfplay.losses``), so
tanh(logit) = 2 * sigmoid(2 * logit) - 1 is exactly that expectation.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from tenuki.agents.go.networks.alphago import AlphaGoPolicyNet, AlphaGoPolicyValue, AlphaGoValueNet
from tenuki.agents.go.networks.base import GoNetwork


class TorchEvaluator:
    """A ``GoNetwork`` as a numpy-in, numpy-out evaluator for search.

    The evaluator owns the model: it moves it to ``device`` / ``dtype`` and puts it in eval mode once
    (batch norm then uses its running statistics, so a position's answer does not depend on the rest
    of the batch). Each call runs under ``torch.inference_mode()``.

    Faster options for play on a CPU (``fast_cpu_options``): ``channels_last`` (NHWC activations),
    ``autocast_bfloat16`` (the convolutions in bfloat16, outputs back in float32: logits within
    ~0.05 and values within ~0.01 of float32, 2x faster with ``fuse`` and ``channels_last`` on
    CPUs with AVX512-BF16 / AMX), and ``fuse`` (each convolution followed by batch norm becomes one
    convolution with the norm folded into its weights and bias, ``torch.nn.utils.fusion``: the same
    answers to float rounding). These compute with a prepared copy of the model; ``load_state_dict``
    loads the new weights and prepares the copy again. Play (``tenuki.play.registry``) and the self-play
    workers (``workers.fast_inference``) use them; training does not.

    Copies: a C-contiguous, writeable float32 batch is handed to torch as is (``torch.from_numpy``,
    no copy on the CPU); anything else (another dtype, a strided view such as a flipped symmetry,
    a read-only array) is copied once first. On the CPU in float32 the returned arrays share memory
    with the network's fresh output tensors (no copy either).
    """

    def __init__(
        self,
        model: GoNetwork,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        fuse: bool = False,
        channels_last: bool = False,
        autocast_bfloat16: bool = False,
    ):
        if not isinstance(model, GoNetwork):
            raise TypeError(f"TorchEvaluator needs a GoNetwork (with evaluate()), got {type(model).__name__}")
        self.device = torch.device(device)
        self.dtype = dtype
        self.model = model.to(device=self.device, dtype=dtype).eval()
        self.board_size = model.board_size
        self.in_planes = model.in_planes
        self.num_actions = model.num_actions
        self.has_ownership = bool(getattr(model, "ownership_head", False))
        self.fuse = fuse
        self.channels_last = channels_last
        self.autocast_bfloat16 = autocast_bfloat16
        self._network = self._prepared()

    def _prepared(self) -> GoNetwork:
        """The module that answers: the model itself, or a fused and/or NHWC copy of it."""
        if not (self.fuse or self.channels_last):
            return self.model
        network = fold_batch_norm(self.model) if self.fuse else copy.deepcopy(self.model)
        return network.to(memory_format=torch.channels_last) if self.channels_last else network

    def __call__(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``planes`` float32[B, C, N, N] -> (policy_logits float32[B, N*N+1], values float32[B])."""
        x = self._input(planes)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16,
                                                    enabled=self.autocast_bfloat16):
            logits, values = self._network.evaluate(x)  # [B, N*N+1], [B]
            logits = logits.to(device="cpu", dtype=torch.float32)
            values = values.to(device="cpu", dtype=torch.float32)
        return logits.numpy(), values.numpy()

    def evaluate_with_ownership(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``planes`` float32[B, C, N, N] -> (policy_logits [B, N*N+1], values [B], ownership [B, N*N]), float32;
        ownership = tanh(logit) in [-1, 1] for the side to move. ``ValueError`` without an ownership head."""
        if not self.has_ownership:
            raise ValueError("this network has no ownership head")
        x = self._input(planes)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16,
                                                    enabled=self.autocast_bfloat16):
            logits, values, ownership = self._network.forward_with_ownership(x)  # [B, N*N+1], [B], [B, N*N]
            outputs = [t.to(device="cpu", dtype=torch.float32) for t in (logits, values, torch.tanh(ownership))]
        return tuple(t.numpy() for t in outputs)

    def _input(self, planes: np.ndarray) -> torch.Tensor:
        """The batch as a tensor on the device (copied once where torch cannot take it as is)."""
        self.model.check_input(planes.shape)
        if planes.dtype != np.float32 or not planes.flags.c_contiguous or not planes.flags.writeable:
            planes = np.array(planes, dtype=np.float32, order="C", copy=True)
        x = torch.from_numpy(planes).to(device=self.device, dtype=self.dtype)  # [B, C, N, N]
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def load_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Replace the weights (e.g. a new version from the learner); strict, like ``nn.Module``'s."""
        self.model.load_state_dict(state_dict)
        self._network = self._prepared()


def fast_cpu_options() -> dict[str, bool]:
    """The ``TorchEvaluator`` options for play on this CPU: batch norm folded, NHWC, and bfloat16
    where the CPU computes it natively (elsewhere bfloat16 would be slower than float32)."""
    native_bf16 = bool(getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)())
    return {"fuse": True, "channels_last": True, "autocast_bfloat16": native_bf16}


class _EvaluationOutputs(nn.Module):
    """What an evaluator answers, as one module to convert: (logits, values) or, with ``ownership``,
    (logits, values, tanh(ownership logit))."""

    def __init__(self, network: GoNetwork, ownership: bool):
        super().__init__()
        self.network = network
        self.ownership = ownership

    def forward(self, planes: torch.Tensor):
        if self.ownership:
            logits, values, ownership = self.network.forward_with_ownership(planes)
            return logits, values, torch.tanh(ownership)
        return self.network.evaluate(planes)


class OpenVINOEvaluator:
    """A ``GoNetwork`` compiled by OpenVINO for this CPU: the same interface as ``TorchEvaluator``
    (``__call__``, ``evaluate_with_ownership``, ``has_ownership``, ``in_planes``, ``load_state_dict``).

    The network with batch norm folded (``fold_batch_norm``) is converted once (``openvino.convert_model``,
    the batch dimension left free) and compiled for the CPU with ``threads`` inference threads, one stream,
    the latency hint and ``precision`` (``"bf16"``: bfloat16 where the CPU computes it natively, the
    outputs within the same bounds of float32 as the fast torch path's; ``"f32"``: float32 to rounding).
    Measured by ``bench/inference.py`` (docs/bench/inference.json): 1.3x-1.8x the fast torch path at
    batch 8-32 on the project's AVX512-BF16 CPU. Converting and compiling takes 1-4 s: once per network
    loaded, and again after ``load_state_dict``. The ownership outputs are a second compiled model,
    made on the first ``evaluate_with_ownership``. Needs the ``openvino`` package (the ``fast`` extra);
    ``play_evaluator`` falls back to ``TorchEvaluator`` without it."""

    def __init__(self, model: GoNetwork, precision: str = "bf16", threads: int = 1):
        if not isinstance(model, GoNetwork):
            raise TypeError(f"OpenVINOEvaluator needs a GoNetwork, got {type(model).__name__}")
        if precision not in ("bf16", "f32"):
            raise ValueError(f"precision must be 'bf16' or 'f32', got {precision!r}")
        import openvino  # noqa: F401 - an ImportError here says the package is missing

        self.model = model.to(dtype=torch.float32).eval()
        self.board_size = model.board_size
        self.in_planes = model.in_planes
        self.num_actions = model.num_actions
        self.has_ownership = bool(getattr(model, "ownership_head", False))
        self.precision = precision
        self.threads = threads
        self._requests: dict[bool, object] = {}
        self._request(False)  # compile now: a broken conversion fails at load, not in the first search

    def _request(self, ownership: bool):
        if ownership not in self._requests:
            import openvino as ov

            n = self.board_size
            module = _EvaluationOutputs(fold_batch_norm(self.model), ownership).eval()
            with torch.no_grad():
                converted = ov.convert_model(module, example_input=torch.zeros(2, self.in_planes, n, n))
            converted.reshape({converted.input(0): ov.PartialShape([-1, self.in_planes, n, n])})
            compiled = ov.Core().compile_model(converted, "CPU", {
                "INFERENCE_NUM_THREADS": self.threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": self.precision,
                # OpenVINO pins its inference threads to the first cores by default: two processes (self-play
                # workers, games side by side) would then share core 0 while core 1 idles
                "ENABLE_CPU_PINNING": False,
            })
            self._requests[ownership] = compiled.create_infer_request()
        return self._requests[ownership]

    def _run(self, planes: np.ndarray, ownership: bool) -> list[np.ndarray]:
        self.model.check_input(planes.shape)
        planes = np.ascontiguousarray(planes, dtype=np.float32)
        result = self._request(ownership).infer({0: planes}, share_inputs=True, share_outputs=False)
        return [np.asarray(result[i], np.float32) for i in range(3 if ownership else 2)]

    def __call__(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``planes`` float32[B, C, N, N] -> (policy_logits float32[B, N*N+1], values float32[B])."""
        logits, values = self._run(planes, False)
        return logits, values.reshape(-1)

    def evaluate_with_ownership(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As ``TorchEvaluator.evaluate_with_ownership``; ``ValueError`` without an ownership head."""
        if not self.has_ownership:
            raise ValueError("this network has no ownership head")
        logits, values, ownership = self._run(planes, True)
        return logits, values.reshape(-1), ownership.reshape(planes.shape[0], -1)

    def load_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Replace the weights and compile again (strict, like ``nn.Module``'s)."""
        self.model.load_state_dict(state_dict)
        self._requests = {}
        self._request(False)


def openvino_bf16_available() -> bool:
    """True when the ``openvino`` package is installed and its CPU plugin computes bfloat16 natively."""
    try:
        import openvino as ov
    except ImportError:
        return False
    try:
        return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except RuntimeError:
        return False


# What ``play_evaluator`` uses: "auto" (OpenVINO bf16 where it is installed and the CPU has native
# bfloat16, else the fast torch path), "openvino" or "torch"; the environment variable TENUKI_INFERENCE
# overrides it (e.g. TENUKI_INFERENCE=torch to compare).
INFERENCE_BACKENDS = ("auto", "openvino", "torch")


def play_evaluator(model: GoNetwork, backend: str | None = None, threads: int = 1):
    """The fastest evaluator of ``model`` for play on this CPU (``backend``: ``INFERENCE_BACKENDS``; default
    the TENUKI_INFERENCE environment variable, else "auto")."""
    import os

    backend = backend or os.environ.get("TENUKI_INFERENCE", "auto")
    if backend not in INFERENCE_BACKENDS:
        raise ValueError(f"inference backend {backend!r} is unknown (allowed: {', '.join(INFERENCE_BACKENDS)}; "
                         "from TENUKI_INFERENCE)")
    if backend == "openvino" or (backend == "auto" and openvino_bf16_available()):
        try:
            return OpenVINOEvaluator(model, "bf16" if openvino_bf16_available() else "f32", threads)
        except Exception as error:  # auto: a network OpenVINO cannot take still plays, on torch
            if backend == "openvino":
                raise
            logging.getLogger(__name__).warning("OpenVINO could not compile the network (%s); using torch", error)
    return TorchEvaluator(model, **fast_cpu_options())


def fold_batch_norm(model: GoNetwork) -> GoNetwork:
    """An eval-mode copy of ``model`` where each ``Sequential(Conv2d, BatchNorm2d)`` is one
    convolution with the norm's running statistics and affine folded in; other modules are kept."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    fused = copy.deepcopy(model).eval()
    for module in list(fused.modules()):
        if not isinstance(module, nn.Sequential):
            continue
        for i in range(len(module) - 1):
            conv, norm = module[i], module[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                module[i] = fuse_conv_bn_eval(conv, norm)
                module[i + 1] = nn.Identity()
    return fused


def combine_policy_value(policy_net: AlphaGoPolicyNet, value_net: AlphaGoValueNet) -> AlphaGoPolicyValue:
    """AlphaGo's policy network (prior) and value network (leaf value) as one ``GoNetwork``.

    The result takes the value network's planes [B, C_v, N, N] (AlphaGo: 49) and feeds their first
    ``policy_net.in_planes`` (48) to the policy network; wrap it in ``TorchEvaluator`` for search.
    Raises ``ValueError`` if the board sizes differ or the policy network needs more planes.
    """
    return AlphaGoPolicyValue(policy_net, value_net)
