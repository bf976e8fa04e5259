"""Optimizer state on disk as safetensors (never a pickle), shared by every trainer.

``save_optimizer_state`` writes the optimizer's tensors (momentum buffers, Adam moments) keyed
``"<param index>.<name>"`` atomically; ``load_optimizer_state`` reads them back into an optimizer
built over the same parameters, or raises ``CheckpointError`` naming the file. Scalars of the
state (Adam's step counts are tensors too) travel the same way; hyper-parameters come from the
config, not from the file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import safetensors.torch
import torch

from tenuki.agents.go.networks.checkpoint import CheckpointError


def save_optimizer_state(optimizer: torch.optim.Optimizer, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    tensors = {f"{index}.{key}": value.detach().cpu().contiguous()
               for index, entry in optimizer.state_dict()["state"].items()
               for key, value in entry.items() if isinstance(value, torch.Tensor)}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        safetensors.torch.save_file(tensors, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def read_optimizer_state(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The tensors of an optimizer state file (read fully before anything is changed)."""
    try:
        return safetensors.torch.load_file(str(path))
    except (safetensors.SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"optimizer state {path} cannot be read: {error}") from error


def apply_optimizer_state(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], where: str,
                          device: str | torch.device = "cpu") -> None:
    state = optimizer.state_dict()
    params = {i for group in state["param_groups"] for i in group["params"]}
    restored: dict[int, dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        index, _, name = key.partition(".")
        if not index.isdigit() or int(index) not in params or not name:
            raise CheckpointError(f"optimizer state {where}: unexpected entry {key!r}")
        restored.setdefault(int(index), {})[name] = tensor.to(device)
    state["state"] = restored
    try:
        optimizer.load_state_dict(state)
    except (ValueError, RuntimeError, KeyError) as error:
        raise CheckpointError(f"optimizer state {where} does not fit this optimizer: {error}") from error


def load_optimizer_state(optimizer: torch.optim.Optimizer, path: str | os.PathLike[str],
                         device: str | torch.device = "cpu") -> None:
    apply_optimizer_state(optimizer, read_optimizer_state(path), str(path), device)
