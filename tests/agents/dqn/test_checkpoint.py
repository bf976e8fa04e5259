"""DQN checkpoints (``tenuki.agents.dqn.checkpoint``): round trips (a Q-network; an agent that then resumes
exactly as if never stopped) and every way a file can be wrong, each a ``DQNCheckpointError`` naming it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tenuki.agents.dqn.agent import DQNAgent
from tenuki.agents.dqn.checkpoint import (
    DQNCheckpointError,
    load_agent,
    load_q_network,
    read_dqn_meta,
    resolve_dqn_checkpoint,
    save_agent,
    save_q_network,
    shipped_dqn_networks,
)
from tenuki.agents.dqn.config import DQNConfig, config_from_dict
from tenuki.agents.dqn.networks import NatureQNetwork

SMALL = {"frame_size": 36, "channels": [4, 8, 8], "hidden": 16}
PROTOCOL = {"name": "nature", "repeat_action_probability": 0.0, "frame_skip": 4}


@pytest.fixture(autouse=True)
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def small_config(**agent: object) -> DQNConfig:
    return config_from_dict({"agent": {"learning_starts": 32, "target_update_every": 8, **agent},
                             "train": {"device": "cpu", "seed": 5}})


def small_agent(config: DQNConfig, seed: int = 0) -> DQNAgent:
    torch.manual_seed(seed)
    network = NatureQNetwork(3, dueling=config.agent.dueling, **SMALL)
    return DQNAgent(3, config, q_network=network)


def batch(seed: int, size: int = 8) -> SimpleNamespace:
    rng = np.random.default_rng(seed)
    return SimpleNamespace(
        obs=rng.integers(0, 256, (size, 4, 36, 36), dtype=np.uint8),
        next_obs=rng.integers(0, 256, (size, 4, 36, 36), dtype=np.uint8),
        actions=rng.integers(0, 3, size, dtype=np.int64),
        returns=rng.normal(size=size).astype(np.float32),
        discounts=np.full(size, 0.99, np.float32),
        indices=np.arange(size, dtype=np.int64),
        weights=np.ones(size, np.float32),
    )


def test_q_network_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    network = NatureQNetwork(6, dueling=True)  # the full Nature size once
    written = save_q_network(tmp_path / "run" / "best", network, game="Pong", protocol=PROTOCOL, step=1200,
                             config=DQNConfig())
    assert written == tmp_path / "run" / "best.safetensors"
    frames = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    for name in ("best", "best.safetensors", "best.json"):
        loaded, meta = load_q_network(tmp_path / "run" / name)
        assert type(loaded) is NatureQNetwork and not loaded.training and loaded.dueling
        assert (meta.contents, meta.game, meta.protocol_name, meta.step) == ("q_network", "Pong", "nature", 1200)
        assert meta.protocol == PROTOCOL and meta.kwargs == network.init_kwargs()
        assert meta.config == DQNConfig().to_dict() and meta.agent_state == {}
        with torch.no_grad():
            assert torch.equal(loaded(frames), network(frames))
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.startswith(".")]  # no temporaries


def test_float16_file_is_half_the_size_and_loads_as_float32(tmp_path: Path) -> None:
    torch.manual_seed(1)
    network = NatureQNetwork(6, dueling=True)
    full = save_q_network(tmp_path / "full", network, game="Pong", protocol="nature")
    half = save_q_network(tmp_path / "half", network, game="Pong", protocol="nature", dtype="float16")
    assert 0.49 < half.stat().st_size / full.stat().st_size < 0.51
    loaded, _ = load_q_network(half)
    params = dict(loaded.named_parameters())
    assert all(p.dtype == torch.float32 for p in params.values())
    for name, original in network.named_parameters():  # each weight rounded to the nearest float16
        expected = original.detach().to(torch.float16).to(torch.float32)
        assert torch.equal(params[name].detach(), expected), name
    frames = torch.randint(0, 256, (4, 4, 84, 84), dtype=torch.uint8)
    with torch.no_grad():
        q_full, q_half = network(frames), loaded(frames)
    assert torch.allclose(q_full, q_half, rtol=0, atol=2e-2 * q_full.abs().max().item() + 1e-3)
    with pytest.raises(DQNCheckpointError, match="dtype 'int8'"):
        save_q_network(tmp_path / "x", network, game="Pong", protocol="nature", dtype="int8")


def test_shipped_networks_load_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tenuki.agents.dqn import checkpoint

    shipped = tmp_path / "weights"
    network = NatureQNetwork(3, **SMALL)
    save_q_network(shipped / "tiny", network, game="Breakout", protocol="dopamine", dtype="float16")
    monkeypatch.setattr(checkpoint, "SHIPPED_WEIGHTS_DIR", shipped)
    monkeypatch.chdir(tmp_path)
    assert shipped_dqn_networks() == ["tiny"]
    assert resolve_dqn_checkpoint("tiny") == shipped / "tiny.safetensors"
    _, meta = load_q_network("tiny")
    assert (meta.game, meta.protocol_name) == ("Breakout", "dopamine")
    assert resolve_dqn_checkpoint("elsewhere/tiny") == Path("elsewhere/tiny")  # only bare names are looked up
    save_q_network(tmp_path / "tiny", network, game="Pong", protocol="nature")  # a file here wins
    assert read_dqn_meta("tiny").game == "Pong"
    with pytest.raises(DQNCheckpointError, match=r"checkpoint pongg: no such file here .*\(shipped: tiny\)"):
        load_q_network("pongg")


def test_protocol_given_as_an_object_or_a_name(tmp_path: Path) -> None:
    network = NatureQNetwork(3, **SMALL)
    save_q_network(tmp_path / "a", network, game="Pong", protocol=SimpleNamespace(to_dict=lambda: PROTOCOL))
    assert read_dqn_meta(tmp_path / "a").protocol == PROTOCOL
    save_q_network(tmp_path / "b", network, game="Pong", protocol="machado")
    assert read_dqn_meta(tmp_path / "b").protocol_name == "machado"
    with pytest.raises(DQNCheckpointError, match="protocol must have a name"):
        save_q_network(tmp_path / "c", network, game="Pong", protocol={"frame_skip": 4})
    with pytest.raises(DQNCheckpointError, match="step must be"):
        save_q_network(tmp_path / "c", network, game="Pong", protocol="nature", step=-1)
    with pytest.raises(DQNCheckpointError, match="JSON"):
        save_q_network(tmp_path / "c", network, game="Pong", protocol="nature", config={"x": object()})
    with pytest.raises(DQNCheckpointError, match="only the registered Q-network architectures"):
        save_q_network(tmp_path / "c", torch.nn.Linear(2, 2), game="Pong", protocol="nature")


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_agent_resumes_exactly(tmp_path: Path, optimizer: str) -> None:
    """Save after a few updates, load into a fresh agent: later updates, target syncs and epsilon-greedy
    draws are bit for bit those of the agent that never stopped."""
    config = small_config(double=True, dueling=True, optimizer=optimizer)
    original = small_agent(config)
    for seed in range(3):  # 3 updates: the target synced at 2 (every 8 / 4)
        original.update(batch(seed))
    original.act(batch(9).obs, 0.5)
    save_agent(tmp_path / "latest", original, game="Pong", protocol=PROTOCOL, step=12)
    frames = torch.from_numpy(batch(11).obs)
    with torch.no_grad():
        saved_q = original.online(frames)

    resumed = small_agent(config, seed=1)  # other initial weights: all must come from the file
    meta = load_agent(tmp_path / "latest", resumed, game="Pong", protocol="nature")
    assert (meta.contents, meta.step, meta.agent_state["updates"]) == ("agent", 12, 3)
    assert resumed.updates == 3
    for seed in range(3, 6):  # crosses the next target sync (update 4)
        got, want = resumed.update(batch(seed)), original.update(batch(seed))
        assert got["loss"] == want["loss"]
        np.testing.assert_array_equal(got["td_errors"], want["td_errors"])
    for name, tensor in original.state_tensors().items():
        assert torch.equal(resumed.state_tensors()[name], tensor), name
    obs = batch(10).obs
    np.testing.assert_array_equal(resumed.act(obs, 0.5), original.act(obs, 0.5))

    network, meta = load_q_network(tmp_path / "latest")  # the online network of an agent checkpoint
    assert meta.contents == "agent"
    with torch.no_grad():
        assert torch.equal(network(frames), saved_q)


def test_fresh_agent_round_trips_without_optimizer_state(tmp_path: Path) -> None:
    config = small_config()
    original = small_agent(config)
    save_agent(tmp_path / "fresh", original, game="Pong", protocol="nature", step=0)
    assert read_dqn_meta(tmp_path / "fresh").agent_state["optimizer_state"] is False
    resumed = small_agent(config, seed=3)
    load_agent(tmp_path / "fresh", resumed)
    got, want = resumed.update(batch(0)), original.update(batch(0))
    assert got["loss"] == want["loss"]


# ---------------------------------------------------------------------------------- bad files


def saved_agent(tmp_path: Path, **agent: object) -> tuple[Path, Path, dict]:
    agent_object = small_agent(small_config(**agent))
    agent_object.update(batch(0))
    weights = save_agent(tmp_path / "ckpt", agent_object, game="Pong", protocol=PROTOCOL, step=7)
    sidecar = weights.with_suffix(".json")
    return weights, sidecar, json.loads(sidecar.read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("game"), "lacks the key.*game"),
        (lambda r: r.update(comment="hi"), "unknown key.*comment"),
        (lambda r: r.update(format="tenuki-checkpoint"), "not a tenuki DQN checkpoint"),
        (lambda r: r.update(format_version=2), "format_version 2"),
        (lambda r: r.update(contents="replay"), "contents must be 'q_network' or 'agent', got 'replay'"),
        (lambda r: r.update(step=-3), "step must be >= 0"),
        (lambda r: r.update(step=True), "step must be an integer"),
        (lambda r: r.update(protocol={"frame_skip": 4}), "protocol must have a name"),
        (lambda r: r.update(architecture="rainbow"), "unknown architecture 'rainbow'.*nature_dqn"),
        (lambda r: r["kwargs"].update(hidden=32), r"hidden\.weight has shape \[16, 8\], the network needs \[32, 8\]"),
        (lambda r: r["kwargs"].update(depth=3), "bad kwargs.*depth"),
        (lambda r: r["agent_state"].pop("rng"), r"lacks the key\(s\) rng \(in agent_state\)"),
    ],
)
def test_malformed_sidecar_for_a_q_network_load(tmp_path: Path, change, message: str) -> None:
    _, sidecar, record = saved_agent(tmp_path)
    change(record)
    sidecar.write_text(json.dumps(record))
    with pytest.raises(DQNCheckpointError, match=message):
        load_q_network(tmp_path / "ckpt")


def test_mismatched_agent_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    saved_agent(tmp_path, dueling=True)
    plain = small_agent(small_config())
    before = {name: tensor.clone() for name, tensor in plain.state_tensors().items()}
    with pytest.raises(DQNCheckpointError, match="another network than the agent.*dueling: checkpoint True, agent False"):
        load_agent(tmp_path / "ckpt", plain)
    dueling_rmsprop = small_agent(small_config(dueling=True, optimizer="rmsprop"))
    with pytest.raises(DQNCheckpointError, match="'adam' optimizer, the agent uses 'rmsprop'"):
        load_agent(tmp_path / "ckpt", dueling_rmsprop)
    dueling = small_agent(small_config(dueling=True))
    with pytest.raises(DQNCheckpointError, match="trained on 'Pong', not 'Breakout'"):
        load_agent(tmp_path / "ckpt", dueling, game="Breakout")
    with pytest.raises(DQNCheckpointError, match="'nature' protocol, not 'machado'"):
        load_agent(tmp_path / "ckpt", dueling, protocol="machado")
    for name, tensor in plain.state_tensors().items():
        assert torch.equal(before[name], tensor)
    save_q_network(tmp_path / "net", dueling.online, game="Pong", protocol="nature")
    with pytest.raises(DQNCheckpointError, match="holds a q_network, not an agent's training state"):
        load_agent(tmp_path / "net", dueling)


def test_agent_state_tensors_and_rng_are_checked(tmp_path: Path) -> None:
    _, sidecar, record = saved_agent(tmp_path)
    record["agent_state"]["rng"] = {"bit_generator": "PCG64", "state": "garbage"}
    sidecar.write_text(json.dumps(record))
    with pytest.raises(DQNCheckpointError, match="agent_state.rng is not a PCG64 state"):
        load_agent(tmp_path / "ckpt", small_agent(small_config()))
    # an agent state that claims no optimizer tensors while the file has them
    _, sidecar, record = saved_agent(tmp_path)
    record["agent_state"]["optimizer_state"] = False
    sidecar.write_text(json.dumps(record))
    with pytest.raises(DQNCheckpointError, match=r"unexpected tensor\(s\) optimizer\.0\.exp_avg"):
        load_agent(tmp_path / "ckpt", small_agent(small_config()))


def test_truncated_corrupt_and_missing_files(tmp_path: Path) -> None:
    weights, sidecar, record = saved_agent(tmp_path)
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(DQNCheckpointError, match="truncated"):
        load_q_network(weights)
    flipped = bytearray(data)
    flipped[-10] ^= 0xFF
    weights.write_bytes(bytes(flipped))
    with pytest.raises(DQNCheckpointError, match="sha256"):
        load_agent(weights, small_agent(small_config()))
    broken = data[:100]  # a sidecar vouching for a broken file: the safetensors reader still refuses it
    weights.write_bytes(broken)
    record.update(weights_bytes=len(broken), weights_sha256=hashlib.sha256(broken).hexdigest())
    sidecar.write_text(json.dumps(record))
    with pytest.raises(DQNCheckpointError, match="not a valid safetensors file"):
        load_q_network(weights)
    weights.unlink()
    with pytest.raises(DQNCheckpointError, match="do not exist"):
        load_q_network(weights)
    with pytest.raises(DQNCheckpointError, match="does not exist"):
        load_q_network(tmp_path / "nothing")
    sidecar.write_text("{not json")
    with pytest.raises(DQNCheckpointError, match="not valid JSON"):
        read_dqn_meta(sidecar)
