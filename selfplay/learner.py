"""The learner's state and training step, without Ray (``tenuki.selfplay.actors.Learner`` wraps it).

State on disk, in ``RUN_DIR/checkpoints``:

- ``vNNNNNN.safetensors`` + ``.json``: the network of weight version N (``tenuki.agents.go.networks.checkpoint``,
  atomic), its sidecar ``config`` holding ``{"version", "step", "samples_trained", "selfplay"}``;
- ``vNNNNNN.optimizer.safetensors``: the optimizer's tensors (momentum buffers), written before
  the network, so a checkpoint whose network exists has its optimizer state too;
- ``learner.json``: the commit record ``{"version", "step", "samples_trained", "checkpoint"}``,
  replaced atomically after both files are in place.

A learner starting on a run directory resumes from ``learner.json`` (falling back to the newest
readable checkpoint if the one it names is damaged), so versions never go backwards: a version is
published to the workers only after its checkpoint is committed.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tenuki.agents.go.networks import build_network
from tenuki.agents.go.networks.checkpoint import (
    CheckpointError,
    load_checkpoint,
    resolve_checkpoint,
    save_checkpoint,
)
from tenuki.agents.go.train_state import apply_optimizer_state, read_optimizer_state, save_optimizer_state
from tenuki.common.atomic import atomic_write
from tenuki.selfplay.config import SelfPlayConfig
from tenuki.selfplay.losses import LOSSES

log = logging.getLogger(__name__)
STATE_FILE = "learner.json"
_VERSION_NAME = re.compile(r"^v(\d{6,})\.json$")


def version_name(version: int) -> str:
    return f"v{version:06d}"


def evaluator_options(config: SelfPlayConfig) -> dict[str, bool]:
    """The workers' ``TorchEvaluator`` options: the fast CPU path (``fast_cpu_options``) unless
    ``workers.fast_inference`` is off."""
    from tenuki.agents.go.evaluator import fast_cpu_options

    return fast_cpu_options() if config.workers.fast_inference else {}


def make_evaluator(model: torch.nn.Module, config: SelfPlayConfig):
    """The evaluator of the workers and the gatekeeper: ``TorchEvaluator`` with ``evaluator_options``, or
    OpenVINO's (``workers.inference``; with ``fast_inference`` only)."""
    from tenuki.agents.go.evaluator import TorchEvaluator, play_evaluator

    if config.workers.fast_inference and config.workers.inference != "torch":
        return play_evaluator(model, backend=config.workers.inference, threads=config.workers.torch_threads)
    return TorchEvaluator(model, **evaluator_options(config))


def build_model(config: SelfPlayConfig) -> torch.nn.Module:
    net = config.network
    if net.architecture.startswith("alphago"):
        planes = 49 if net.architecture == "alphago_value" else 48
        return build_network(net.architecture, board_size=config.game.size, in_planes=planes, filters=net.filters,
                             layers=net.layers)
    extra = {"ownership_head": True} if config.learner.ownership_weight > 0 else {}
    return build_network(net.architecture, board_size=config.game.size, blocks=net.blocks, channels=net.channels,
                         **extra)


def write_json_atomic(path: Path, data: Any) -> None:
    atomic_write(path, lambda stream: stream.write(json.dumps(data, indent=1).encode()))


def state_dict_to_numpy(model: torch.nn.Module) -> dict[str, np.ndarray]:
    return {name: tensor.detach().cpu().numpy().copy() for name, tensor in model.state_dict().items()}


def numpy_to_state_dict(weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {name: torch.from_numpy(np.array(array, copy=True)) for name, array in weights.items()}


class TrainingDiverged(RuntimeError):
    """The loss or the gradient is not finite: the step is not applied and the run must stop."""


class LearnerCore:
    """Network, optimizer and counters of the learner; ``train`` runs optimizer steps."""

    def __init__(self, config: SelfPlayConfig, run_dir: str | Path | None = None):
        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        lc = config.learner
        torch.manual_seed(config.run.seed)
        self.device = torch.device(lc.device)
        self.model = build_model(config).to(self.device)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lc.learning_rate, momentum=lc.momentum,
                                         weight_decay=lc.weight_decay)
        self.loss = LOSSES[lc.loss]
        self.version = 0
        self.step = 0
        self.samples_trained = 0
        self.resumed_from: str | None = None
        if self.run_dir is not None:
            self._resume()
        if self.resumed_from is None and config.network.init_checkpoint:
            self._initialise(Path(config.network.init_checkpoint))

    def _initialise(self, path: Path) -> None:
        """Start from another run's network (the RL policy from the SL policy), version 0.

        A value network (``alphago_value``) may start from a policy network (``alphago_policy``) of
        the same width and depth: its trunk takes the policy's convolutions (the value net's extra
        input plane, the colour to play, starts with zero weights) and its head starts fresh.
        """
        if self.config.network.architecture == "alphago_value":
            model, meta = load_checkpoint(path)
            if meta.architecture == "alphago_policy":
                self._initialise_value_trunk(path, model)
                return
        model, meta = load_checkpoint(path, architecture=self.config.network.architecture)
        mine, theirs = dict(self.model.init_kwargs()), dict(model.init_kwargs())
        mine.pop("ownership_head", None), theirs.pop("ownership_head", None)  # a new head may start fresh
        if mine != theirs:  # tensors of the same shapes, another network (a value head's old ReLU)
            raise CheckpointError(f"network.init_checkpoint {path}: {theirs} does not fit the config's "
                                  f"network {mine}")
        try:
            missing, unexpected = self.model.load_state_dict(model.state_dict(), strict=False)
            missing = [name for name in missing if not name.startswith("ownership_conv.")]  # a new head starts fresh
            if missing or unexpected:
                raise RuntimeError(f"missing {missing}, unexpected {unexpected}")
        except RuntimeError as error:
            raise CheckpointError(f"network.init_checkpoint {path}: {meta.kwargs} does not fit the config's "
                                  f"network: {error}") from error
        self._initialise_optimizer(path)

    def _initialise_optimizer(self, path: Path) -> None:
        """The optimizer state saved beside ``path`` (``NAME.optimizer.safetensors``, as every version of a
        run has it), when there is one and it fits: a run that continues a committed network keeps its
        momentum. One that does not fit (a network grown a head since) is left out with a warning."""
        resolved = resolve_checkpoint(path)
        base = resolved.with_suffix("") if resolved.suffix == ".safetensors" else resolved
        optimizer_path = base.with_name(base.name + ".optimizer.safetensors")
        if not optimizer_path.exists():
            return
        tensors = read_optimizer_state(optimizer_path)
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        for key, tensor in tensors.items():
            index, _, _ = key.partition(".")
            if not index.isdigit() or int(index) >= len(params) or tensor.shape != params[int(index)].shape:
                log.warning("learner: optimizer state %s left out: entry %s does not fit the network",
                            optimizer_path, key)
                return
        apply_optimizer_state(self.optimizer, tensors, str(optimizer_path), self.device)
        log.info("learner: optimizer state from %s", optimizer_path)

    def _initialise_value_trunk(self, path: Path, policy: torch.nn.Module) -> None:
        """The value network's trunk from a policy network's (see ``_initialise``)."""
        from tenuki.agents.go.networks.alphago import copy_policy_trunk

        try:
            copy_policy_trunk(self.model, policy)
        except ValueError as error:
            raise CheckpointError(f"network.init_checkpoint {path}: {error}") from error

    # ------------------------------------------------------------------ checkpoints

    @property
    def checkpoint_dir(self) -> Path:
        assert self.run_dir is not None
        return self.run_dir / "checkpoints"

    def _resume(self) -> None:
        state_path = self.checkpoint_dir / STATE_FILE
        candidates: list[str] = []
        if state_path.exists():
            try:
                candidates.append(json.loads(state_path.read_text())["checkpoint"])
            except (OSError, ValueError, KeyError, TypeError):
                pass
        if self.checkpoint_dir.is_dir():
            found = sorted((m.group(0)[:-5] for m in map(_VERSION_NAME.match, os.listdir(self.checkpoint_dir)) if m),
                           reverse=True)
            candidates += [name for name in found if name not in candidates]
        for name in candidates:
            try:
                self.load(self.checkpoint_dir / name)
            except (CheckpointError, OSError, ValueError, KeyError) as error:
                log.warning("learner: skipping checkpoint %s: %s", name, error)
                continue
            self.resumed_from = name
            return

    def load(self, path: Path) -> None:
        model, meta = load_checkpoint(path, architecture=self.config.network.architecture)
        info = meta.config
        optimizer_path = path.with_name(path.name + ".optimizer.safetensors")
        tensors = None
        if optimizer_path.exists():  # read before anything changes, so a damaged file leaves the learner as it was
            tensors = read_optimizer_state(optimizer_path)
        self.model.load_state_dict(model.state_dict())
        if tensors is not None:
            apply_optimizer_state(self.optimizer, tensors, str(optimizer_path), self.device)
        self.version = int(info["version"])
        self.step = int(info["step"])
        self.samples_trained = int(info["samples_trained"])

    def save(self) -> Path:
        """Commit the current version to disk (optimizer, network, then ``learner.json``)."""
        folder = self.checkpoint_dir
        folder.mkdir(parents=True, exist_ok=True)
        name = version_name(self.version)
        save_optimizer_state(self.optimizer, folder / f"{name}.optimizer.safetensors")
        info = {"version": self.version, "step": self.step, "samples_trained": self.samples_trained,
                "selfplay": self.config.to_dict()}
        save_checkpoint(folder / name, self.model, step=self.step, config=info)
        write_json_atomic(folder / STATE_FILE, {"version": self.version, "step": self.step,
                                               "samples_trained": self.samples_trained, "checkpoint": name})
        self._prune()
        return folder / name

    def _prune(self) -> None:
        keep = self.config.learner.keep_checkpoints
        if keep <= 0:
            return
        for old in range(self.version - keep, 0, -1):
            base = self.checkpoint_dir / version_name(old)
            gone = False
            for suffix in (".safetensors", ".json", ".optimizer.safetensors"):
                target = Path(str(base) + suffix)
                if target.exists():
                    target.unlink()
                    gone = True
            if not gone:
                break

    # ------------------------------------------------------------------ training

    def weights(self) -> dict[str, np.ndarray]:
        return state_dict_to_numpy(self.model)

    @property
    def learning_rate(self) -> float:
        """The step schedule: ``learning_rate``, times ``lr_drop_factor`` once the version reaches
        ``lr_drop_version``. A function of the version alone, so a resumed learner (whose optimizer
        state carries the rate it was saved with) trains at the same rate as an uninterrupted one."""
        lc = self.config.learner
        dropped = lc.lr_drop_version > 0 and self.version >= lc.lr_drop_version
        return lc.learning_rate * (lc.lr_drop_factor if dropped else 1.0)

    def train(self, batches: Iterator[dict[str, np.ndarray]], steps: int,
              on_step: Callable[[int, dict[str, float]], None] | None = None) -> dict[str, float]:
        """``steps`` optimizer steps on ``batches``; returns the mean of each metric. The version
        is not advanced here (``new_version`` does that)."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate
        self.model.train()
        totals: dict[str, float] = {}
        for i in range(steps):
            batch = next(batches)
            tensors = {name: torch.from_numpy(np.array(array, copy=True)).to(self.device)
                       for name, array in batch.items()}
            loss, metrics = self.loss(self.model, tensors, self.config)
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"the {self.config.learner.loss} loss is {loss.item()} at step {self.step} "
                                       f"(version {self.version}); the weights of version {self.version} are kept")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            clip = self.config.learner.max_grad_norm
            if clip > 0:
                norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
                if not torch.isfinite(norm):
                    raise TrainingDiverged(f"the gradient norm is {norm.item()} at step {self.step} "
                                           f"(version {self.version}); the weights of version {self.version} are kept")
                metrics = {**metrics, "grad_norm": float(norm)}
            self.optimizer.step()
            self.step += 1
            self.samples_trained += int(next(iter(batch.values())).shape[0])
            for key, value in metrics.items():
                totals[key] = totals.get(key, 0.0) + value
            if on_step is not None:
                on_step(i, metrics)
        self.model.eval()
        return {key: value / max(steps, 1) for key, value in totals.items()}

    def new_version(self) -> int:
        self.version += 1
        return self.version
