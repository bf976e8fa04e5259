"""The typed config of a supervised run (``configs/sl/policy19.yaml``, ``configs/sl/value19.yaml``).

Four sections: ``data`` (the dataset and how positions are drawn, ``tenuki.agents.go.sl.data``),
``network`` (width, depth, initialisation), ``optim`` (optimizer, learning-rate schedule; the choices
and their deviations from the paper are in ``tenuki.agents.go.sl.trainer``) and ``train`` (budget,
evaluation and checkpoint cadence, precision, device). ``target`` picks the network: ``policy``
(p_sigma, the human move) or ``value`` (v_theta, the game's result).

An unknown key, a wrong type or a value out of range is a ``ConfigError`` naming the dotted key and
what is allowed. This module imports neither torch nor numpy: validating a config costs nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tenuki.common.yaml_config import (
    ConfigError,
    Ranges,
    check_ranges,
    load_yaml_config,
    parse_section,
)

TARGETS = ("policy", "value")
ARCHITECTURE = {"policy": "alphago_policy", "value": "alphago_value"}  # target -> checkpoint architecture


@dataclass
class DataSection:
    dir: str = "data/go19"  # shards written by `tenuki data build`
    shuffle_buffer: int = 20000  # positions mixed before batching (consecutive positions are correlated)
    symmetries: bool = True  # a random one of the 8 board symmetries a sample
    positions_per_game: int = 0  # random positions of each game an epoch (0: every position)
    val_positions_per_game: int = 0  # the same for the validation set (0: as positions_per_game)


@dataclass
class NetworkSection:
    filters: int = 64  # AlphaGo: 192 (match version), 128 / 256 / 384 in its Figure 2
    layers: int = 6  # convolution layers, the final 1x1 included (AlphaGo: 13)
    init: str = "torch"  # "torch": PyTorch's default; "he": He et al. 2015 (keeps the signal alive in deep ReLU stacks)
    init_checkpoint: str = ""  # start from this checkpoint (a value net: from a policy net's trunk); not on resume


@dataclass
class OptimSection:
    optimizer: str = "sgd"  # sgd (with momentum) or adam
    learning_rate: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 1e-4
    batch_size: int = 64
    decay_every: int = 0  # steps between halvings of the learning rate (0: constant)
    schedule: str = "step"  # "step": halve every decay_every steps; "linear": warm up, then fall linearly to 0 at the budget's end
    warmup_steps: int = 0  # linear schedule: steps of linear warm-up from 0
    max_grad_norm: float = 0.0  # clip the gradient's global norm (0: no clipping)


@dataclass
class TrainSection:
    max_steps: int = 0  # 0: no limit
    max_hours: float = 3.0  # wall-clock budget of the whole run, resumes included (0: no limit)
    eval_every: int = 1000  # steps between validation passes
    val_positions: int = 4000
    checkpoint_every: int = 1000  # steps between checkpoints (one is also written at the end)
    log_every: int = 50  # steps between TensorBoard points
    seed: int = 0
    torch_threads: int = 2
    precision: str = "float32"  # or bfloat16: autocast of the forward pass (1.5x on CPUs with AVX512-BF16)
    channels_last: bool = False  # NHWC activations and weights (1.2x on this CPU at batch 256)
    device: str = "cpu"  # or "cuda" (a GPU); the data is prepared on the CPU either way
    loader_workers: int = 0  # processes computing features (torch DataLoader workers); 0: in the training process


@dataclass
class SLConfig:
    target: str = "policy"  # "policy": the human move (p_sigma); "value": the game's result (v_theta)
    run_dir: str = "runs/sl-policy19"  # target value: runs/sl-value19 by default
    data: DataSection = field(default_factory=DataSection)
    network: NetworkSection = field(default_factory=NetworkSection)
    optim: OptimSection = field(default_factory=OptimSection)
    train: TrainSection = field(default_factory=TrainSection)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_RANGES: Ranges = {
    "target": (lambda v: v in TARGETS, '"policy" or "value"'),
    "data.positions_per_game": (lambda v: v >= 0, "an integer >= 0 (0: every position)"),
    "data.val_positions_per_game": (lambda v: v >= 0, "an integer >= 0 (0: as data.positions_per_game)"),
    "data.shuffle_buffer": (lambda v: v >= 1, "an integer >= 1"),
    "network.filters": (lambda v: v >= 1, "an integer >= 1"),
    "network.layers": (lambda v: v >= 2, "an integer >= 2"),
    "network.init": (lambda v: v in ("torch", "he"), '"torch" or "he"'),
    "optim.optimizer": (lambda v: v in ("sgd", "adam"), '"sgd" or "adam"'),
    "optim.learning_rate": (lambda v: v > 0, "a number > 0"),
    "optim.momentum": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "optim.weight_decay": (lambda v: v >= 0, "a number >= 0"),
    "optim.batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "optim.decay_every": (lambda v: v >= 0, "an integer >= 0"),
    "optim.schedule": (lambda v: v in ("step", "linear"), '"step" or "linear"'),
    "optim.warmup_steps": (lambda v: v >= 0, "an integer >= 0"),
    "optim.max_grad_norm": (lambda v: v >= 0, "a number >= 0 (0: no clipping)"),
    "train.max_steps": (lambda v: v >= 0, "an integer >= 0"),
    "train.max_hours": (lambda v: v >= 0, "a number >= 0"),
    "train.eval_every": (lambda v: v >= 1, "an integer >= 1"),
    "train.val_positions": (lambda v: v >= 1, "an integer >= 1"),
    "train.checkpoint_every": (lambda v: v >= 1, "an integer >= 1"),
    "train.log_every": (lambda v: v >= 1, "an integer >= 1"),
    "train.torch_threads": (lambda v: v >= 1, "an integer >= 1"),
    "train.precision": (lambda v: v in ("float32", "bfloat16"), '"float32" or "bfloat16"'),
    "train.device": (lambda v: v == "cpu" or v.startswith("cuda"), '"cpu" or "cuda[:N]"'),
    "train.loader_workers": (lambda v: v >= 0, "an integer >= 0"),
}


def sl_config_from_dict(data: Any) -> SLConfig:
    """An ``SLConfig`` from a parsed YAML mapping; ``ConfigError`` names the first bad key."""
    config = parse_section(SLConfig, data, "", ConfigError)
    if config.target == "value" and not (isinstance(data, dict) and "run_dir" in data):
        config.run_dir = "runs/sl-value19"  # not the policy's default folder
    check_ranges(config, _RANGES, ConfigError)
    if config.optim.schedule == "linear" and not (config.train.max_steps or config.train.max_hours):
        raise ConfigError("optim.schedule: linear decays to 0 at the end of the budget; set train.max_steps "
                          "or train.max_hours")
    return config


def load_sl_config(path: str | Path) -> SLConfig:
    """The ``SLConfig`` of a YAML file; ``ConfigError`` names the file and the bad key."""
    return load_yaml_config(path, sl_config_from_dict, ConfigError)
