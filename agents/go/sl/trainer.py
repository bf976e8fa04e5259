"""The supervised trainer: AlphaGo's policy network p_sigma (``tenuki train sl-policy``) and, as a
deviation, a value network v_theta on the games' results (``tenuki train sl-value``).

Silver et al. 2016, Methods, "Supervised learning of policy networks": the log-likelihood of the human
move maximised by SGD (the loss and its legal-move mask: ``tenuki.agents.go.sl.metrics``; the
positions: ``tenuki.agents.go.sl.data``). ``target: value`` minimises the MSE against the result of
each game for the side to move, optionally from a policy checkpoint's trunk
(``network.init_checkpoint``). Here:

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
  and counters of the same step). Also ``best`` (the best validation top-1 so far; for the value
  network the lowest validation MSE), ``metrics.jsonl`` (one line per evaluation) and
  ``tensorboard/``. A run started again on the same directory resumes with the same step, sample and
  optimizer state (the data order after a resume is a fresh random draw: positions are sampled, not
  replayed in a fixed order). Runs saved before this layout (``checkpoints/latest``, named in their
  ``trainer.json``) resume too.
"""

from __future__ import annotations

import json
import math
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tenuki.agents.go.features import NUM_PLANES, NUM_VALUE_PLANES
from tenuki.agents.go.networks.alphago import AlphaGoPolicyNet, AlphaGoValueNet, copy_policy_trunk
from tenuki.agents.go.networks.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tenuki.agents.go.sl.config import ARCHITECTURE, OptimSection, SLConfig
from tenuki.agents.go.sl.data import training_batches, validation_set
from tenuki.agents.go.sl.metrics import evaluate_policy, evaluate_value, masked_logits, policy_metrics
from tenuki.agents.go.train_state import load_optimizer_state, save_optimizer_state
from tenuki.agents.torch_cpu import configure_torch_cpu
from tenuki.common.atomic import atomic_write
from tenuki.common.yaml_config import ConfigError, dump_yaml_config

TRAINER_FILE = "trainer.json"
CHECKPOINT_NAME = re.compile(r"latest|step-\d{8,}")  # the names trainer.json may commit


class TrainingDiverged(RuntimeError):
    """The loss is not finite: the step is not applied, the last checkpoint stays as it was."""


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
    batches = training_batches(config, seed=tc.seed * 1_000_003 + trainer.step)
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
