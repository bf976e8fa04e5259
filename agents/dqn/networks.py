"""Q-networks for Atari: the Nature DQN network (Mnih et al. 2015) and its dueling form (Wang et al. 2016).

``NatureQNetwork`` maps a stack of frames to one Q-value per action::

    frames uint8[B, in_frames, frame_size, frame_size]  (pixel values 0..255, divided by 255 inside)
      conv 8x8 stride 4, channels[0]  ReLU
      conv 4x4 stride 2, channels[1]  ReLU
      conv 3x3 stride 1, channels[2]  ReLU          84x84 -> 20x20 -> 9x9 -> 7x7
      fully connected, hidden         ReLU          (Nature: 3136 -> 512)
      linear -> q float32[B, num_actions]

Dueling (Wang et al. 2016, eq. 9): two streams after the convolutions, each ``hidden`` wide; the value
stream ends in one unit V(s), the advantage stream in A(s, a), and ``Q(s, a) = V(s) + A(s, a) - mean_a A(s, a)``.
The two streams' first layers are one ``Linear(flat, 2 * hidden)`` (the first half feeds V, the second A):
the same function as two layers, one matrix product instead of two. Unlike the paper we do not rescale the
gradient entering the last convolution by 1/sqrt(2) (as most re-implementations).

Precision. Under ``torch.autocast`` the convolutions and the hidden layer run in the autocast dtype
(bfloat16 on CPUs with AVX512-BF16 gives ~1.5x), but the output layer(s) always run in float32: Q-values of
nearby actions differ by little (the "action gap"), and bfloat16 keeps only ~3 significant digits.

The defaults are the Nature network; ``frame_size``, ``channels`` and ``hidden`` exist so that tests can
train a tiny network in seconds (the three convolutions need ``frame_size >= 36``). ``init_kwargs()``
returns the constructor arguments, which a checkpoint's sidecar records.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

NATURE_CHANNELS = (32, 64, 64)
_KERNELS = ((8, 4), (4, 2), (3, 1))  # (kernel, stride) of the three convolutions


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def conv_output_size(frame_size: int) -> int:
    """Side of the last convolution's output for square frames of side ``frame_size`` (84 -> 7)."""
    size = frame_size
    for kernel, stride in _KERNELS:
        size = (size - kernel) // stride + 1
    return size


class NatureQNetwork(nn.Module):
    """The Nature DQN network, optionally dueling; see the module docstring."""

    architecture: ClassVar[str] = "nature_dqn"

    def __init__(
        self,
        num_actions: int,
        *,
        dueling: bool = False,
        in_frames: int = 4,
        frame_size: int = 84,
        channels: tuple[int, int, int] | list[int] = NATURE_CHANNELS,
        hidden: int = 512,
    ):
        super().__init__()
        self.num_actions = _positive_int("num_actions", num_actions)
        if not isinstance(dueling, bool):
            raise TypeError(f"dueling must be true or false, got {dueling!r}")
        self.dueling = dueling
        self.in_frames = _positive_int("in_frames", in_frames)
        self.frame_size = _positive_int("frame_size", frame_size)
        if not isinstance(channels, (tuple, list)) or len(channels) != 3:
            raise ValueError(f"channels must be three positive integers, got {channels!r}")
        self.channels = tuple(_positive_int("channels", c) for c in channels)
        self.hidden_size = _positive_int("hidden", hidden)
        side = conv_output_size(frame_size)
        if side < 1:
            raise ValueError(f"frame_size must be >= 36 for the three Nature convolutions, got {frame_size}")

        layers: list[nn.Module] = []
        previous = in_frames
        for width, (kernel, stride) in zip(self.channels, _KERNELS, strict=True):
            layers += [nn.Conv2d(previous, width, kernel, stride), nn.ReLU(inplace=True)]
            previous = width
        self.torso = nn.Sequential(*layers, nn.Flatten())
        flat = previous * side * side  # Nature: 64 * 7 * 7 = 3136
        streams = 2 if dueling else 1
        self.hidden = nn.Linear(flat, streams * hidden)
        if dueling:
            self.value_head = nn.Linear(hidden, 1)
            self.advantage_head = nn.Linear(hidden, num_actions)
        else:
            self.head = nn.Linear(hidden, num_actions)

    def init_kwargs(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serialisable) that rebuild this network."""
        return {
            "num_actions": self.num_actions,
            "dueling": self.dueling,
            "in_frames": self.in_frames,
            "frame_size": self.frame_size,
            "channels": list(self.channels),
            "hidden": self.hidden_size,
        }

    def features(self, frames: torch.Tensor) -> torch.Tensor:
        """frames uint8[B, C, H, W] -> hidden activations [B, streams * hidden] (autocast dtype if any)."""
        device_type = frames.device.type
        if torch.is_autocast_enabled(device_type):
            dtype = torch.get_autocast_dtype(device_type)
        else:
            dtype = self.hidden.weight.dtype
        # channels-last input is cuDNN's fast layout; on CPU the copy costs more than oneDNN's own reorder
        layout = torch.channels_last if device_type == "cuda" else torch.preserve_format
        x = frames.to(dtype=dtype, memory_format=layout) * (1.0 / 255.0)
        return torch.relu(self.hidden(self.torso(x)))

    def q_from_features(self, features: torch.Tensor) -> torch.Tensor:
        """Hidden activations -> q float32[B, num_actions]; the output layers always in float32."""
        with torch.autocast(features.device.type, enabled=False):
            h = features.float()
            if not self.dueling:
                return self.head(h)
            value = self.value_head(h[:, : self.hidden_size])  # [B, 1]
            advantage = self.advantage_head(h[:, self.hidden_size :])  # [B, A]
            return value + advantage - advantage.mean(dim=1, keepdim=True)  # Wang et al. 2016, eq. (9)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """frames uint8[B, in_frames, frame_size, frame_size] -> q float32[B, num_actions]."""
        if frames.dim() != 4 or tuple(frames.shape[1:]) != (self.in_frames, self.frame_size, self.frame_size):
            raise ValueError(
                f"{type(self).__name__} takes frames of shape [B, {self.in_frames}, {self.frame_size}, "
                f"{self.frame_size}], got {list(frames.shape)}"
            )
        return self.q_from_features(self.features(frames))

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value!r}" for key, value in self.init_kwargs().items())


ARCHITECTURES: dict[str, type[NatureQNetwork]] = {NatureQNetwork.architecture: NatureQNetwork}


def build_q_network(architecture: str, **kwargs: Any) -> NatureQNetwork:
    """A freshly initialised Q-network of the named architecture; ``ValueError`` naming what was wrong."""
    cls = ARCHITECTURES.get(architecture)
    if cls is None:
        raise ValueError(f"unknown Q-network architecture {architecture!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    try:
        return cls(**kwargs)
    except TypeError as exc:  # unknown or missing keyword argument
        raise ValueError(f"bad arguments for {architecture!r}: {exc}") from exc
