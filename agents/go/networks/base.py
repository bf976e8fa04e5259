"""What every Go network of tenuki shares: the ``evaluate`` protocol and its constructor record.

Each network's ``forward`` returns its *natural* outputs (the AlphaZero net a pair, the AlphaGo
policy net logits only, the AlphaGo value net a value only). Search needs one shape of answer, so
every network also has ``evaluate``::

    evaluate(planes: float32[B, C, N, N]) -> (policy_logits: float32[B, N*N+1], value: float32[B])

- ``policy_logits`` are unnormalised (softmax is the caller's: search masks illegal moves first);
  action ``row * N + col`` from the top-left, action ``N * N`` is pass (``envs/go/coords.py``).
- ``value`` is in [-1, 1], the expected outcome for the colour the planes are seen from
  (the side to move), as in AlphaGo Zero.
- A network without a policy head answers uniform logits (zeros); one without a value head
  answers value 0 ("no opinion"). ``tenuki.agents.go.evaluator.combine_policy_value`` joins the two
  AlphaGo networks into one that has both.

``init_kwargs()`` returns the constructor arguments, so that ``build_network(architecture,
**kwargs)`` rebuilds the same network: that pair is what a checkpoint's sidecar records.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn


def check_positive_int(name: str, value: Any) -> int:
    """``value`` as an int if it is a positive integer (bools refused), else a ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is a bool, else a ``ValueError`` naming it (a checkpoint's kwargs are JSON)."""
    if value is not True and value is not False:
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


class GoNetwork(nn.Module):
    """Base of the Go networks: board size, input planes, the ``evaluate`` protocol.

    Subclasses set ``architecture`` (the registry name written into checkpoints) and implement
    ``init_kwargs`` and ``evaluate``.
    """

    architecture: ClassVar[str] = ""

    def __init__(self, board_size: int, in_planes: int):
        super().__init__()
        self.board_size = check_positive_int("board_size", board_size)
        self.in_planes = check_positive_int("in_planes", in_planes)
        self.num_actions = board_size * board_size + 1  # N*N points + pass

    def init_kwargs(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serialisable) that rebuild this network."""
        raise NotImplementedError

    def evaluate(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``planes`` [B, C, N, N] -> (policy_logits [B, N*N+1], value [B]); see the module docstring."""
        raise NotImplementedError

    def input_shape(self) -> tuple[int, int, int]:
        """The shape of one input position: (C, N, N)."""
        return (self.in_planes, self.board_size, self.board_size)

    def check_input(self, shape: tuple[int, ...]) -> None:
        """Raise a ``ValueError`` unless ``shape`` is [B, C, N, N] for this network (B >= 1)."""
        if len(shape) != 4 or tuple(shape[1:]) != self.input_shape() or shape[0] < 1:
            c, n, _ = self.input_shape()
            raise ValueError(
                f"{type(self).__name__} takes planes of shape [B, {c}, {n}, {n}] with B >= 1, "
                f"got {list(shape)}"
            )

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value!r}" for key, value in self.init_kwargs().items())
