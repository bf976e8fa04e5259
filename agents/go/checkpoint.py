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
suffix or with none.

Atomic writes. Both files are first written in full to temporary files in the target folder and
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
allocate nothing). Each failure is a ``CheckpointError`` naming the file and what was wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch

from .network_base import GoNetwork
from .networks import ARCHITECTURES, build_network

FORMAT_NAME = "tenuki-checkpoint"
FORMAT_VERSION = 1
WEIGHTS_SUFFIX = ".safetensors"
SIDECAR_SUFFIX = ".json"

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


def checkpoint_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(weights path, sidecar path) of a checkpoint given with suffix ``.safetensors``, ``.json`` or none."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (WEIGHTS_SUFFIX, SIDECAR_SUFFIX) else path
    return stem.with_name(stem.name + WEIGHTS_SUFFIX), stem.with_name(stem.name + SIDECAR_SUFFIX)


def tenuki_version() -> str:
    try:
        return version("tenuki")
    except PackageNotFoundError:
        return "unknown"


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
    architecture = getattr(model, "architecture", "")
    if ARCHITECTURES.get(architecture) is not type(model):
        raise CheckpointError(
            f"cannot checkpoint a {type(model).__name__}: only the registered architectures "
            f"({', '.join(sorted(ARCHITECTURES))}) can be saved; save the parts of a combined network "
            "separately"
        )
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise CheckpointError(f"step must be an integer >= 0, got {step!r}")
    if config is None:
        config = {}
    elif dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    if not isinstance(config, Mapping):
        raise CheckpointError(f"config must be a mapping or a dataclass, got {type(config).__name__}")

    weights_path, sidecar_path = checkpoint_paths(path)
    state = {name: tensor.detach().to("cpu").contiguous() for name, tensor in model.state_dict().items()}
    header = {"format": FORMAT_NAME, "architecture": architecture}
    weights = safetensors.torch.save(state, metadata=header)
    sidecar = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "architecture": architecture,
        "kwargs": model.init_kwargs(),
        "step": step,
        "config": dict(config),
        "tenuki_version": tenuki_version(),
        "torch_version": torch.__version__,
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
        "weights_bytes": len(weights),
    }
    try:
        sidecar_text = json.dumps(sidecar, indent=2, sort_keys=True) + "\n"
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"config of {sidecar_path} is not JSON-serialisable: {exc}") from exc

    folder = weights_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    temporaries: list[str] = []
    try:
        weights_tmp = _write_temporary(folder, weights_path.name, weights, temporaries)
        sidecar_tmp = _write_temporary(folder, sidecar_path.name, sidecar_text.encode(), temporaries)
        os.replace(weights_tmp, weights_path)
        temporaries.remove(weights_tmp)
        os.replace(sidecar_tmp, sidecar_path)  # the commit point
        temporaries.remove(sidecar_tmp)
        _fsync_folder(folder)
    finally:
        for leftover in temporaries:
            try:
                os.unlink(leftover)
            except OSError:
                pass
    return weights_path


def _write_temporary(folder: Path, name: str, data: bytes, temporaries: list[str]) -> str:
    """Write ``data`` to a new hidden file in ``folder``, fsync it, return its path (recorded in
    ``temporaries`` as soon as it exists, so the caller can clean up after a failure)."""
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    temporaries.append(temporary)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return temporary


def _fsync_folder(folder: Path) -> None:
    """Make the renames durable (POSIX); filesystems that cannot fsync a folder are let be."""
    if os.name != "posix":
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# -------------------------------------------------------------------------------------- loading


def read_checkpoint_meta(path: str | os.PathLike[str]) -> CheckpointMeta:
    """The validated sidecar of a checkpoint (the weights are not read)."""
    _, sidecar_path = checkpoint_paths(path)
    try:
        text = sidecar_path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CheckpointError(f"checkpoint sidecar {sidecar_path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read checkpoint sidecar {sidecar_path}: {exc}") from exc
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"checkpoint sidecar {sidecar_path} is not valid JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise CheckpointError(f"checkpoint sidecar {sidecar_path} must hold a JSON object")

    if record.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{sidecar_path} is not a tenuki checkpoint sidecar (format {record.get('format')!r}, "
            f"expected {FORMAT_NAME!r})"
        )
    missing = [key for key in _SIDECAR_KEYS if key not in record]
    if missing:
        raise CheckpointError(f"checkpoint sidecar {sidecar_path} lacks the key(s) {', '.join(missing)}")
    unknown = sorted(set(record) - set(_SIDECAR_KEYS))
    if unknown:
        raise CheckpointError(
            f"checkpoint sidecar {sidecar_path} has unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(_SIDECAR_KEYS)}"
        )
    for key, (kind, description) in _SIDECAR_KEYS.items():
        value = record[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise CheckpointError(
                f"checkpoint sidecar {sidecar_path}: {key} must be {description}, got {value!r}"
            )
    if record["format_version"] != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint sidecar {sidecar_path} has format_version {record['format_version']}; this "
            f"tenuki ({tenuki_version()}) reads format_version {FORMAT_VERSION} only"
        )
    if record["step"] < 0:
        raise CheckpointError(f"checkpoint sidecar {sidecar_path}: step must be >= 0, got {record['step']}")
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
    """
    weights_path, sidecar_path = checkpoint_paths(path)
    meta = read_checkpoint_meta(sidecar_path)
    if architecture is not None and meta.architecture != architecture:
        raise CheckpointError(
            f"checkpoint {weights_path} holds a {meta.architecture!r} network, expected {architecture!r}"
        )
    if meta.architecture not in ARCHITECTURES:
        raise CheckpointError(
            f"checkpoint {weights_path} has unknown architecture {meta.architecture!r}; "
            f"known: {', '.join(sorted(ARCHITECTURES))}"
        )

    try:
        data = weights_path.read_bytes()
    except FileNotFoundError as exc:
        raise CheckpointError(f"checkpoint weights {weights_path} do not exist") from exc
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint weights {weights_path}: {exc}") from exc
    if len(data) != meta.weights_bytes:
        raise CheckpointError(
            f"checkpoint weights {weights_path} are {len(data)} bytes, the sidecar says "
            f"{meta.weights_bytes}: the file is truncated or from an interrupted save"
        )
    if hashlib.sha256(data).hexdigest() != meta.weights_sha256:
        raise CheckpointError(
            f"checkpoint weights {weights_path} do not match the sha256 in {sidecar_path.name}: "
            "the file is corrupt or from an interrupted save"
        )
    try:
        tensors = safetensors.torch.load(data)
    except (safetensors.SafetensorError, ValueError, TypeError, RuntimeError) as exc:
        raise CheckpointError(
            f"checkpoint weights {weights_path} are not a valid safetensors file: {exc}"
        ) from exc

    try:
        with torch.device("meta"):  # shapes only: nothing is allocated
            skeleton = build_network(meta.architecture, **meta.kwargs)
    except ValueError as exc:
        raise CheckpointError(f"checkpoint sidecar {sidecar_path}: bad kwargs: {exc}") from exc
    _check_tensors(weights_path, meta, skeleton.state_dict(), tensors)

    model = skeleton.to_empty(device=device)
    model.load_state_dict(tensors, strict=True)
    return model.eval(), meta


def _check_tensors(
    weights_path: Path,
    meta: CheckpointMeta,
    expected: Mapping[str, torch.Tensor],
    found: Mapping[str, torch.Tensor],
) -> None:
    """Every tensor the network needs, present, of the right shape and kind; nothing else."""
    where = f"checkpoint {weights_path} ({meta.architecture} {meta.kwargs})"
    missing = sorted(set(expected) - set(found))
    if missing:
        raise CheckpointError(f"{where} lacks tensor(s) {_listed(missing)}")
    unexpected = sorted(set(found) - set(expected))
    if unexpected:
        raise CheckpointError(f"{where} has unexpected tensor(s) {_listed(unexpected)}")
    problems = []
    for name, want in expected.items():
        got = found[name]
        if tuple(got.shape) != tuple(want.shape):
            problems.append(f"{name} has shape {list(got.shape)}, the network needs {list(want.shape)}")
        elif got.dtype.is_floating_point != want.dtype.is_floating_point:
            problems.append(f"{name} has dtype {got.dtype}, the network needs {want.dtype}")
    if problems:
        raise CheckpointError(f"{where}: {_listed(problems)}")


def _listed(items: list[str], limit: int = 5) -> str:
    shown = "; ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown}; and {len(items) - limit} more"
