"""DQN checkpoints: safetensors tensors plus a JSON sidecar, written atomically, never unpickled.

Two kinds share one format (the sidecar's ``contents``):

- ``q_network``: the weights of one Q-network (what ``tenuki atari evaluate`` loads);
- ``agent``: everything to resume training: ``online.*`` and ``target.*`` weights, the optimizer's
  per-parameter tensors ``optimizer.<index>.<key>``, and in the sidecar's ``agent_state`` the update count,
  the optimizer's name and the agent's RNG state. ``load_q_network`` reads the online network of an agent
  checkpoint too. (The replay buffer is saved beside it by ``FrameReplay.save``.)

The sidecar ``ckpt.json`` has every key below, no other::

    format          "tenuki-dqn-checkpoint"
    format_version  1
    contents        "q_network" | "agent"
    architecture    a name of ``networks.ARCHITECTURES`` ("nature_dqn")
    kwargs          the network's constructor arguments (``init_kwargs()``)
    game            the ALE game ("Pong")
    protocol        the evaluation protocol's settings (``AtariProtocol.to_dict()``), with its "name"
    step            agent steps taken when saved (int >= 0)
    config          the run's config (a JSON object)
    agent_state     {} for a q_network; else updates, optimizer, optimizer_state, rng
    tenuki_version  torch_version   the writers' versions
    weights_sha256  weights_bytes   hash and size of the safetensors file

Writes are atomic and loads validate everything before touching a network (``agents/checkpoint_io.py``:
sidecar keys and types, size and sha256 of the weights, the safetensors header, every tensor's name and
shape against the network the sidecar describes, built on the ``meta`` device). Each failure is a
``DQNCheckpointError`` naming the file and the problem.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tenuki.agents.checkpoint_io import (
    check_sidecar_keys,
    check_step,
    check_tensor_shapes,
    checkpoint_paths,
    json_object,
    load_network_weights,
    network_skeleton,
    read_format_sidecar,
    read_verified_tensors,
    registered_architecture,
    resolve_shipped,
    shipped_names,
    write_network_checkpoint,
)
from tenuki.agents.dqn.agent import DQNAgent
from tenuki.agents.dqn.networks import ARCHITECTURES, NatureQNetwork, build_q_network

SHIPPED_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FORMAT_NAME = "tenuki-dqn-checkpoint"
FORMAT_VERSION = 1
CONTENTS = ("q_network", "agent")

_SIDECAR_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "format": (str, f'the string "{FORMAT_NAME}"'),
    "format_version": (int, "an integer"),
    "contents": (str, '"q_network" or "agent"'),
    "architecture": (str, "an architecture name"),
    "kwargs": (dict, "an object of constructor arguments"),
    "game": (str, "a game name"),
    "protocol": (dict, "an object of protocol settings"),
    "step": (int, "an integer >= 0"),
    "config": (dict, "an object"),
    "agent_state": (dict, "an object"),
    "tenuki_version": (str, "a string"),
    "torch_version": (str, "a string"),
    "weights_sha256": (str, "a hex string"),
    "weights_bytes": (int, "an integer"),
}
# agent_state key -> (JSON type, what it is)
_AGENT_STATE_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "updates": (int, "an integer >= 0"),
    "optimizer": (str, "an optimizer name"),
    "optimizer_state": (bool, "true or false"),
    "rng": (dict, "a numpy bit generator state"),
}


class DQNCheckpointError(ValueError):
    """A DQN checkpoint cannot be written or read: the message names the file and the problem."""


@dataclass(frozen=True)
class DQNCheckpointMeta:
    """The sidecar of a DQN checkpoint, validated."""

    contents: str
    architecture: str
    kwargs: dict[str, Any]
    game: str
    protocol: dict[str, Any]
    step: int
    config: dict[str, Any]
    agent_state: dict[str, Any]
    tenuki_version: str
    torch_version: str
    weights_sha256: str
    weights_bytes: int
    format_version: int = FORMAT_VERSION

    @property
    def protocol_name(self) -> str:
        return self.protocol["name"]


# --------------------------------------------------------------------------------------- saving


def _protocol_record(protocol: Any) -> dict[str, Any]:
    record = {"name": protocol} if isinstance(protocol, str) else json_object(protocol, "protocol", DQNCheckpointError)
    if not isinstance(record.get("name"), str) or not record["name"]:
        raise DQNCheckpointError(f"protocol must have a name (e.g. 'nature'), got {record!r}")
    return record


def _check_network(network: Any) -> NatureQNetwork:
    registered_architecture(network, ARCHITECTURES, DQNCheckpointError, kind="Q-network architectures")
    return network


def _save(path: str | os.PathLike[str], contents: str, network: NatureQNetwork, tensors: dict[str, torch.Tensor],
          agent_state: dict[str, Any], game: str, protocol: Any, step: int, config: Any) -> Path:
    check_step(step, DQNCheckpointError)
    if not isinstance(game, str) or not game:
        raise DQNCheckpointError(f"game must be a non-empty string, got {game!r}")
    sidecar = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "contents": contents,
        "architecture": network.architecture,
        "kwargs": network.init_kwargs(),
        "game": game,
        "protocol": _protocol_record(protocol),
        "step": step,
        "config": json_object(config, "config", DQNCheckpointError),
        "agent_state": agent_state,
    }
    header = {"format": FORMAT_NAME, "contents": contents, "architecture": network.architecture}
    return write_network_checkpoint(path, tensors, header, sidecar, DQNCheckpointError)


SAVE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def save_q_network(path: str | os.PathLike[str], network: NatureQNetwork, *, game: str, protocol: Any,
                   step: int = 0, config: Any = None, dtype: str = "float32") -> Path:
    """Write one Q-network atomically; return the weights path. ``protocol``: an ``AtariProtocol``, its
    ``to_dict()`` or a name; ``config``: a ``DQNConfig``, a dataclass or a mapping; ``dtype``: the stored
    precision of the floating-point tensors (``SAVE_DTYPES``; float16 halves a shipped network, and
    ``load_q_network`` casts back to float32)."""
    network = _check_network(network)
    if dtype not in SAVE_DTYPES:
        raise DQNCheckpointError(f"dtype {dtype!r}: expected one of {', '.join(SAVE_DTYPES)}")
    tensors = {name: t.to(SAVE_DTYPES[dtype]) if t.is_floating_point() else t
               for name, t in network.state_dict().items()}
    return _save(path, "q_network", network, tensors, {}, game, protocol, step, config)


def save_agent(path: str | os.PathLike[str], agent: DQNAgent, *, game: str, protocol: Any, step: int,
               config: Any = None) -> Path:
    """Write the agent's whole training state atomically (``config`` defaults to the agent's)."""
    network = _check_network(agent.online)
    config = agent.config if config is None else config
    return _save(path, "agent", network, agent.state_tensors(), agent.state_record(), game, protocol, step, config)


# -------------------------------------------------------------------------------------- loading


def resolve_dqn_checkpoint(path: str | os.PathLike[str]) -> Path:
    """``path`` as given, or the network shipped under that name (``pong`` ->
    ``tenuki/agents/dqn/weights/pong.safetensors``) when it is a bare name that names no file here."""
    return resolve_shipped(path, SHIPPED_WEIGHTS_DIR)


def shipped_dqn_networks() -> list[str]:
    """The names of the shipped DQN networks (``tenuki atari evaluate --checkpoint NAME``)."""
    return shipped_names(SHIPPED_WEIGHTS_DIR)


def read_dqn_meta(path: str | os.PathLike[str]) -> DQNCheckpointMeta:
    """The validated sidecar of a DQN checkpoint (the weights are not read); a shipped name works too."""
    weights_path, sidecar_path = checkpoint_paths(resolve_dqn_checkpoint(path))
    if not weights_path.exists() and not sidecar_path.exists() and Path(path).parent == Path("."):
        shipped = ", ".join(shipped_dqn_networks()) or "none"
        raise DQNCheckpointError(f"checkpoint {path}: no such file here and no shipped network of that name "
                                 f"(shipped: {shipped})")
    record = read_format_sidecar(sidecar_path, FORMAT_NAME, FORMAT_VERSION, "tenuki DQN checkpoint", _SIDECAR_KEYS,
                                 DQNCheckpointError)
    where = f"checkpoint sidecar {sidecar_path}"
    if record["contents"] not in CONTENTS:
        raise DQNCheckpointError(f"{where}: contents must be 'q_network' or 'agent', got {record['contents']!r}")
    if not isinstance(record["protocol"].get("name"), str):
        raise DQNCheckpointError(f"{where}: protocol must have a name, got {record['protocol']!r}")
    state = record["agent_state"]
    if record["contents"] == "agent":
        try:
            check_sidecar_keys(state, _AGENT_STATE_KEYS, sidecar_path, DQNCheckpointError)
        except DQNCheckpointError as exc:
            raise DQNCheckpointError(f"{exc} (in agent_state)") from exc
        if state["updates"] < 0:
            raise DQNCheckpointError(f"{where}: agent_state.updates must be >= 0, got {state['updates']}")
    elif state:
        raise DQNCheckpointError(f"{where}: a q_network checkpoint has an empty agent_state, got {state!r}")
    return DQNCheckpointMeta(**{key: record[key] for key in _SIDECAR_KEYS if key != "format"})


def load_q_network(path: str | os.PathLike[str], *,
                   device: str | torch.device = "cpu") -> tuple[NatureQNetwork, DQNCheckpointMeta]:
    """The checkpointed Q-network (the online one of an agent checkpoint), in eval mode on ``device``,
    and the sidecar; a shipped network's name works too (``resolve_dqn_checkpoint``). ``DQNCheckpointError``
    for a missing, malformed, corrupt or mismatched checkpoint."""
    meta = read_dqn_meta(path)
    weights_path, sidecar_path = checkpoint_paths(resolve_dqn_checkpoint(path))
    skeleton = network_skeleton(build_q_network, ARCHITECTURES, meta.architecture, meta.kwargs, weights_path,
                                sidecar_path, DQNCheckpointError)
    tensors = read_verified_tensors(weights_path, sidecar_path, meta.weights_bytes, meta.weights_sha256,
                                    DQNCheckpointError)
    if meta.contents == "agent":
        tensors = {name[len("online."):]: t for name, t in tensors.items() if name.startswith("online.")}
    where = f"checkpoint {weights_path} ({meta.architecture} {meta.kwargs})"
    return load_network_weights(skeleton, tensors, where, device, DQNCheckpointError), meta


def load_agent(path: str | os.PathLike[str], agent: DQNAgent, *, game: str | None = None,
               protocol: str | None = None) -> DQNCheckpointMeta:
    """Restore an ``agent`` checkpoint into ``agent`` (built from the same config) and return its sidecar.

    ``game`` / ``protocol`` (a name), when given, must be the checkpoint's. Nothing of ``agent`` changes
    unless every check passed: network architecture and constructor arguments, optimizer, every tensor.
    """
    weights_path, sidecar_path = checkpoint_paths(path)
    meta = read_dqn_meta(sidecar_path)
    where = f"checkpoint {weights_path}"
    if meta.contents != "agent":
        raise DQNCheckpointError(f"{where} holds a {meta.contents}, not an agent's training state")
    if game is not None and meta.game != game:
        raise DQNCheckpointError(f"{where} was trained on {meta.game!r}, not {game!r}")
    if protocol is not None and meta.protocol_name != protocol:
        raise DQNCheckpointError(f"{where} was trained under the {meta.protocol_name!r} protocol, not {protocol!r}")
    network = _check_network(agent.online)
    if meta.architecture != network.architecture:
        raise DQNCheckpointError(
            f"{where} holds a {meta.architecture!r} network, the agent has a {network.architecture!r} one"
        )
    expected_kwargs = network.init_kwargs()
    if meta.kwargs != expected_kwargs:
        keys = sorted(set(meta.kwargs) | set(expected_kwargs))
        differences = [f"{key}: checkpoint {meta.kwargs.get(key)!r}, agent {expected_kwargs.get(key)!r}"
                       for key in keys if meta.kwargs.get(key) != expected_kwargs.get(key)]
        raise DQNCheckpointError(f"{where} has another network than the agent ({'; '.join(differences)})")
    state = meta.agent_state
    if state["optimizer"] != agent.config.agent.optimizer:
        raise DQNCheckpointError(
            f"{where} was trained with the {state['optimizer']!r} optimizer, the agent uses "
            f"{agent.config.agent.optimizer!r} (agent.optimizer)"
        )
    tensors = read_verified_tensors(weights_path, sidecar_path, meta.weights_bytes, meta.weights_sha256,
                                    DQNCheckpointError)
    check_tensor_shapes(f"{where} ({meta.architecture} {meta.kwargs})",
                        agent.expected_state_tensors(with_optimizer=state["optimizer_state"]), tensors,
                        DQNCheckpointError)
    rng = type(agent.rng.bit_generator)()
    try:
        rng.state = state["rng"]  # checked on a scratch generator first
    except (TypeError, ValueError, KeyError) as exc:
        raise DQNCheckpointError(f"{where}: agent_state.rng is not a {type(rng).__name__} state: {exc}") from exc
    agent.load_state(tensors, state)
    return meta
