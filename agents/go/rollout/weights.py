"""The rollout policy's weights file: safetensors (one float32 tensor "weights") + a JSON sidecar,
written atomically, validated on load (``RolloutWeightsError`` names the file and the problem),
never unpickled; and the table-size limits shared by the model and the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tenuki.agents.go.rollout.model import RolloutPolicy

FORMAT_NAME = "tenuki-rollout-policy"
FORMAT_VERSION = 1
DEFAULT_TABLE_BITS = 18
MIN_TABLE_BITS, MAX_TABLE_BITS = 8, 24
WEIGHTS_KEY = "weights"


class RolloutWeightsError(ValueError):
    """A rollout-policy weights file cannot be read or written: the message names the file and the problem."""


# ----------------------------------------------------------------------------- files

# sidecar key -> (JSON type, what it is); all required, others rejected
_SIDECAR_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "format": (str, f'the string "{FORMAT_NAME}"'),
    "format_version": (int, f"the integer {FORMAT_VERSION}"),
    "table_bits": (int, f"an integer in {MIN_TABLE_BITS}..{MAX_TABLE_BITS}"),
    "hash_seed": (int, "an integer >= 0"),
    "features": (dict, "an object (the feature layout: reserved slots, max distance)"),
    "training": (dict, "an object (accuracy, games trained, ...)"),
    "weights_sha256": (str, "a hex string"),
    "weights_bytes": (int, "an integer"),
}


def rollout_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(weights, sidecar) of ``path`` given with the .safetensors or .json suffix, or none."""
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".safetensors"), path.with_name(path.name + ".json")


def _feature_layout() -> dict:
    from tenuki.agents.go.rollout import features as rf

    return {"reserved": rf.RESERVED, "max_distance": rf.MAX_DISTANCE, "salts": [rf.SALT_PATTERN3, rf.SALT_RESPONSE]}


def _write_atomic(target: Path, data: bytes) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def save_rollout_policy(policy: RolloutPolicy, path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``path.safetensors`` (one float32 tensor "weights") and ``path.json``, atomically: both
    are written to temporary files first, then renamed weights first; the sidecar carries the
    weights' hash, so an interrupted save is caught at load time."""
    from safetensors.numpy import save as st_save

    weights_path, sidecar_path = rollout_paths(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    data = st_save({WEIGHTS_KEY: np.ascontiguousarray(policy.weights, np.float32)},
                   metadata={"format": FORMAT_NAME})
    sidecar = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "table_bits": policy.table_bits,
               "hash_seed": int(policy.hash_seed), "features": _feature_layout(),
               "training": dict(policy.meta), "weights_sha256": hashlib.sha256(data).hexdigest(),
               "weights_bytes": len(data)}
    temporaries = []
    try:
        temporaries.append(_write_atomic(weights_path, data))
        temporaries.append(_write_atomic(sidecar_path, (json.dumps(sidecar, indent=1) + "\n").encode()))
        os.replace(temporaries[0], weights_path)
        os.replace(temporaries[1], sidecar_path)
    except OSError as e:
        for tmp in temporaries:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise RolloutWeightsError(f"{weights_path}: cannot write the rollout policy: {e}") from e
    return weights_path, sidecar_path


def load_rollout_policy(path: str | os.PathLike[str]) -> RolloutPolicy:
    """Read and validate a rollout policy (sidecar keys and types, feature layout, size and hash of
    the weights file, tensor name, dtype and shape). Never unpickles."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    from tenuki.agents.go.rollout.model import RolloutPolicy  # here: rollout_model imports this module

    weights_path, sidecar_path = rollout_paths(path)
    try:
        sidecar = json.loads(sidecar_path.read_text())
    except FileNotFoundError as e:
        raise RolloutWeightsError(f"{sidecar_path}: no such sidecar file") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RolloutWeightsError(f"{sidecar_path}: not a JSON sidecar: {e}") from e
    if not isinstance(sidecar, dict):
        raise RolloutWeightsError(f"{sidecar_path}: the sidecar is not a JSON object")
    for key, (kind, what) in _SIDECAR_KEYS.items():
        value = sidecar.get(key)
        if key not in sidecar or not isinstance(value, kind) or isinstance(value, bool):
            raise RolloutWeightsError(f"{sidecar_path}: key {key!r} must be {what}, got {value!r}")
    unknown = sorted(set(sidecar) - set(_SIDECAR_KEYS))
    if unknown:
        raise RolloutWeightsError(f"{sidecar_path}: unknown keys {unknown} (allowed: {sorted(_SIDECAR_KEYS)})")
    if sidecar["format"] != FORMAT_NAME or sidecar["format_version"] != FORMAT_VERSION:
        raise RolloutWeightsError(f"{sidecar_path}: format {sidecar['format']!r} version {sidecar['format_version']} "
                                  f"is not {FORMAT_NAME!r} version {FORMAT_VERSION}")
    bits = sidecar["table_bits"]
    if not MIN_TABLE_BITS <= bits <= MAX_TABLE_BITS:
        raise RolloutWeightsError(f"{sidecar_path}: table_bits {bits} is outside {MIN_TABLE_BITS}..{MAX_TABLE_BITS}")
    if sidecar["features"] != _feature_layout():
        raise RolloutWeightsError(f"{sidecar_path}: feature layout {sidecar['features']} differs from this "
                                  f"version's {_feature_layout()} (weights trained on other features)")
    try:
        data = weights_path.read_bytes()
    except OSError as e:
        raise RolloutWeightsError(f"{weights_path}: cannot read the weights: {e}") from e
    if len(data) != sidecar["weights_bytes"] or hashlib.sha256(data).hexdigest() != sidecar["weights_sha256"]:
        raise RolloutWeightsError(f"{weights_path}: size or hash differs from the sidecar's (a different or "
                                  "interrupted save?)")
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError) as e:
        raise RolloutWeightsError(f"{weights_path}: not a safetensors file: {e}") from e
    if set(tensors) != {WEIGHTS_KEY}:
        raise RolloutWeightsError(f"{weights_path}: tensors {sorted(tensors)}, expected exactly [{WEIGHTS_KEY!r}]")
    weights = tensors[WEIGHTS_KEY]
    if weights.dtype != np.float32 or weights.shape != (1 << bits,):
        raise RolloutWeightsError(f"{weights_path}: {WEIGHTS_KEY!r} is {weights.dtype}{list(weights.shape)}, "
                                  f"expected float32[{1 << bits}] (table_bits {bits})")
    if not np.all(np.isfinite(weights)):
        raise RolloutWeightsError(f"{weights_path}: the weights contain NaN or infinity")
    return RolloutPolicy(np.array(weights), int(sidecar["hash_seed"]), dict(sidecar["training"]))
