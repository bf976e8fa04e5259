"""Batched torch evaluators: the one place where search meets a network.

Search calls an evaluator (``search.mcts.Evaluator``)::

    evaluator(planes: float32[B, C, N, N]) -> (policy_logits: float32[B, N*N+1], values: float32[B])

``TorchEvaluator`` wraps any ``GoNetwork`` (``network_base``) into that callable:

>>> from agents.go.resnet import AlphaZeroNet
>>> evaluator = TorchEvaluator(AlphaZeroNet(9, blocks=6, channels=64))
>>> logits, values = evaluator(np.zeros((16, 17, 9, 9), np.float32))
>>> logits.shape, values.shape
((16, 82), (16,))

For AlphaGo, ``TorchEvaluator(combine_policy_value(policy_net, value_net))`` answers the policy
network's prior and the value network's value in one call.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from .alphago_nets import AlphaGoPolicyNet, AlphaGoPolicyValue, AlphaGoValueNet
from .network_base import GoNetwork


class TorchEvaluator:
    """A ``GoNetwork`` as a numpy-in, numpy-out evaluator for search.

    The evaluator owns the model: it moves it to ``device`` / ``dtype`` and puts it in eval mode once
    (batch norm then uses its running statistics, so a position's answer does not depend on the rest
    of the batch). Each call runs under ``torch.inference_mode()``.

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
    ):
        if not isinstance(model, GoNetwork):
            raise TypeError(f"TorchEvaluator needs a GoNetwork (with evaluate()), got {type(model).__name__}")
        self.device = torch.device(device)
        self.dtype = dtype
        self.model = model.to(device=self.device, dtype=dtype).eval()
        self.board_size = model.board_size
        self.in_planes = model.in_planes
        self.num_actions = model.num_actions

    def __call__(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``planes`` float32[B, C, N, N] -> (policy_logits float32[B, N*N+1], values float32[B])."""
        self.model.check_input(planes.shape)
        if planes.dtype != np.float32 or not planes.flags.c_contiguous or not planes.flags.writeable:
            planes = np.array(planes, dtype=np.float32, order="C", copy=True)
        with torch.inference_mode():
            x = torch.from_numpy(planes).to(device=self.device, dtype=self.dtype)  # [B, C, N, N]
            logits, values = self.model.evaluate(x)  # [B, N*N+1], [B]
            logits = logits.to(device="cpu", dtype=torch.float32)
            values = values.to(device="cpu", dtype=torch.float32)
        return logits.numpy(), values.numpy()

    def load_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Replace the weights (e.g. a new version from the learner); strict, like ``nn.Module``'s."""
        self.model.load_state_dict(state_dict)


def combine_policy_value(policy_net: AlphaGoPolicyNet, value_net: AlphaGoValueNet) -> AlphaGoPolicyValue:
    """AlphaGo's policy network (prior) and value network (leaf value) as one ``GoNetwork``.

    The result takes the value network's planes [B, C_v, N, N] (AlphaGo: 49) and feeds their first
    ``policy_net.in_planes`` (48) to the policy network; wrap it in ``TorchEvaluator`` for search.
    Raises ``ValueError`` if the board sizes differ or the policy network needs more planes.
    """
    return AlphaGoPolicyValue(policy_net, value_net)
