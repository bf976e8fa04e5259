"""The file side of tenuki's checkpoints, shared by the Go and the DQN formats.

A checkpoint ``ckpt`` is two files in one folder: ``ckpt.safetensors`` (tensors) and ``ckpt.json``
(a sidecar describing them, which carries the weights' size and sha256). What goes into the sidecar
is each format's business (``agents/go/checkpoint.py``, ``agents/dqn/checkpoint.py``); this module
only writes and reads the pair:

- ``write_checkpoint_pair``: both files are written in full to temporary files in the target folder
  and fsynced; then the weights are moved into place (``os.replace``), then the sidecar, then the
  folder is fsynced. The sidecar is the commit record: a crash between the two renames (new
  weights, old sidecar) shows at load time as a hash mismatch, a crash before them leaves the old
  checkpoint as it was.
- ``read_sidecar_object`` / ``check_sidecar_keys``: the sidecar as a JSON object with exactly the
  format's keys, of the right JSON types;
- ``read_verified_tensors``: the weights file, checked against the sidecar's size and hash before
  the safetensors reader sees it;
- ``check_tensor_shapes``: every tensor a network needs, present, of the right shape, nothing else.

Every function takes the caller's error class (a ``ValueError`` subclass), so each format raises its
own typed error with a message naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch

WEIGHTS_SUFFIX = ".safetensors"
SIDECAR_SUFFIX = ".json"

ErrorType = type[ValueError]
# sidecar key -> (JSON type(s), what it is)
KeySpec = Mapping[str, tuple[type | tuple[type, ...], str]]


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


def listed(items: list[str], limit: int = 5) -> str:
    """``items`` joined for an error message, at most ``limit`` of them."""
    shown = "; ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown}; and {len(items) - limit} more"


# --------------------------------------------------------------------------------------- writing


def serialise_tensors(tensors: Mapping[str, torch.Tensor], header: Mapping[str, str]) -> tuple[bytes, str, int]:
    """(safetensors bytes, their sha256, their size) of CPU-contiguous copies of ``tensors``."""
    state = {name: tensor.detach().to("cpu").contiguous() for name, tensor in tensors.items()}
    data = safetensors.torch.save(state, metadata=dict(header))
    return data, hashlib.sha256(data).hexdigest(), len(data)


def sidecar_text(sidecar: Mapping[str, Any], sidecar_path: Path, error: ErrorType) -> str:
    """The sidecar as indented JSON; a value JSON cannot hold is an ``error`` naming the file."""
    try:
        return json.dumps(sidecar, indent=2, sort_keys=True) + "\n"
    except (TypeError, ValueError) as exc:
        raise error(f"config of {sidecar_path} is not JSON-serialisable: {exc}") from exc


def write_checkpoint_pair(weights_path: Path, weights: bytes, sidecar_path: Path, sidecar: str) -> None:
    """Write the weights and then the sidecar atomically (see the module docstring); the folder is
    created if needed; temporary files are removed whatever happens."""
    folder = weights_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    temporaries: list[str] = []
    try:
        weights_tmp = _write_temporary(folder, weights_path.name, weights, temporaries)
        sidecar_tmp = _write_temporary(folder, sidecar_path.name, sidecar.encode(), temporaries)
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


# --------------------------------------------------------------------------------------- reading


def read_sidecar_object(sidecar_path: Path, error: ErrorType) -> dict[str, Any]:
    """The sidecar file parsed as a JSON object."""
    try:
        text = sidecar_path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise error(f"checkpoint sidecar {sidecar_path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read checkpoint sidecar {sidecar_path}: {exc}") from exc
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"checkpoint sidecar {sidecar_path} is not valid JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise error(f"checkpoint sidecar {sidecar_path} must hold a JSON object")
    return record


def check_sidecar_keys(record: Mapping[str, Any], keys: KeySpec, sidecar_path: Path, error: ErrorType) -> None:
    """Every key of ``keys`` present with its JSON type (booleans are not integers), no other key."""
    missing = [key for key in keys if key not in record]
    if missing:
        raise error(f"checkpoint sidecar {sidecar_path} lacks the key(s) {', '.join(missing)}")
    unknown = sorted(set(record) - set(keys))
    if unknown:
        raise error(
            f"checkpoint sidecar {sidecar_path} has unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(keys)}"
        )
    for key, (kind, description) in keys.items():
        value = record[key]
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            raise error(f"checkpoint sidecar {sidecar_path}: {key} must be {description}, got {value!r}")


def read_verified_tensors(
    weights_path: Path, sidecar_path: Path, size: int, sha256: str, error: ErrorType
) -> dict[str, torch.Tensor]:
    """The tensors of the weights file, after its size and sha256 matched the sidecar's."""
    try:
        data = weights_path.read_bytes()
    except FileNotFoundError as exc:
        raise error(f"checkpoint weights {weights_path} do not exist") from exc
    except OSError as exc:
        raise error(f"cannot read checkpoint weights {weights_path}: {exc}") from exc
    if len(data) != size:
        raise error(
            f"checkpoint weights {weights_path} are {len(data)} bytes, the sidecar says "
            f"{size}: the file is truncated or from an interrupted save"
        )
    if hashlib.sha256(data).hexdigest() != sha256:
        raise error(
            f"checkpoint weights {weights_path} do not match the sha256 in {sidecar_path.name}: "
            "the file is corrupt or from an interrupted save"
        )
    try:
        return safetensors.torch.load(data)
    except (safetensors.SafetensorError, ValueError, TypeError, RuntimeError) as exc:
        raise error(f"checkpoint weights {weights_path} are not a valid safetensors file: {exc}") from exc


def check_tensor_shapes(
    where: str, expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor], error: ErrorType
) -> None:
    """Every tensor of ``expected`` in ``found`` with the same shape and kind (float or not), nothing
    else; ``where`` starts the message (the file and what it holds)."""
    missing = sorted(set(expected) - set(found))
    if missing:
        raise error(f"{where} lacks tensor(s) {listed(missing)}")
    unexpected = sorted(set(found) - set(expected))
    if unexpected:
        raise error(f"{where} has unexpected tensor(s) {listed(unexpected)}")
    problems = []
    for name, want in expected.items():
        got = found[name]
        if tuple(got.shape) != tuple(want.shape):
            problems.append(f"{name} has shape {list(got.shape)}, the network needs {list(want.shape)}")
        elif got.dtype.is_floating_point != want.dtype.is_floating_point:
            problems.append(f"{name} has dtype {got.dtype}, the network needs {want.dtype}")
    if problems:
        raise error(f"{where}: {listed(problems)}")
