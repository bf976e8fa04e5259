"""The AlphaGo Zero / AlphaZero dual-head residual network.

Silver et al. 2017, "Mastering the game of Go without human knowledge", Nature 550, Methods,
"Neural network architecture" (the same network is used by AlphaZero, Silver et al. 2018):

- a convolutional block: conv 3x3 (``channels`` filters, stride 1) -> batch norm -> ReLU;
- ``blocks`` residual blocks: conv 3x3 -> BN -> ReLU -> conv 3x3 -> BN -> + input -> ReLU;
- policy head: conv 1x1 (2 filters) -> BN -> ReLU -> fully connected to N*N+1 logits;
- value head: conv 1x1 (1 filter) -> BN -> ReLU -> fully connected to 256 -> ReLU
  -> fully connected to 1 -> tanh.

Optional (``ownership_head=True``): KataGo's ownership head (Wu 2019, "Accelerating Self-Play
Learning in Go", section 4.1), here a single conv 1x1 (1 filter, with bias) on the trunk giving one
logit per point; tanh(logit) predicts who owns the point at the end of the game (+1 the side to
move, -1 the opponent). It is an auxiliary training target only: search reads policy and value.

The defaults (19 residual blocks of 256 filters) are the paper's 20-block network ("a single
convolutional block followed by 19 residual blocks"); ``blocks`` counts residual blocks only.

Choices where the paper is silent: the convolutions before a batch norm have no bias (the norm's
shift plays that role); weights start from PyTorch's default initialisation.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tenuki.agents.go.networks.base import GoNetwork, check_positive_int

VALUE_HIDDEN = 256  # width of the value head's hidden layer in the paper


def conv_bn(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    """Convolution (stride 1, 'same' padding, no bias) then batch norm; shapes [B, C_in, N, N] -> [B, C_out, N, N]."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class ResidualBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, skip connection, ReLU: [B, C, N, N] -> [B, C, N, N]."""

    def __init__(self, channels: int):
        super().__init__()
        self.first = conv_bn(channels, channels, 3)
        self.second = conv_bn(channels, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.first(x))
        out = self.second(out)
        return F.relu(out + x)


class AlphaZeroNet(GoNetwork):
    """AlphaGo Zero dual-head residual network (Silver et al. 2017, Methods, "Neural network architecture").

    Input ``[B, in_planes, N, N]`` float32 (the 17 planes of ``tenuki.envs.go.features``); ``forward`` and
    ``evaluate`` both return ``(policy_logits [B, N*N+1], value [B])``, the value in [-1, 1] for the
    side to move.
    """

    architecture = "alphazero_resnet"

    def __init__(
        self,
        board_size: int,
        in_planes: int = 17,
        blocks: int = 19,
        channels: int = 256,
        value_hidden: int = VALUE_HIDDEN,
        ownership_head: bool = False,
    ):
        super().__init__(board_size, in_planes)
        self.blocks = check_positive_int("blocks", blocks)
        self.channels = check_positive_int("channels", channels)
        self.value_hidden = check_positive_int("value_hidden", value_hidden)
        points = board_size * board_size

        self.stem = conv_bn(in_planes, channels, 3)  # [B, C_in, N, N] -> [B, channels, N, N]
        self.tower = nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)))

        self.policy_conv = conv_bn(channels, 2, 1)  # -> [B, 2, N, N]
        self.policy_fc = nn.Linear(2 * points, points + 1)  # [B, 2*N*N] -> [B, N*N+1]

        self.value_conv = conv_bn(channels, 1, 1)  # -> [B, 1, N, N]
        self.value_fc1 = nn.Linear(points, value_hidden)  # [B, N*N] -> [B, 256]
        self.value_fc2 = nn.Linear(value_hidden, 1)  # [B, 256] -> [B, 1]

        self.ownership_head = bool(ownership_head)
        if self.ownership_head:
            self.ownership_conv = nn.Conv2d(channels, 1, 1)  # -> [B, 1, N, N] logits

    def init_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "board_size": self.board_size,
            "in_planes": self.in_planes,
            "blocks": self.blocks,
            "channels": self.channels,
            "value_hidden": self.value_hidden,
        }
        if self.ownership_head:  # absent otherwise, so checkpoints without the head read as before
            kwargs["ownership_head"] = True
        return kwargs

    def forward(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``planes`` [B, C, N, N] -> (policy_logits [B, N*N+1], value [B])."""
        return self._heads(self.tower(F.relu(self.stem(planes))))

    def forward_with_ownership(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``planes`` [B, C, N, N] -> (policy_logits [B, N*N+1], value [B], ownership_logits [B, N*N])."""
        if not self.ownership_head:
            raise ValueError("this network has no ownership head (build it with ownership_head=True)")
        trunk = self.tower(F.relu(self.stem(planes)))  # [B, channels, N, N]
        policy_logits, value = self._heads(trunk)
        return policy_logits, value, self.ownership_conv(trunk).flatten(1)

    def _heads(self, trunk: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        policy = F.relu(self.policy_conv(trunk)).flatten(1)  # [B, 2*N*N]
        policy_logits = self.policy_fc(policy)  # [B, N*N+1]

        value = F.relu(self.value_conv(trunk)).flatten(1)  # [B, N*N]
        value = F.relu(self.value_fc1(value))  # [B, 256]
        value = torch.tanh(self.value_fc2(value)).squeeze(1)  # [B]
        return policy_logits, value

    def evaluate(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self(planes)
