"""Supervised training on expert games: AlphaGo's policy network p_sigma (``tenuki train sl-policy``)
and, as a deviation, a value network on the games' results (``tenuki train sl-value``).

Silver et al. 2016, Methods, "Supervised learning of policy networks": positions of strong human
games, the 48 feature planes (``tenuki.agents.go.features``), a random one of the 8 symmetries, the
log-likelihood of the human move maximised by SGD. Here:

- data: the shards of ``tenuki data build`` (``tenuki.agents.go.dataset``), split by game into train and
  validation; the validation figures use a fixed set of the first ``train.val_positions``
  positions of the validation split, without symmetries;
- loss: cross-entropy of the human move over the legal moves (the features say which points are
  legal; the paper's softmax ran over every point: masking illegal ones never changes the ranking of
  legal moves and speeds up early training);
- precision: float32, or bfloat16 autocast of the forward pass (``train.precision``; the weights,
  the loss and the optimizer stay float32);
- optimiser: SGD with momentum or Adam, step decay of the learning rate (the paper: plain SGD,
  alpha 0.003 halved every 80 million steps, minibatch 16, 50 GPUs for 3 weeks — far beyond 2 CPU
  cores, hence momentum and a bigger rate);
- run directory: ``checkpoints/step-NNNNNNNN`` (network, ``tenuki.agents.go.networks.checkpoint``) with
  ``step-NNNNNNNN.optimizer.safetensors``, then ``checkpoints/trainer.json``, the commit record
  (the checkpoint's name, step counters, elapsed time, best accuracy, the last evaluation),
  replaced atomically once both files are in place; the previous step's files are removed only
  after that. A crash at any point therefore resumes from one consistent save (weights, optimizer
  and counters of the same step). Also ``best`` (the best validation top-1 so far),
  ``metrics.jsonl`` (one line per evaluation) and ``tensorboard/``. A run started again on the
  same directory resumes with the same step, sample and optimizer state (the data order after a
  resume is a fresh random draw: positions are sampled, not replayed in a fixed order). Runs
  saved before this layout (``checkpoints/latest``, named in their ``trainer.json``) resume too.

``target: value`` trains the value network v_theta (49 planes, tanh output) by MSE on the result of
each game for the side to move (``data.positions_per_game`` random positions of each game an epoch,
1 by default in ``configs/sl/value19.yaml``), optionally from a policy checkpoint's trunk
(``network.init_checkpoint``); the validation figure is the MSE (the best checkpoint: the lowest).
The paper generated value data by self-play (``tenuki train value``) because successive positions
of one game are strongly correlated and training on all of them overfits (KGS: 0.19 train / 0.37
test MSE); one position per game per epoch keeps that correlation out of a batch while using
real games that cost nothing to generate (a self-play game costs ~1 s of this CPU).
"""

from __future__ import annotations

import json
import math
import re
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tenuki.agents.go.features import NUM_PLANES, NUM_VALUE_PLANES, P_LIBS_AFTER, feature_fn
from tenuki.agents.go.networks.alphago import AlphaGoPolicyNet, AlphaGoValueNet, copy_policy_trunk
from tenuki.agents.go.networks.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tenuki.agents.go.train_state import load_optimizer_state, save_optimizer_state
from tenuki.agents.torch_cpu import configure_torch_cpu
from tenuki.selfplay.config import ConfigError, parse_section

from tenuki.common.atomic import atomic_write
from tenuki.common.yaml_config import Ranges, check_ranges, dump_yaml_config, load_yaml_config

TRAINER_FILE = "trainer.json"
CHECKPOINT_NAME = re.compile(r"latest|step-\d{8,}")  # the names trainer.json may commit
TARGETS = ("policy", "value")
ARCHITECTURE = {"policy": "alphago_policy", "value": "alphago_value"}


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
    config = parse_section(SLConfig, data, "")
    if config.target == "value" and not (isinstance(data, dict) and "run_dir" in data):
        config.run_dir = "runs/sl-value19"  # not the policy's default folder
    check_ranges(config, _RANGES, ConfigError)
    if config.optim.schedule == "linear" and not (config.train.max_steps or config.train.max_hours):
        raise ConfigError("optim.schedule: linear decays to 0 at the end of the budget; set train.max_steps "
                          "or train.max_hours")
    return config


class TrainingDiverged(RuntimeError):
    """The loss is not finite: the step is not applied, the last checkpoint stays as it was."""


def load_sl_config(path: str | Path) -> SLConfig:
    return load_yaml_config(path, sl_config_from_dict, ConfigError)


# ----------------------------------------------------------------------------- pieces


def legal_mask(planes: torch.Tensor) -> torch.Tensor:
    """bool[B, N*N+1] of the legal moves read off the feature planes (a legal move has one of the
    "liberties after move" planes set); pass is always legal."""
    points = planes[:, P_LIBS_AFTER : P_LIBS_AFTER + 8].sum(dim=1).flatten(1) > 0
    return torch.cat((points, points.new_ones(points.shape[0], 1)), dim=1)


def masked_logits(logits: torch.Tensor, planes: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
    mask = legal_mask(planes)
    if actions is not None:  # a label the features call illegal (superko nuance) stays possible
        mask = mask.scatter(1, actions[:, None], True)
    return logits.masked_fill(~mask, -1e9)


def policy_metrics(logits: torch.Tensor, actions: torch.Tensor) -> dict[str, float]:
    top5 = logits.topk(5, dim=1).indices
    return {
        "top1": float((top5[:, 0] == actions).float().mean()),
        "top5": float((top5 == actions[:, None]).any(dim=1).float().mean()),
    }


def _labels(config: SLConfig) -> int:
    """The field of a ``Batch`` a target learns: the move (1) or the result for the mover (2)."""
    return 2 if config.target == "value" else 1


def _batches(stream, epochs: int | None = 1, labels: int = 1) -> Any:
    """(planes, labels) of ``epochs`` passes over the stream (None: for ever); ``labels``: the
    field of the batch (1: the moves, 2: the results)."""
    epoch = 0
    while epochs is None or epoch < epochs:
        empty = True
        for batch in stream:
            empty = False
            yield batch[0], batch[labels]
        if empty:
            raise ConfigError("data.dir: a split of the dataset has no positions")
        epoch += 1


def _open_stream(config: SLConfig, split: str, seed: int, symmetries: bool, max_positions: int | None,
                 batch_size: int, shuffle_buffer: int, part: tuple[int, int] | None = None):
    from tenuki.agents.go.dataset import PositionStream

    features = feature_fn(value=config.target == "value")
    per_game = config.data.positions_per_game
    if split == "val" and config.data.val_positions_per_game:
        per_game = config.data.val_positions_per_game
    return PositionStream(config.data.dir, split, features, batch_size=batch_size, shuffle_buffer=shuffle_buffer,
                          symmetries=symmetries, seed=seed, max_positions=max_positions, progress=False, part=part,
                          positions_per_game=per_game or None, decided_only=config.target == "value")


class _StreamParts(torch.utils.data.IterableDataset):
    """The training stream split over DataLoader workers: worker i of k reads every k-th game
    (``PositionStream(part=(i, k))``) with a shuffle buffer of its own."""

    def __init__(self, config: SLConfig, seed: int):
        super().__init__()
        self.config, self.seed = config, seed
        self._stream = None  # one per worker, kept across epochs (persistent workers): each epoch a new order

    def __iter__(self):
        if self._stream is None:
            info = torch.utils.data.get_worker_info()
            part = (info.id, info.num_workers) if info is not None else None
            c = self.config
            self._stream = _open_stream(c, "train", seed=self.seed, symmetries=c.data.symmetries, max_positions=None,
                                        batch_size=c.optim.batch_size, shuffle_buffer=c.data.shuffle_buffer, part=part)
        labels = _labels(self.config)
        for batch in self._stream:
            yield torch.from_numpy(batch[0]), torch.from_numpy(batch[labels])


def _training_batches(config: SLConfig, seed: int):
    """Endless (planes, labels) training batches: from the stream in this process, or from
    ``train.loader_workers`` DataLoader processes (pinned memory for a GPU)."""
    workers = config.train.loader_workers
    if workers <= 0:
        stream = _open_stream(config, "train", seed=seed, symmetries=config.data.symmetries, max_positions=None,
                              batch_size=config.optim.batch_size, shuffle_buffer=config.data.shuffle_buffer)
        yield from _batches(stream, epochs=None, labels=_labels(config))
        return
    loader = torch.utils.data.DataLoader(_StreamParts(config, seed), batch_size=None, num_workers=workers,
                                         pin_memory=config.train.device != "cpu", persistent_workers=True,
                                         prefetch_factor=4)
    while True:
        empty = True
        for planes, actions in loader:
            empty = False
            yield planes, actions
        if empty:
            raise ConfigError("data.dir: the train split of the dataset has no positions")


def validation_set(config: SLConfig, split: str = "val") -> tuple[np.ndarray, np.ndarray]:
    """The fixed validation positions: (planes uint8[V, C, N, N], labels[V]): the moves (int64) for
    the policy, the results for the side to move (float32) for the value network. ``split="train"``:
    as many fixed positions of the training games (the value run's train MSE)."""
    planes, labels = [], []
    dtype = np.float32 if config.target == "value" else np.int64
    stream = _open_stream(config, split, seed=12345, symmetries=False, max_positions=config.train.val_positions,
                          batch_size=256, shuffle_buffer=2048)
    for x, y in _batches(stream, labels=_labels(config)):
        planes.append(np.asarray(x, np.uint8))
        labels.append(np.asarray(y, dtype))
    if not planes:
        raise ConfigError(f"data.dir: {config.data.dir} has no {split} positions")
    return np.concatenate(planes)[: config.train.val_positions], np.concatenate(labels)[: config.train.val_positions]


@torch.no_grad()
def evaluate_policy(model: torch.nn.Module, planes: np.ndarray, actions: np.ndarray, batch_size: int = 256) -> dict[str, float]:
    """Loss, top-1 and top-5 accuracy of ``model`` on positions (legal moves only), on the model's device."""
    model.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    loss = top1 = top5 = 0.0
    for i in range(0, len(actions), batch_size):
        x = torch.from_numpy(planes[i : i + batch_size]).to(device).float()
        a = torch.from_numpy(actions[i : i + batch_size]).to(device)
        logits = masked_logits(model(x), x, a)
        loss += float(F.cross_entropy(logits, a, reduction="sum"))
        m = policy_metrics(logits, a)
        top1 += m["top1"] * len(a)
        top5 += m["top5"] * len(a)
    n = max(len(actions), 1)
    return {"loss": loss / n, "top1": top1 / n, "top5": top5 / n, "positions": len(actions)}


@torch.no_grad()
def evaluate_value(model: torch.nn.Module, planes: np.ndarray, values: np.ndarray, batch_size: int = 256) -> dict[str, float]:
    """MSE of ``model``'s value against the results, with the MSE of always answering 0 (the share
    of decided games) for scale."""
    model.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    total = 0.0
    for i in range(0, len(values), batch_size):
        x = torch.from_numpy(planes[i : i + batch_size]).to(device).float()
        z = torch.from_numpy(values[i : i + batch_size]).to(device).float()
        total += float(((model(x).float() - z) ** 2).sum())
    n = max(len(values), 1)
    return {"loss": total / n, "mse": total / n, "zero_mse": float(np.mean(np.square(values))) if len(values) else 0.0,
            "positions": len(values)}


def build_optimizer(model: torch.nn.Module, optim: OptimSection) -> torch.optim.Optimizer:
    if optim.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=optim.learning_rate, weight_decay=optim.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=optim.learning_rate, momentum=optim.momentum,
                           weight_decay=optim.weight_decay)


def learning_rate(optim: OptimSection, step: int, progress: float = 0.0) -> float:
    """The rate at ``step``. ``progress`` (0..1, the share of the run's budget spent) drives the linear
    schedule: a linear warm-up over ``warmup_steps``, then ``(1 - progress)`` of the base rate."""
    if optim.schedule == "linear":
        warm = min(1.0, (step + 1) / optim.warmup_steps) if optim.warmup_steps > 0 else 1.0
        return optim.learning_rate * warm * max(0.0, 1.0 - progress)
    if optim.decay_every <= 0:
        return optim.learning_rate
    return optim.learning_rate * 0.5 ** (step // optim.decay_every)


def he_initialise(model: torch.nn.Module) -> None:
    """He (Kaiming) normal initialisation of every convolution (fan-in, ReLU gain), zero biases.
    PyTorch's default draws weights at a third of He's variance, so without normalisation the
    activations of a 13-layer ReLU stack sink layer after layer (tests measure it)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)


# ----------------------------------------------------------------------------- the trainer


def _finite_or_none(x: float) -> float | None:
    """JSON has no infinity: ``None`` for "no evaluation yet"."""
    return x if math.isfinite(x) else None


class SLTrainer:
    """State of a supervised run (policy or value network) on its run directory (resumes when it
    finds one)."""

    def __init__(self, config: SLConfig, run_dir: str | Path | None = None, board_size: int = 19):
        self.config = config
        self.run_dir = Path(run_dir or config.run_dir)
        torch.manual_seed(config.train.seed)
        self.device = torch.device(config.train.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"train.device: {config.train.device!r} but this machine has no CUDA GPU that torch "
                              f"can use; set train.device: cpu")
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest convolutions
        self.value = config.target == "value"
        network = AlphaGoValueNet if self.value else AlphaGoPolicyNet
        self.model = network(board_size, in_planes=NUM_VALUE_PLANES if self.value else NUM_PLANES,
                             filters=config.network.filters, layers=config.network.layers)
        if config.network.init == "he":
            he_initialise(self.model)
        self.model = self.model.to(self.device)
        if config.train.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = build_optimizer(self.model, config.optim)
        self.step = 0
        self.samples = 0
        self.elapsed_s = 0.0
        self.best_top1 = -1.0  # the policy's best validation top-1
        self.best_mse = math.inf  # the value network's best validation MSE
        self.checkpoint_name: str | None = None  # the committed checkpoint (named in trainer.json)
        self.last_evaluation: dict[str, Any] = {}  # the validation figures of the last evaluation, with its step
        self.resumed = self._resume()
        if not self.resumed and config.network.init_checkpoint:
            self._initialise(Path(config.network.init_checkpoint))

    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    def _resume(self) -> bool:
        state_path = self.checkpoint_dir / TRAINER_FILE
        if not state_path.exists():
            return False
        try:
            state = json.loads(state_path.read_text())
            step, samples = int(state["step"]), int(state["samples"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"{state_path} is damaged ({error}); move the run directory away to start afresh") from error
        name = state.get("checkpoint", "latest")
        if not isinstance(name, str) or not CHECKPOINT_NAME.fullmatch(name):
            raise CheckpointError(f"{state_path} names the checkpoint {name!r}, not latest or step-NNNNNNNN; "
                                  "move the run directory away to start afresh")
        path = self.checkpoint_dir / name
        model, meta = load_checkpoint(path, architecture=ARCHITECTURE[self.config.target])
        if meta.kwargs.get("filters") != self.model.filters or meta.kwargs.get("layers") != self.model.layers:
            raise CheckpointError(f"{path} is a {meta.kwargs} network, the config asks for "
                                  f"filters {self.model.filters}, layers {self.model.layers}")
        if meta.step != step:
            raise CheckpointError(f"{path} holds step {meta.step}, {state_path} says step {step}")
        self.model.load_state_dict(model.state_dict())
        load_optimizer_state(self.optimizer, path.with_name(name + ".optimizer.safetensors"), self.device)
        self.checkpoint_name = name
        evaluation = state.get("evaluation")
        if isinstance(evaluation, dict) and evaluation.get("step") == step:
            self.last_evaluation = evaluation
        self.step, self.samples = step, samples
        self.elapsed_s = float(state.get("elapsed_s", 0.0))
        self.best_top1 = float(state.get("best_top1", -1.0))
        self.best_mse = math.inf if state.get("best_mse") is None else float(state["best_mse"])
        return True

    def _initialise(self, path: Path) -> None:
        """``network.init_checkpoint``: the same kind of network, or a policy's trunk for a value net."""
        model, meta = load_checkpoint(path)
        try:
            if self.value and meta.architecture == "alphago_policy":
                copy_policy_trunk(self.model, model)
            elif meta.architecture != ARCHITECTURE[self.config.target]:
                raise ValueError(f"it holds a {meta.architecture!r} network")
            elif model.init_kwargs() != self.model.init_kwargs():  # e.g. a value head with its old ReLU
                raise ValueError(f"it holds a network built with {model.init_kwargs()}, "
                                 f"the config builds {self.model.init_kwargs()}")
            else:
                self.model.load_state_dict(model.state_dict())
        except (ValueError, RuntimeError) as error:
            raise CheckpointError(f"network.init_checkpoint {path} cannot start a {self.config.target} network "
                                  f"(filters {self.model.filters}, layers {self.model.layers}): {error}") from error

    def save(self, best: bool = False, evaluation: dict[str, float] | None = None) -> Path:
        """Commit the current step: its network and optimizer state under a fresh name, then
        ``trainer.json`` naming them (atomic), then remove the previous step's files. ``evaluation``
        (the validation figures of this step, if any) is kept in the record for a later resume."""
        folder = self.checkpoint_dir
        name = f"step-{self.step:08d}"
        info = {"step": self.step, "samples": self.samples, "sl": self.config.to_dict()}
        save_optimizer_state(self.optimizer, folder / f"{name}.optimizer.safetensors")
        path = save_checkpoint(folder / name, self.model, step=self.step, config=info)
        score = {"val_mse": self.best_mse} if self.value else {"val_top1": self.best_top1}
        if best:
            save_checkpoint(self.run_dir / "best", self.model, step=self.step, config={**info, **score})
        if evaluation is not None:
            self.last_evaluation = {k: _finite_or_none(v) if isinstance(v, float) else v for k, v in evaluation.items()}
        state = {"step": self.step, "samples": self.samples, "elapsed_s": round(self.elapsed_s, 1),
                 **({"best_mse": _finite_or_none(self.best_mse)} if self.value else {"best_top1": self.best_top1}),
                 "checkpoint": name,
                 **({"evaluation": self.last_evaluation} if self.last_evaluation.get("step") == self.step else {})}
        atomic_write(folder / TRAINER_FILE, lambda stream: stream.write(json.dumps(state, indent=1).encode()))
        previous, self.checkpoint_name = self.checkpoint_name, name
        if previous is not None and previous != name:
            for suffix in (".safetensors", ".json", ".optimizer.safetensors"):
                folder.joinpath(previous + suffix).unlink(missing_ok=True)
        return path

    def progress(self) -> float:
        """The share of the budget spent (steps or hours, whichever is further), for the linear schedule."""
        tc = self.config.train
        shares = [self.step / tc.max_steps if tc.max_steps else 0.0,
                  self.elapsed_s / (tc.max_hours * 3600) if tc.max_hours else 0.0]
        return min(1.0, max(shares))

    def evaluate(self, planes: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        """The validation figures: loss, top-1, top-5 (policy) or loss = mse, zero_mse (value)."""
        return (evaluate_value if self.value else evaluate_policy)(self.model, planes, labels)

    def improved(self, evaluation: dict[str, float]) -> bool:
        """Record ``evaluation`` as the best so far when it is (higher top-1, or lower MSE)."""
        if self.value:
            better = evaluation["mse"] < self.best_mse
            self.best_mse = min(self.best_mse, evaluation["mse"])
        else:
            better = evaluation["top1"] > self.best_top1
            self.best_top1 = max(self.best_top1, evaluation["top1"])
        return better

    def train_step(self, planes: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor) -> dict[str, float]:
        """One step on a batch: ``labels`` are the moves (policy) or the results for the mover (value)."""
        self.model.train()
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.config.optim, self.step, self.progress())
        x = torch.as_tensor(np.ascontiguousarray(planes) if isinstance(planes, np.ndarray) else planes)
        a = torch.as_tensor(np.asarray(labels) if isinstance(labels, np.ndarray) else labels)
        x = x.to(self.device, non_blocking=True).float()
        a = a.to(self.device, non_blocking=True)
        a = a.float() if self.value else a.long()
        if self.config.train.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.train.precision == "bfloat16"):
            raw = self.model(x)
        if self.value:
            loss = F.mse_loss(raw.float(), a)
        else:
            logits = masked_logits(raw.float(), x, a)
            loss = F.cross_entropy(logits, a)
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"the loss is {loss.item()} at step {self.step} (learning rate "
                                   f"{self.optimizer.param_groups[0]['lr']:.3g}); the last checkpoint is kept")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.optim.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.max_grad_norm)
        self.optimizer.step()
        self.step += 1
        self.samples += int(a.shape[0])
        if self.value:
            return {"loss": loss.item(), "mse": loss.item()}
        return {"loss": loss.item(), **policy_metrics(logits.detach(), a)}


def train_sl_policy(config: SLConfig, run_dir: str | Path | None = None, progress: bool = True,
                    log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train (or resume) until ``train.max_steps`` / ``train.max_hours``; returns a summary (the
    policy or the value network, ``config.target``)."""
    configure_torch_cpu(config.train.torch_threads)
    trainer = SLTrainer(config, run_dir)
    tc = config.train
    run = trainer.run_dir
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.yaml").write_text(dump_yaml_config(config))
    if trainer.resumed:
        log(f"resuming {run} at step {trainer.step} ({trainer.samples:,} samples, {trainer.elapsed_s / 3600:.2f} h)")
    val_planes, val_labels = validation_set(config)
    keys = ("loss", "mse") if trainer.value else ("loss", "top1", "top5")
    # The value run's train MSE: fixed positions of training games (one a game, like an epoch's draw; the
    # network has seen other positions of those games, and these ones only if an epoch drew them).
    probe = validation_set(config, "train") if trainer.value else None
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(run / "tensorboard"))
    stop = {"signal": None}

    def on_signal(signum, _frame):
        stop["signal"] = signum

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    batches = _training_batches(config, seed=tc.seed * 1_000_003 + trainer.step)
    budget_s = tc.max_hours * 3600 if tc.max_hours > 0 else math.inf
    start, start_elapsed = time.perf_counter(), trainer.elapsed_s
    last = dict.fromkeys(keys, math.nan)
    # A resume of a finished run trains no step: the figures of its last evaluation are the summary's
    # (no second metrics line, no second save).
    evaluation: dict[str, float] = dict(trainer.last_evaluation)

    def evaluate() -> None:
        nonlocal evaluation
        evaluation = {**trainer.evaluate(val_planes, val_labels), "step": trainer.step}
        for key in keys:
            writer.add_scalar(f"val/{key}", evaluation[key], trainer.step)
        line = {"step": trainer.step, "samples": trainer.samples, "hours": round(trainer.elapsed_s / 3600, 4),
                "train_loss": last["loss"] if math.isfinite(last["loss"]) else None,  # None: no log point yet
                **{f"val_{key}": evaluation[key] for key in keys}}
        if probe is not None:
            evaluation["train_mse"] = trainer.evaluate(*probe)["mse"]
            writer.add_scalar("train/fixed_positions_mse", evaluation["train_mse"], trainer.step)
            line.update(val_zero_mse=evaluation["zero_mse"], train_positions_mse=evaluation["train_mse"])
        with (run / "metrics.jsonl").open("a") as out:
            out.write(json.dumps(line) + "\n")
        trainer.save(best=trainer.improved(evaluation), evaluation=evaluation)
        if trainer.value:
            figures = (f"mse {evaluation['mse']:.3f} (always 0: {evaluation['zero_mse']:.3f}), "
                       f"training games' positions {evaluation['train_mse']:.3f}")
        else:
            figures = f"top1 {evaluation['top1']:.3f} top5 {evaluation['top5']:.3f} loss {evaluation['loss']:.3f}"
        log(f"step {trainer.step}: val {figures} ({trainer.samples:,} samples, {trainer.elapsed_s / 3600:.2f} h)")

    bar = None
    if progress:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn(f"sl-{config.target}"), BarColumn(), TextColumn("step {task.completed:.0f}"),
                       TextColumn("{task.fields[info]}"), TimeElapsedColumn())
        task = bar.add_task("train", total=tc.max_steps or None, completed=trainer.step, info="")
        bar.start()
    window: list[dict[str, float]] = []
    try:
        for planes, actions in batches:
            if stop["signal"] is not None or (tc.max_steps and trainer.step >= tc.max_steps) or trainer.elapsed_s >= budget_s:
                break
            metrics = trainer.train_step(planes, actions)
            trainer.elapsed_s = start_elapsed + time.perf_counter() - start
            window.append(metrics)
            if trainer.step % tc.log_every == 0:
                last = {k: float(np.mean([m[k] for m in window])) for k in keys}
                window.clear()
                for key, value in last.items():
                    writer.add_scalar(f"train/{key}", value, trainer.step)
                writer.add_scalar("train/samples_per_s", trainer.samples / max(trainer.elapsed_s, 1e-9), trainer.step)
                if bar is not None:
                    bar.update(task, completed=trainer.step,
                               info=" ".join(f"{k} {last[k]:.3f}" for k in (keys[1:] if trainer.value else keys[:2])))
            if trainer.step % tc.eval_every == 0:
                evaluate()
            elif trainer.step % tc.checkpoint_every == 0:
                trainer.save()
    finally:
        if bar is not None:
            bar.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if evaluation.get("step") != trainer.step:
        evaluate()
    writer.close()
    best = {"best_val_mse": trainer.best_mse, "val_zero_mse": evaluation["zero_mse"],
            "train_positions_mse": evaluation["train_mse"]} if trainer.value else {"best_val_top1": trainer.best_top1}
    return {
        "run_dir": str(run), "target": config.target, "step": trainer.step, "samples": trainer.samples,
        "hours": round(trainer.elapsed_s / 3600, 4), **{f"val_{key}": evaluation[key] for key in keys}, **best,
        "stopped_by": "signal" if stop["signal"] is not None else "budget",
        "network": {"filters": config.network.filters, "layers": config.network.layers},
    }
