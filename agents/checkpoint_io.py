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

On top of these, the steps both network formats take the same way: ``registered_architecture`` and
``check_step`` / ``json_object`` (arguments of a save), ``write_network_checkpoint`` (the sidecar's
version and weights keys, then the pair), ``read_format_sidecar`` (format name, keys, format_version,
step), ``network_skeleton`` (the network a sidecar describes, on the ``meta`` device) and
``load_network_weights`` (the checked tensors into that skeleton).

Every function takes the caller's error class (a ``ValueError`` subclass), so each format raises its
own typed error with a message naming the file and the problem.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
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


def resolve_shipped(path: str | os.PathLike[str], weights_dir: Path) -> Path:
    """``path`` as given, or the shipped network of that name in ``weights_dir`` (``pong`` ->
    ``weights_dir/pong.safetensors``) when ``path`` is a bare name that names no file of the current folder.
    Anything else comes back unchanged, so errors name what the user wrote."""
    given = Path(path)
    if given.parent != Path(".") or given.suffix in (WEIGHTS_SUFFIX, SIDECAR_SUFFIX) or given.exists():
        return given
    if given.with_suffix(WEIGHTS_SUFFIX).exists() or given.with_suffix(SIDECAR_SUFFIX).exists():
        return given
    shipped = weights_dir / f"{given.name}{WEIGHTS_SUFFIX}"
    return shipped if shipped.exists() else given


def shipped_names(weights_dir: Path) -> list[str]:
    """The names of the networks shipped in ``weights_dir`` (those with both files), sorted."""
    return sorted(p.stem for p in weights_dir.glob(f"*{WEIGHTS_SUFFIX}") if p.with_suffix(SIDECAR_SUFFIX).exists())


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


def registered_architecture(network: Any, architectures: Mapping[str, type], error: ErrorType,
                            kind: str = "architectures", advice: str = "") -> str:
    """The ``architecture`` name of ``network`` when ``architectures`` registers exactly its class; else an
    ``error`` (``kind`` names the registry in the message, ``advice`` is appended to it)."""
    architecture = getattr(network, "architecture", "")
    if architectures.get(architecture) is not type(network):
        raise error(
            f"cannot checkpoint a {type(network).__name__}: only the registered {kind} "
            f"({', '.join(sorted(architectures))}) can be saved{advice}"
        )
    return architecture


def check_step(step: Any, error: ErrorType) -> int:
    """``step`` when it is an integer >= 0 (not a bool)."""
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise error(f"step must be an integer >= 0, got {step!r}")
    return step


def json_object(value: Any, what: str, error: ErrorType) -> dict[str, Any]:
    """``value`` (None, an object with ``to_dict()``, a dataclass instance or a mapping) as a dict for the
    sidecar; ``what`` names it in the error for anything else."""
    if value is None:
        return {}
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if not isinstance(value, Mapping):
        raise error(f"{what} must be a mapping or a dataclass, got {type(value).__name__}")
    return dict(value)


def write_network_checkpoint(path: str | os.PathLike[str], tensors: Mapping[str, torch.Tensor],
                             header: Mapping[str, str], sidecar: Mapping[str, Any], error: ErrorType) -> Path:
    """Write ``tensors`` (``header`` in the safetensors metadata) and ``sidecar`` completed with the
    writers' versions and the weights' hash and size, atomically; return the weights path."""
    weights_path, sidecar_path = checkpoint_paths(path)
    weights, weights_sha256, weights_bytes = serialise_tensors(tensors, header)
    record = {
        **sidecar,
        "tenuki_version": tenuki_version(),
        "torch_version": torch.__version__,
        "weights_sha256": weights_sha256,
        "weights_bytes": weights_bytes,
    }
    write_checkpoint_pair(weights_path, weights, sidecar_path, sidecar_text(record, sidecar_path, error))
    return weights_path


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
        weights_path = sidecar_path.with_suffix(WEIGHTS_SUFFIX)
        if not weights_path.exists():  # nothing there: name the file the user gave, not its sidecar
            raise error(f"checkpoint {weights_path} does not exist (a checkpoint is a {WEIGHTS_SUFFIX} file "
                        f"with its {SIDECAR_SUFFIX} sidecar)") from exc
        raise error(f"checkpoint sidecar {sidecar_path} does not exist (the {SIDECAR_SUFFIX} written next to "
                    f"{weights_path.name}: it holds the architecture and the weights' hash)") from exc
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


def read_format_sidecar(sidecar_path: Path, format_name: str, format_version: int, description: str,
                        keys: KeySpec, error: ErrorType) -> dict[str, Any]:
    """The sidecar of a ``format_name`` checkpoint (``description`` names that format in the messages):
    the right format, exactly ``keys``, ``format_version``, and a ``step`` >= 0 when ``keys`` has one."""
    record = read_sidecar_object(sidecar_path, error)
    if record.get("format") != format_name:
        raise error(
            f"{sidecar_path} is not a {description} sidecar (format {record.get('format')!r}, "
            f"expected {format_name!r})"
        )
    check_sidecar_keys(record, keys, sidecar_path, error)
    where = f"checkpoint sidecar {sidecar_path}"
    if record["format_version"] != format_version:
        raise error(
            f"{where} has format_version {record['format_version']}; this tenuki ({tenuki_version()}) "
            f"reads format_version {format_version} only"
        )
    if "step" in keys and record["step"] < 0:
        raise error(f"{where}: step must be >= 0, got {record['step']}")
    return record


def network_skeleton(build: Callable[..., torch.nn.Module], architectures: Mapping[str, type], architecture: str,
                     kwargs: Mapping[str, Any], weights_path: Path, sidecar_path: Path,
                     error: ErrorType) -> torch.nn.Module:
    """``build(architecture, **kwargs)`` on the ``meta`` device (shapes only, so absurd ``kwargs``
    allocate nothing); an unknown architecture or kwargs the constructor rejects is an ``error``."""
    if architecture not in architectures:
        raise error(
            f"checkpoint {weights_path} has unknown architecture {architecture!r}; "
            f"known: {', '.join(sorted(architectures))}"
        )
    try:
        with torch.device("meta"):
            return build(architecture, **kwargs)
    except ValueError as exc:
        raise error(f"checkpoint sidecar {sidecar_path}: bad kwargs: {exc}") from exc


def load_network_weights(skeleton: torch.nn.Module, tensors: Mapping[str, torch.Tensor], where: str,
                         device: str | torch.device, error: ErrorType) -> torch.nn.Module:
    """``skeleton`` (from ``network_skeleton``) materialised on ``device`` with ``tensors`` in eval mode,
    after their names and shapes matched; ``where`` starts a mismatch's message."""
    check_tensor_shapes(where, skeleton.state_dict(), tensors, error)
    network = skeleton.to_empty(device=device)
    network.load_state_dict(tensors, strict=True)
    return network.eval()


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
