"""Networks, the torch evaluator and checkpoints (``tenuki.agents.go``).

Numerics checked three ways: output shapes, closed-form parameter counts of the papers' networks,
and batch independence of the evaluator; checkpoints by round trip and by every way a file can be
wrong (each a ``CheckpointError`` naming the problem).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from tenuki.agents.go.evaluator import TorchEvaluator, combine_policy_value, fast_cpu_options
from tenuki.agents.go.networks import (
    ARCHITECTURES,
    AlphaGoPolicyNet,
    AlphaGoValueNet,
    AlphaZeroNet,
    GoNetwork,
    build_network,
)
from tenuki.agents.go.networks import checkpoint as checkpoint_module
from tenuki.agents.go.networks.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_checkpoint_meta,
    save_checkpoint,
)

# Small networks: tests are about behaviour, not size (except the parameter counts).
SMALL: dict[str, dict[str, int]] = {
    "alphazero_resnet": {"blocks": 2, "channels": 16},
    "alphago_policy": {"filters": 16, "layers": 4},
    "alphago_value": {"filters": 16, "layers": 4, "value_hidden": 32},
}


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The test machine is shared: one intra-op thread, restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def small_net(architecture: str, board_size: int = 9, seed: int = 0) -> GoNetwork:
    """A small network with every parameter and batch-norm statistic random (none left at 0 / 1)."""
    torch.manual_seed(seed)
    net = build_network(architecture, board_size=board_size, **SMALL[architecture])
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
        if isinstance(net, AlphaGoPolicyNet):
            net.position_bias.normal_(0.0, 0.1)
            net.pass_logit.fill_(-0.3)
    return net


def random_planes(net: GoNetwork, batch: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((batch, *net.input_shape())) < 0.3).astype(np.float32)  # [B, C, N, N]


# -------------------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("board_size", [9, 19])
@pytest.mark.parametrize("architecture", sorted(SMALL))
def test_output_shapes(architecture: str, board_size: int) -> None:
    net = small_net(architecture, board_size).eval()
    planes = torch.from_numpy(random_planes(net, 3))
    with torch.no_grad():
        natural = net(planes)
        logits, value = net.evaluate(planes)
    points = board_size * board_size
    assert logits.shape == (3, points + 1) and logits.dtype == torch.float32
    assert value.shape == (3,) and value.dtype == torch.float32
    assert bool((value.abs() <= 1).all())
    if architecture == "alphazero_resnet":
        assert natural[0].shape == (3, points + 1) and natural[1].shape == (3,)
    elif architecture == "alphago_policy":
        assert natural.shape == (3, points + 1)
        assert bool((value == 0).all())  # no value head: "no opinion"
        assert bool((logits[:, points] == -0.3).all())  # the learned pass logit, the same everywhere
    else:
        assert natural.shape == (3,)
        assert bool((logits == 0).all())  # no policy head: uniform prior


def test_default_input_planes() -> None:
    with torch.device("meta"):
        assert AlphaZeroNet(19).in_planes == 17
        assert AlphaGoPolicyNet(19).in_planes == 48
        assert AlphaGoValueNet(19).in_planes == 49


# ------------------------------------------------------------------------- closed-form sizes


def parameter_count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_alphago_policy_parameter_count() -> None:
    """Silver et al. 2016: 5x5 layer, 11 3x3 layers, a 1x1 layer with a bias per point (+ our pass)."""
    n, planes, k = 19, 48, 192
    first = 5 * 5 * planes * k + k
    middle = 11 * (3 * 3 * k * k + k)
    output = k + n * n  # 1x1 conv without shared bias, one bias per position
    expected = first + middle + output + 1  # + the pass logit
    assert expected == 3_882_794
    with torch.device("meta"):  # counts only, no memory
        net = AlphaGoPolicyNet(19, in_planes=48, filters=192, layers=13)
    assert parameter_count(net) == expected


def test_alphago_value_parameter_count() -> None:
    n, planes, k = 19, 49, 192
    trunk = 5 * 5 * planes * k + k + 11 * (3 * 3 * k * k + k)
    head = (k + 1) + (n * n * 256 + 256) + (256 + 1)  # 1x1 conv, FC 256, FC 1
    with torch.device("meta"):
        net = AlphaGoValueNet(19)
    assert parameter_count(net) == trunk + head


def test_alphazero_parameter_count() -> None:
    """Silver et al. 2017: stem + 19 residual blocks of 256 filters, the two heads (BN: 2 a channel)."""
    n, planes, c = 19, 17, 256
    stem = 3 * 3 * planes * c + 2 * c
    block = 2 * (3 * 3 * c * c + 2 * c)
    policy = c * 2 + 2 * 2 + (2 * n * n) * (n * n + 1) + (n * n + 1)
    value = c * 1 + 2 * 1 + (n * n * 256 + 256) + (256 + 1)
    with torch.device("meta"):
        net = AlphaZeroNet(19)
    assert parameter_count(net) == stem + 19 * block + policy + value


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (AlphaZeroNet, {"board_size": 9, "blocks": 0}, "blocks"),
        (AlphaZeroNet, {"board_size": True}, "board_size"),
        (AlphaGoPolicyNet, {"board_size": 9, "layers": 1}, "layers"),
        (AlphaGoValueNet, {"board_size": 9, "filters": 2.5}, "filters"),
        (AlphaGoValueNet, {"board_size": 9, "head_relu": 1}, "head_relu"),
    ],
)
def test_constructor_arguments_checked(cls: type, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_build_network_names_the_known_architectures() -> None:
    with pytest.raises(ValueError, match="alphazero_resnet"):
        build_network("leela", board_size=9)
    with pytest.raises(ValueError, match="bad arguments"):
        build_network("alphago_policy", board_size=9, blocks=3)


# ------------------------------------------------------------------------------------ evaluator


@pytest.mark.parametrize("architecture", sorted(SMALL))
def test_evaluator_is_batch_independent(architecture: str) -> None:
    net = small_net(architecture).train()  # the evaluator must switch batch norm to its running stats
    evaluator = TorchEvaluator(net)
    planes = random_planes(net, 16)
    logits, values = evaluator(planes)
    assert logits.shape == (16, 82) and logits.dtype == np.float32
    assert values.shape == (16,) and values.dtype == np.float32
    for row in range(16):
        row_logits, row_values = evaluator(planes[row : row + 1])
        np.testing.assert_allclose(row_logits[0], logits[row], atol=1e-5, rtol=0)
        np.testing.assert_allclose(row_values[0], values[row], atol=1e-5, rtol=0)


@pytest.mark.parametrize("architecture", sorted(SMALL))
def test_fused_evaluator_answers_like_the_plain_one(architecture: str) -> None:
    net = small_net(architecture)
    plain, fused = TorchEvaluator(net), TorchEvaluator(small_net(architecture), fuse=True)
    norms = sum(isinstance(m, torch.nn.BatchNorm2d) for m in fused._network.modules())
    assert norms == 0 and sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == (
        2 * 2 + 3 if architecture == "alphazero_resnet" else 0)  # 2 blocks of 2, stem, 2 heads
    for batch in (16, 1, 7):
        planes = random_planes(net, batch, seed=batch)
        for got, want in zip(fused(planes), plain(planes)):
            assert got.shape == want.shape and got.dtype == np.float32
            np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)
    # new weights (a learner's next version) are fused again, not left stale
    other = small_net(architecture, seed=5)
    fused.load_state_dict(other.state_dict())
    planes = random_planes(net, 4)
    np.testing.assert_allclose(fused(planes)[0], TorchEvaluator(other)(planes)[0], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("architecture", sorted(SMALL))
def test_fast_cpu_evaluator_stays_close_to_float32(architecture: str) -> None:
    net = small_net(architecture)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    plain = TorchEvaluator(small_net(architecture))
    fast = TorchEvaluator(net, fuse=True, channels_last=True, autocast_bfloat16=True)
    planes = random_planes(net, 16)
    (logits, values), (want_logits, want_values) = fast(planes), plain(planes)
    assert logits.dtype == values.dtype == np.float32 and logits.shape == want_logits.shape
    np.testing.assert_allclose(logits, want_logits, atol=0.1, rtol=0.02)  # bfloat16: 8 bits of mantissa
    np.testing.assert_allclose(values, want_values, atol=0.03, rtol=0)
    for name, tensor in net.state_dict().items():  # the prepared copy never touches the model
        assert torch.equal(tensor, before[name]) and tensor.is_contiguous()
    assert set(fast_cpu_options()) == {"fuse", "channels_last", "autocast_bfloat16"}


def test_evaluator_runs_in_inference_mode() -> None:
    net = small_net("alphazero_resnet")
    seen: list[tuple[bool, bool]] = []
    net.stem.register_forward_pre_hook(
        lambda module, args: seen.append((torch.is_inference_mode_enabled(), torch.is_grad_enabled()))
    )
    evaluator = TorchEvaluator(net)
    logits, values = evaluator(random_planes(net, 4))
    assert seen == [(True, False)]
    assert not net.training
    assert isinstance(logits, np.ndarray) and isinstance(values, np.ndarray)


def test_evaluator_takes_views_and_other_dtypes() -> None:
    net = small_net("alphazero_resnet")
    evaluator = TorchEvaluator(net)
    planes = random_planes(net, 4)
    flipped = planes[:, :, ::-1, :]  # a negative-stride view, as a symmetry produces
    expected = evaluator(np.ascontiguousarray(flipped))
    read_only = planes.copy()
    read_only.setflags(write=False)
    for variant, reference in [
        (flipped, expected),
        (read_only, evaluator(planes)),
        (planes.astype(np.float64), evaluator(planes)),
    ]:
        got = evaluator(variant)
        np.testing.assert_array_equal(got[0], reference[0])
        np.testing.assert_array_equal(got[1], reference[1])
    with pytest.raises(ValueError, match=r"\[B, 17, 9, 9\]"):
        evaluator(np.zeros((2, 16, 9, 9), np.float32))
    with pytest.raises(ValueError, match="B >= 1"):
        evaluator(np.zeros((0, 17, 9, 9), np.float32))


def test_combine_policy_value_feeds_each_network_its_planes() -> None:
    policy = small_net("alphago_policy")
    value = small_net("alphago_value", seed=1)
    evaluator = TorchEvaluator(combine_policy_value(policy, value))
    planes = random_planes(value, 5)  # [5, 49, 9, 9]
    logits, values = evaluator(planes)
    with torch.no_grad():
        expected_logits = policy(torch.from_numpy(planes[:, :48].copy()))
        expected_values = value(torch.from_numpy(planes))
    np.testing.assert_allclose(logits, expected_logits.numpy(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(values, expected_values.numpy(), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="19x19"):
        combine_policy_value(policy, AlphaGoValueNet(19, filters=4, layers=2))


# ---------------------------------------------------------------------------------- checkpoints


@dataclass
class TrainConfig:
    learning_rate: float = 0.01
    batch_size: int = 32


@pytest.mark.parametrize("architecture", sorted(SMALL))
def test_checkpoint_round_trip(tmp_path: Path, architecture: str) -> None:
    net = small_net(architecture).eval()
    written = save_checkpoint(tmp_path / "run" / "ckpt", net, step=1200, config={"lr": 0.01, "tags": ["a"]})
    assert written == tmp_path / "run" / "ckpt.safetensors"
    assert (tmp_path / "run" / "ckpt.json").is_file()
    planes = torch.from_numpy(random_planes(net, 6))
    for name in ("ckpt", "ckpt.safetensors", "ckpt.json"):
        loaded, meta = load_checkpoint(tmp_path / "run" / name)
        assert type(loaded) is type(net) and not loaded.training
        assert meta.architecture == architecture and meta.step == 1200
        assert meta.kwargs == net.init_kwargs()
        assert meta.config == {"lr": 0.01, "tags": ["a"]}
        assert meta.torch_version == torch.__version__ and meta.format_version == 1
        with torch.no_grad():
            for got, want in zip(loaded.evaluate(planes), net.evaluate(planes), strict=True):
                assert torch.equal(got, want)
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.startswith(".")]  # no temporaries


def test_checkpoint_config_from_dataclass(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "c", small_net("alphago_policy"), config=TrainConfig())
    assert read_checkpoint_meta(tmp_path / "c").config == {"learning_rate": 0.01, "batch_size": 32}
    with pytest.raises(CheckpointError, match="JSON"):
        save_checkpoint(tmp_path / "d", small_net("alphago_policy"), config={"x": object()})
    with pytest.raises(CheckpointError, match="step"):
        save_checkpoint(tmp_path / "d", small_net("alphago_policy"), step=-1)


def test_combined_network_is_not_checkpointed(tmp_path: Path) -> None:
    combined = combine_policy_value(small_net("alphago_policy"), small_net("alphago_value"))
    with pytest.raises(CheckpointError, match="separately"):
        save_checkpoint(tmp_path / "c", combined)


def test_failed_save_leaves_the_old_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash before the renames: the old checkpoint loads unchanged, no temporary file remains."""
    path = tmp_path / "latest"
    old = small_net("alphazero_resnet", seed=0).eval()
    save_checkpoint(path, old, step=1)

    def crash(source: str, target: str) -> None:
        raise OSError("simulated crash")

    monkeypatch.setattr(checkpoint_module.os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        save_checkpoint(path, small_net("alphazero_resnet", seed=5), step=2)
    monkeypatch.undo()

    loaded, meta = load_checkpoint(path)
    assert meta.step == 1
    for name, tensor in old.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json", "latest.safetensors"]


def test_crash_between_renames_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """New weights with the old sidecar never load silently."""
    path = tmp_path / "latest"
    save_checkpoint(path, small_net("alphazero_resnet", seed=0), step=1)
    real_replace = os.replace
    calls: list[str] = []

    def crash_on_second(source: str, target: str) -> None:
        calls.append(str(target))
        if len(calls) == 2:
            raise OSError("simulated crash")
        real_replace(source, target)

    monkeypatch.setattr(checkpoint_module.os, "replace", crash_on_second)
    with pytest.raises(OSError):
        save_checkpoint(path, small_net("alphazero_resnet", seed=5), step=2)
    monkeypatch.undo()
    assert calls[0].endswith(".safetensors") and calls[1].endswith(".json")  # the sidecar commits
    with pytest.raises(CheckpointError, match="interrupted save"):
        load_checkpoint(path)


def saved(tmp_path: Path, architecture: str = "alphazero_resnet") -> tuple[Path, Path, dict]:
    """A fresh small checkpoint: (weights path, sidecar path, sidecar as a dict)."""
    weights = save_checkpoint(tmp_path / "ckpt", small_net(architecture), step=7)
    sidecar = weights.with_suffix(".json")
    return weights, sidecar, json.loads(sidecar.read_text())


DELETE = object()


def edit(record: dict, key: str, value: object) -> dict:
    """A copy of the sidecar ``record`` with ``key`` set to ``value`` (``kwargs.x``: a constructor argument)."""
    record = json.loads(json.dumps(record))
    if value is DELETE:
        del record[key]
    elif key.startswith("kwargs."):
        record["kwargs"][key.removeprefix("kwargs.")] = value
    else:
        record[key] = value
    return record


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("architecture", DELETE, "lacks the key.*architecture"),
        ("architecture", "katago_b40", "unknown architecture 'katago_b40'.*alphazero_resnet"),
        ("format", "something-else", "not a tenuki checkpoint"),
        ("format_version", 2, "format_version 2"),
        ("step", "7", "step must be"),
        ("kwargs", [1, 2], "kwargs must be"),
        ("comment", "hello", "unknown key.*comment"),
        ("kwargs.channels", 32, r"stem\.0\.weight has shape \[16, 17, 3, 3\].*\[32, 17, 3, 3\]"),
        ("kwargs.channels", "sixteen", "bad kwargs.*channels"),
        ("kwargs.depth", 3, "bad kwargs.*depth"),
    ],
)
def test_malformed_sidecar(tmp_path: Path, key: str, value: object, message: str) -> None:
    _, sidecar, record = saved(tmp_path)
    sidecar.write_text(json.dumps(edit(record, key, value)))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path / "ckpt")


@pytest.mark.parametrize(
    ("text", "message"), [("{not json", "not valid JSON"), ("[1, 2]", "JSON object"), ("", "not valid JSON")]
)
def test_sidecar_that_is_not_a_json_object(tmp_path: Path, text: str, message: str) -> None:
    _, sidecar, _ = saved(tmp_path)
    sidecar.write_text(text)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path / "ckpt")


def test_wrong_architecture_expected(tmp_path: Path) -> None:
    saved(tmp_path, "alphago_value")
    with pytest.raises(CheckpointError, match="holds a 'alphago_value' network, expected 'alphago_policy'"):
        load_checkpoint(tmp_path / "ckpt", architecture="alphago_policy")


def test_truncated_and_corrupt_weights(tmp_path: Path) -> None:
    weights, sidecar, record = saved(tmp_path)
    data = weights.read_bytes()

    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(weights)

    flipped = bytearray(data)
    flipped[-10] ^= 0xFF
    weights.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(weights)

    # a sidecar vouching for a broken file (hand-made): the safetensors reader still refuses it
    broken = data[:200]
    weights.write_bytes(broken)
    record.update(weights_bytes=len(broken), weights_sha256=hashlib.sha256(broken).hexdigest())
    sidecar.write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_checkpoint(weights)


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nothing")
    weights, _, _ = saved(tmp_path)
    weights.unlink()
    with pytest.raises(CheckpointError, match="do not exist"):
        load_checkpoint(tmp_path / "ckpt")


def test_registry_matches_classes() -> None:
    for name, cls in ARCHITECTURES.items():
        assert cls.architecture == name


def test_alphago_value_net_output_depends_on_the_position_at_initialisation() -> None:
    """He init: the single-filter ReLU layer is alive and the output varies over positions (with
    PyTorch's default init it was the same value for every position and training never moved)."""
    torch.manual_seed(0)
    net = AlphaGoValueNet(19, filters=64, layers=6)
    planes = (torch.rand(64, 49, 19, 19) < 0.3).float()
    with torch.no_grad():
        values = net(planes)
        alive = torch.relu(net.head(net.trunk(planes))) > 0
    assert values.std() > 1e-3
    assert alive.float().mean() > 0.2


def test_alphago_value_head_relu_option() -> None:
    """Layer 13 is linear by default; ``head_relu=True`` clamps it (the first version's head)."""
    torch.manual_seed(0)
    net = AlphaGoValueNet(9, filters=8, layers=3)
    relu = AlphaGoValueNet(9, filters=8, layers=3, head_relu=True)
    relu.load_state_dict(net.state_dict())
    assert not net.head_relu and relu.init_kwargs()["head_relu"] is True
    planes = (torch.rand(16, 49, 9, 9) < 0.3).float()
    with torch.no_grad():
        shift = net.head(net.trunk(planes)).max() + 0.1
        net.head.bias -= shift  # layer 13 now negative on every point
        relu.head.bias -= shift
        linear_out, clamped_out = net(planes), relu(planes)
    assert linear_out.std() > 1e-4  # the linear head still passes the position on
    assert torch.allclose(clamped_out, clamped_out[0].expand_as(clamped_out))  # the ReLU head does not


def test_value_checkpoint_without_head_relu_loads_as_trained(tmp_path: Path) -> None:
    """A sidecar written before ``head_relu`` existed rebuilds the ReLU head it was trained with."""
    torch.manual_seed(0)
    old = AlphaGoValueNet(9, filters=8, layers=3, head_relu=True).eval()
    save_checkpoint(tmp_path / "old", old, step=5, config={})
    sidecar = tmp_path / "old.json"
    record = json.loads(sidecar.read_text())
    del record["kwargs"]["head_relu"]
    sidecar.write_text(json.dumps(record))
    loaded, meta = load_checkpoint(tmp_path / "old", architecture="alphago_value")
    assert "head_relu" not in meta.kwargs and loaded.head_relu is True
    planes = (torch.rand(8, 49, 9, 9) < 0.3).float()
    with torch.no_grad():
        assert torch.equal(loaded(planes), old(planes))
    save_checkpoint(tmp_path / "new", AlphaGoValueNet(9, filters=8, layers=3), step=0, config={})
    assert load_checkpoint(tmp_path / "new")[0].head_relu is False


def test_shipped_networks_load_by_name_from_any_folder(tmp_path, monkeypatch):
    """Configs name shipped networks (``init_checkpoint: sl-policy19``); a file of the current folder wins,
    and a path that names nothing comes back as written (so the error names what the user typed)."""
    from tenuki.agents.go.networks.checkpoint import (
        SHIPPED_WEIGHTS_DIR,
        read_checkpoint_meta,
        resolve_checkpoint,
    )

    monkeypatch.chdir(tmp_path)
    assert resolve_checkpoint("az9x9") == SHIPPED_WEIGHTS_DIR / "az9x9.safetensors"
    assert read_checkpoint_meta("az9x9").architecture == "alphazero_resnet"
    assert resolve_checkpoint("nope") == Path("nope")
    assert resolve_checkpoint("sub/az9x9") == Path("sub/az9x9")
    net = build_network("alphazero_resnet", board_size=5, blocks=1, channels=8)
    save_checkpoint(tmp_path / "az9x9", net, step=3)
    assert resolve_checkpoint("az9x9") == Path("az9x9")  # the user's own file first
    assert read_checkpoint_meta("az9x9").step == 3
    with pytest.raises(CheckpointError, match="nope"):
        read_checkpoint_meta("nope")

