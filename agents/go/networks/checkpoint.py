"""Network checkpoints: safetensors weights plus a JSON sidecar, written atomically, never unpickled.

A checkpoint ``ckpt`` is two files in one folder:

- ``ckpt.safetensors``: the ``state_dict`` (CPU tensors; the safetensors header also names the
  format and the architecture);
- ``ckpt.json``: the sidecar, every key required, no other key allowed::

      format          "tenuki-checkpoint"
      format_version  1
      architecture    a name of ``networks.ARCHITECTURES``, e.g. "alphazero_resnet"
      kwargs          the constructor arguments (``net.init_kwargs()``)
      step            training step (int >= 0)
      config          the run's config (a JSON object)
      tenuki_version  torch_version   the writers' versions
      weights_sha256  weights_bytes   hash and size of the safetensors file

``save_checkpoint`` / ``load_checkpoint`` / ``read_checkpoint_meta`` accept the path with either
suffix or with none. The two loaders also take the name of a shipped network (``sl-policy19``, ``az9x9``:
a bare name with no folder and no suffix, found in the package's ``weights/`` folder when no such file
exists in the current folder), so that configs naming them work from any folder (``resolve_checkpoint``).

Atomic writes (``agents/checkpoint_io.py``, shared with the DQN checkpoints). Both files are first written in full to temporary files in the target folder and
fsynced; then the weights are moved into place (``os.replace``), then the sidecar, then the folder
is fsynced. The sidecar is the commit record: it carries the weights' hash, so a crash between the
two renames (new weights, old sidecar) is caught at load time as a hash mismatch, and a crash before
them leaves the old checkpoint as it was. A load therefore gives the old checkpoint, the new one, or
a ``CheckpointError`` saying the save was interrupted, never weights from one save with the
description of another. Training writes a fresh name per step, so only overwritten names
("latest", "best") are exposed to that window at all.

Loading validates everything before touching weights: the sidecar's keys and types, the
architecture name, the size and hash of the weights file, the safetensors header, then every tensor
name and shape against a network built on the ``meta`` device from ``kwargs`` (so absurd ``kwargs``
allocate nothing; an argument added later that an old sidecar lacks takes the value of
``LEGACY_KWARGS``, the behaviour the checkpoint was trained with). Each failure is a ``CheckpointError`` naming the file and what was wrong.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tenuki.agents.checkpoint_io import (
    SIDECAR_SUFFIX,
    WEIGHTS_SUFFIX,
    check_step,
    checkpoint_paths,
    json_object,
    load_network_weights,
    network_skeleton,
    read_format_sidecar,
    read_verified_tensors,
    registered_architecture,
    resolve_shipped,
    tenuki_version,
    write_network_checkpoint,
)
from tenuki.agents.go.networks.base import GoNetwork
from tenuki.agents.go.networks.registry import ARCHITECTURES, build_network

FORMAT_NAME = "tenuki-checkpoint"
FORMAT_VERSION = 1
# Constructor arguments added after checkpoints were written without them: the value that rebuilds
# those old checkpoints as they were trained (a new default would change their outputs).
LEGACY_KWARGS: dict[str, dict[str, Any]] = {"alphago_value": {"head_relu": True}}
__all__ = [
    "SIDECAR_SUFFIX",
    "WEIGHTS_SUFFIX",
    "CheckpointError",
    "CheckpointMeta",
    "checkpoint_paths",
    "load_checkpoint",
    "read_checkpoint_meta",
    "save_checkpoint",
    "tenuki_version",
]

# sidecar key -> (JSON type, what it is), all required
_SIDECAR_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "format": (str, f'the string "{FORMAT_NAME}"'),
    "format_version": (int, "an integer"),
    "architecture": (str, "an architecture name"),
    "kwargs": (dict, "an object of constructor arguments"),
    "step": (int, "an integer >= 0"),
    "config": (dict, "an object"),
    "tenuki_version": (str, "a string"),
    "torch_version": (str, "a string"),
    "weights_sha256": (str, "a hex string"),
    "weights_bytes": (int, "an integer"),
}


class CheckpointError(ValueError):
    """A checkpoint cannot be written or read: the message names the file and the problem."""


@dataclass(frozen=True)
class CheckpointMeta:
    """The sidecar of a checkpoint, validated."""

    architecture: str
    kwargs: dict[str, Any]
    step: int
    config: dict[str, Any]
    tenuki_version: str
    torch_version: str
    weights_sha256: str
    weights_bytes: int
    format_version: int = FORMAT_VERSION


# --------------------------------------------------------------------------------------- saving


def save_checkpoint(
    path: str | os.PathLike[str],
    model: GoNetwork,
    *,
    step: int = 0,
    config: Mapping[str, Any] | Any | None = None,
) -> Path:
    """Write ``model`` (its weights, architecture and constructor arguments) atomically; return the
    weights path. ``config`` is a mapping or a dataclass, stored as a JSON object. The folder is
    created if needed; an existing checkpoint of that name is replaced (see the module docstring)."""
    architecture = registered_architecture(
        model, ARCHITECTURES, CheckpointError, advice="; save the parts of a combined network separately"
    )
    sidecar = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "architecture": architecture,
        "kwargs": model.init_kwargs(),
        "step": check_step(step, CheckpointError),
        "config": json_object(config, "config", CheckpointError),
    }
    header = {"format": FORMAT_NAME, "architecture": architecture}
    return write_network_checkpoint(path, model.state_dict(), header, sidecar, CheckpointError)


# -------------------------------------------------------------------------------------- loading


SHIPPED_WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """``path`` as given, or the shipped network of that name (``sl-policy19`` ->
    ``tenuki/agents/go/weights/sl-policy19.safetensors``) when ``path`` is a bare name that names no file
    of the current folder. Anything else comes back unchanged, so errors name what the user wrote."""
    return resolve_shipped(path, SHIPPED_WEIGHTS_DIR)


def read_checkpoint_meta(path: str | os.PathLike[str]) -> CheckpointMeta:
    """The validated sidecar of a checkpoint (the weights are not read); a shipped network's name works too."""
    path = resolve_checkpoint(path)
    _, sidecar_path = checkpoint_paths(path)
    record = read_format_sidecar(sidecar_path, FORMAT_NAME, FORMAT_VERSION, "tenuki checkpoint", _SIDECAR_KEYS,
                                 CheckpointError)
    return CheckpointMeta(**{key: record[key] for key in _SIDECAR_KEYS if key != "format"})


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    device: str | torch.device = "cpu",
    architecture: str | None = None,
) -> tuple[GoNetwork, CheckpointMeta]:
    """Rebuild a checkpointed network: ``(model in eval mode on device, meta)``.

    ``architecture``, when given, is the one the caller expects (another one is an error).
    Raises ``CheckpointError`` for a missing, malformed, corrupt, truncated or mismatched checkpoint.
    A shipped network's name works too (``resolve_checkpoint``).
    """
    weights_path, sidecar_path = checkpoint_paths(resolve_checkpoint(path))
    meta = read_checkpoint_meta(sidecar_path)
    if architecture is not None and meta.architecture != architecture:
        raise CheckpointError(
            f"checkpoint {weights_path} holds a {meta.architecture!r} network, expected {architecture!r}"
        )
    kwargs = {**LEGACY_KWARGS.get(meta.architecture, {}), **meta.kwargs}
    skeleton = network_skeleton(build_network, ARCHITECTURES, meta.architecture, kwargs, weights_path,
                                sidecar_path, CheckpointError)
    tensors = read_verified_tensors(
        weights_path, sidecar_path, meta.weights_bytes, meta.weights_sha256, CheckpointError
    )
    where = f"checkpoint {weights_path} ({meta.architecture} {meta.kwargs})"
    model = load_network_weights(skeleton, tensors, where, device, CheckpointError)
    return model, meta
