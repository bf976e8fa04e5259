"""The AlphaGo policy and value convolutional networks.

Silver et al. 2016, "Mastering the game of Go with deep neural networks and tree search",
Nature 529, Methods, "Neural network architecture":

Policy network (SL and RL policy p_sigma / p_rho), input ``[B, 48, N, N]``:
  layer 1       zero-pad 2, conv 5x5, k filters, stride 1, ReLU
  layers 2..12  zero-pad 1, conv 3x3, k filters, stride 1, ReLU
  layer 13      conv 1x1, 1 filter, "a different bias for each position", softmax over the points
The match version used k = 192 (the defaults here: ``filters=192, layers=13``).

Value network v_theta, input ``[B, 49, N, N]`` (the 48 planes plus a plane "whether the current
player is black"): hidden layers 1..12 as the policy network (the paper: layers 2 to 11 identical,
layer 12 "an additional convolution layer", here 3x3 with k filters like the others), layer 13 conv
1x1 to 1 filter, layer 14 fully connected 256 with ReLU, output fully connected 1 with tanh.

``layers`` counts the convolutional layers, the final 1x1 included, for both networks (13 in the
paper), so both share the trunk ``5x5, 3x3 * (layers - 2)``.

Deviations, all forced by or harmless to the rest of tenuki:

- **Pass.** AlphaGo's policy has N*N outputs and no pass (the program passed by rule). Search in
  tenuki takes N*N+1 logits, so the policy network appends one *learned scalar* ``pass_logit``
  (initialised to 0, the same for every position) as action N*N. With supervised data that contains
  passes it learns the log base rate of passing; it never depends on the position, so the pass
  decision really rests on the search. ``forward`` returns logits: the paper's softmax is applied by
  the caller (after masking illegal moves).
- **Value net layer 13.** The paper does not say whether the 1x1 layer has a per-position bias or a
  ReLU. It gets an ordinary (shared) bias and, by default, *no* ReLU (``head_relu=False``): with a
  ReLU this single filter is the only path from the trunk to the fully connected layers, and in
  training it died on 98% of the points within minutes, so the network output barely depended on
  the position (validation MSE 0.993 after 0.13 h of ``tenuki train sl-value``, always-0: 1.000);
  without it the same run reached 0.972 after 0.07 h and kept falling (2026-11-30).
  ``head_relu=True`` builds the ReLU version; checkpoints saved before the option existed had it
  and load with it (``checkpoint.load_checkpoint``).
- **Value net initialisation.** He (Kaiming) normal weights for the ReLU layers and zero biases.
  With PyTorch's default initialisation the activations of this unnormalised 12-13 layer stack
  shrink layer by layer and the single-filter 1x1 layer's ReLU starts dead on (almost) every
  point: the output was the same for every position (std 7e-9 over 256 positions) and the MSE
  stayed at 1.0 for a whole run (2026-11-29).
- The convolutions have biases and no batch normalisation (the 2016 networks had none).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tenuki.agents.go.networks.base import GoNetwork, check_bool, check_positive_int

VALUE_HIDDEN = 256  # width of the value network's fully connected hidden layer (layer 14)


def alphago_trunk(in_planes: int, filters: int, conv_layers: int) -> nn.Sequential:
    """Hidden layers 1..``conv_layers``: 5x5 conv + ReLU, then 3x3 convs + ReLU.

    [B, in_planes, N, N] -> [B, filters, N, N]; zero padding keeps the board size.
    """
    modules: list[nn.Module] = [nn.Conv2d(in_planes, filters, 5, padding=2), nn.ReLU()]
    for _ in range(conv_layers - 1):
        modules += [nn.Conv2d(filters, filters, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*modules)


def _check_layers(layers: Any) -> int:
    layers = check_positive_int("layers", layers)
    if layers < 2:
        raise ValueError(f"layers must be at least 2 (the 5x5 layer and the 1x1 layer), got {layers}")
    return layers


class AlphaGoPolicyNet(GoNetwork):
    """AlphaGo's SL / RL policy network (Silver et al. 2016, Methods, "Neural network architecture").

    ``forward(planes [B, C, N, N]) -> policy_logits [B, N*N+1]`` (the last logit is the learned pass
    logit; see the module docstring). ``evaluate`` adds value 0 ("no opinion") for search.
    """

    architecture = "alphago_policy"

    def __init__(self, board_size: int, in_planes: int = 48, filters: int = 192, layers: int = 13):
        super().__init__(board_size, in_planes)
        self.filters = check_positive_int("filters", filters)
        self.layers = _check_layers(layers)
        points = board_size * board_size
        self.trunk = alphago_trunk(in_planes, filters, layers - 1)  # -> [B, k, N, N]
        self.head = nn.Conv2d(filters, 1, 1, bias=False)  # -> [B, 1, N, N]
        self.position_bias = nn.Parameter(torch.zeros(points))  # [N*N], one bias a point
        self.pass_logit = nn.Parameter(torch.zeros(1))  # [1], tenuki's addition

    def init_kwargs(self) -> dict[str, Any]:
        return {
            "board_size": self.board_size,
            "in_planes": self.in_planes,
            "filters": self.filters,
            "layers": self.layers,
        }

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        """``planes`` [B, C, N, N] -> policy logits [B, N*N+1] (pass last)."""
        points = self.head(self.trunk(planes)).flatten(1) + self.position_bias  # [B, N*N]
        passes = self.pass_logit.expand(points.shape[0], 1)  # [B, 1]
        return torch.cat((points, passes), dim=1)  # [B, N*N+1]

    def evaluate(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self(planes)
        return logits, logits.new_zeros(logits.shape[0])


class AlphaGoValueNet(GoNetwork):
    """AlphaGo's value network v_theta (Silver et al. 2016, Methods, "Neural network architecture").

    ``forward(planes [B, C, N, N]) -> value [B]`` in [-1, 1] for the side to move. ``evaluate`` adds
    uniform policy logits (zeros) for search. ``head_relu``: a ReLU after the 1x1 layer 13 (off by
    default; see the module docstring).
    """

    architecture = "alphago_value"

    def __init__(
        self,
        board_size: int,
        in_planes: int = 49,
        filters: int = 192,
        layers: int = 13,
        value_hidden: int = VALUE_HIDDEN,
        head_relu: bool = False,
    ):
        super().__init__(board_size, in_planes)
        self.head_relu = check_bool("head_relu", head_relu)
        self.filters = check_positive_int("filters", filters)
        self.layers = _check_layers(layers)
        self.value_hidden = check_positive_int("value_hidden", value_hidden)
        points = board_size * board_size
        self.trunk = alphago_trunk(in_planes, filters, layers - 1)  # -> [B, k, N, N]
        self.head = nn.Conv2d(filters, 1, 1)  # layer 13: -> [B, 1, N, N]
        self.fc_hidden = nn.Linear(points, value_hidden)  # layer 14: [B, N*N] -> [B, 256]
        self.fc_out = nn.Linear(value_hidden, 1)  # output: [B, 256] -> [B, 1]
        for module in (*self.trunk, self.head, self.fc_hidden):  # He init for the ReLU layers (see above)
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def init_kwargs(self) -> dict[str, Any]:
        return {
            "board_size": self.board_size,
            "in_planes": self.in_planes,
            "filters": self.filters,
            "layers": self.layers,
            "value_hidden": self.value_hidden,
            "head_relu": self.head_relu,
        }

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        """``planes`` [B, C, N, N] -> value [B]."""
        x = self.head(self.trunk(planes)).flatten(1)  # [B, N*N]
        if self.head_relu:
            x = F.relu(x)
        x = F.relu(self.fc_hidden(x))  # [B, 256]
        return torch.tanh(self.fc_out(x)).squeeze(1)  # [B]

    def evaluate(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        value = self(planes)
        return value.new_zeros(value.shape[0], self.num_actions), value


def copy_policy_trunk(value: AlphaGoValueNet, policy: AlphaGoPolicyNet) -> None:
    """Start a value network from a policy network's trunk (transfer: the SL policy's features).

    The value network's first layer reads one more plane (the colour to play): its weights for the
    policy's planes are copied and those for the extra planes start at zero. The value head starts
    fresh. Raises ``ValueError`` when the board sizes, widths or depths differ.
    """
    source, target = policy.trunk.state_dict(), value.trunk.state_dict()

    def fits(name: str) -> bool:  # the same shape, or the first layer with fewer input planes
        a, b = source[name].shape, target[name].shape
        return a == b or (name == "0.weight" and a[0] == b[0] and a[2:] == b[2:] and a[1] < b[1])

    if policy.board_size != value.board_size or source.keys() != target.keys() or not all(map(fits, source)):
        raise ValueError(f"the policy network ({policy.board_size}x{policy.board_size}, filters {policy.filters}, "
                         f"layers {policy.layers}) does not fit the value network ({value.board_size}x"
                         f"{value.board_size}, filters {value.filters}, layers {value.layers})")
    with torch.no_grad():
        for name, tensor in source.items():
            if name == "0.weight" and tensor.shape != target[name].shape:
                target[name].zero_()
                target[name][:, : tensor.shape[1]] = tensor  # the policy's planes; the rest start at zero
            else:
                target[name].copy_(tensor)


class AlphaGoPolicyValue(GoNetwork):
    """The AlphaGo policy and value networks answering together: the prior and the leaf value.

    Takes the value network's planes ``[B, C_v, N, N]``; the policy network reads the first
    ``C_p = policy.in_planes`` of them (AlphaGo: the 48 feature planes; the value network's 49th,
    the colour plane, comes last). ``evaluate`` -> (policy logits [B, N*N+1], value [B]).
    Checkpoint the two networks separately; this wrapper has no architecture name of its own.
    """

    def __init__(self, policy: AlphaGoPolicyNet, value: AlphaGoValueNet):
        if policy.board_size != value.board_size:
            raise ValueError(
                f"policy network is for {policy.board_size}x{policy.board_size}, "
                f"value network for {value.board_size}x{value.board_size}"
            )
        if policy.in_planes > value.in_planes:
            raise ValueError(
                f"the policy network reads the first {policy.in_planes} planes of the value network's "
                f"{value.in_planes}, so it cannot take more (got {policy.in_planes} > {value.in_planes})"
            )
        super().__init__(value.board_size, value.in_planes)
        self.policy = policy
        self.value = value

    def init_kwargs(self) -> dict[str, Any]:
        return {"policy": self.policy.init_kwargs(), "value": self.value.init_kwargs()}

    def forward(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``planes`` [B, C_v, N, N] -> (policy_logits [B, N*N+1], value [B])."""
        return self.policy(planes[:, : self.policy.in_planes]), self.value(planes)

    def evaluate(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self(planes)
