"""tenuki.selfplay.config: the shipped configs load, bad input is a ConfigError naming the key (and the
file), and dump_config -> load_config gives the same config back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenuki.selfplay.config import ConfigError, SelfPlayConfig, config_from_dict, dump_config, load_config

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "configs" / "selfplay").glob("*.yaml"))


def _write(tmp_path: Path, text: str, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_there_are_shipped_configs():
    assert {p.name for p in SHIPPED} >= {"go9x9.yaml", "smoke.yaml"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_config_loads(path):
    config = load_config(path)
    assert isinstance(config, SelfPlayConfig)
    assert config.network.architecture == "alphazero_resnet"
    assert config.replay.window_min <= config.replay.window_max


@pytest.mark.parametrize("path", sorted((ROOT / "configs" / "rl").glob("*.yaml")), ids=lambda p: p.name)
def test_every_alphago_stage_config_loads_and_names_shipped_weights(path):
    config = load_config(path)
    assert config.network.architecture.startswith("alphago_")
    from tenuki.agents.go.networks.checkpoint import read_checkpoint_meta

    for weights in (config.network.init_checkpoint, config.workers.sl_policy, config.workers.rl_policy):
        # shipped networks by name, so that the config works from any folder
        assert not weights or ("/" not in weights and read_checkpoint_meta(weights).architecture.startswith("alphago_")), weights


def test_smoke_config_values_are_read_not_defaulted():
    config = load_config(ROOT / "configs" / "selfplay" / "smoke.yaml")
    assert config.run.name == "smoke"
    assert (config.network.blocks, config.network.channels) == (1, 16)
    assert (config.search.visits, config.search.cap_visits) == (16, 4)
    assert config.learner.max_train_ratio == 8.0
    assert config.search.c_base == SelfPlayConfig().search.c_base  # left out: the default


def test_empty_document_is_the_defaults(tmp_path):
    assert load_config(_write(tmp_path, "")) == SelfPlayConfig()
    assert config_from_dict({"search": None}) == SelfPlayConfig()


def test_ints_are_accepted_for_floats():
    config = config_from_dict({"game": {"komi": 7}})
    assert config.game.komi == 7.0 and isinstance(config.game.komi, float)


@pytest.mark.parametrize(("text", "key"), [
    ("search:\n  visitz: 8\n", "search.visitz"),  # unknown key
    ("serch:\n  visits: 8\n", "serch"),  # unknown section
    ("search:\n  visits: many\n", "search.visits"),  # wrong type
    ("search:\n  visits: 8.5\n", "search.visits"),  # a float for an integer
    ("search:\n  visits: true\n", "search.visits"),  # a bool is not an integer
    ("search:\n  tree_reuse: 1\n", "search.tree_reuse"),  # an integer is not a bool
    ("learner:\n  learning_rate: fast\n", "learner.learning_rate"),
    ("run:\n  name: [a, b]\n", "run.name"),
    ("search: 8\n", "search"),  # a section that is not a mapping
    ("search:\n  visits: 0\n", "search.visits"),  # out of range
    ("game:\n  size: 20\n", "game.size"),
    ("search:\n  full_probability: 0.0\n", "search.full_probability"),
    ("search:\n  resign_threshold: 0.5\n", "search.resign_threshold"),
    ("learner:\n  momentum: 1.0\n", "learner.momentum"),
    ("evaluator:\n  selfplay_uses: newest\n", "evaluator.selfplay_uses"),
    ("replay:\n  window_min: 100\n  window_max: 10\n", "replay.window_max"),
    ("network:\n  architecture: policy_cnn\n", "network.architecture"),
    ("workers:\n  game_generator: chess\n", "workers.game_generator"),
    ("learner:\n  loss: hinge\n", "learner.loss"),
])
def test_bad_values_name_the_key_and_the_file(tmp_path, text, key):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert f"{key}:" in message, message


def test_error_says_what_is_allowed():
    with pytest.raises(ConfigError, match=r"search\.visits: expected an integer >= 1, got 0"):
        config_from_dict({"search": {"visits": 0}})
    with pytest.raises(ConfigError, match=r"search\.visits: expected an integer, got 'many'"):
        config_from_dict({"search": {"visits": "many"}})
    with pytest.raises(ConfigError, match=r"allowed: .*visits"):
        config_from_dict({"search": {"visitz": 1}})


def test_malformed_yaml_names_the_file(tmp_path):
    path = _write(tmp_path, "search:\n  visits: [8\n  cap_visits: 2\n")
    with pytest.raises(ConfigError, match="not valid YAML") as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_a_document_that_is_not_a_mapping_is_an_error(tmp_path):
    path = _write(tmp_path, "- search\n- game\n")
    with pytest.raises(ConfigError, match="expected a mapping") as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize("source", [None, *SHIPPED], ids=lambda p: "defaults" if p is None else p.name)
def test_dump_then_load_round_trips(tmp_path, source):
    config = SelfPlayConfig() if source is None else load_config(source)
    again = load_config(_write(tmp_path, dump_config(config), "dumped.yaml"))
    assert again == config
    assert dump_config(again) == dump_config(config)


def test_round_trip_of_non_default_values(tmp_path):
    config = config_from_dict({
        "run": {"name": "x y: z", "seed": 7, "max_hours": 0.5},
        "game": {"size": 7, "komi": 5.5, "max_moves": 60},
        "search": {"visits": 3, "full_probability": 1.0, "tree_reuse": False, "dirichlet_alpha": 0.3},
        "cluster": {"address": "auto"},
    })
    again = load_config(_write(tmp_path, dump_config(config)))
    assert again == config
    assert again.run.name == "x y: z" and again.search.tree_reuse is False and again.game.size == 7
    assert again != SelfPlayConfig()


def test_workers_fast_inference_selects_the_evaluator_options(tmp_path):
    """On by default (batch norm folded, NHWC); `workers.fast_inference: false` is the plain float32 path;
    a non-boolean is a ConfigError naming the key."""
    import numpy as np

    from tenuki.agents.go.evaluator import TorchEvaluator
    from tenuki.selfplay.learner import build_model, evaluator_options

    fast = config_from_dict({"network": {"blocks": 1, "channels": 8}})
    plain = config_from_dict({"network": {"blocks": 1, "channels": 8}, "workers": {"fast_inference": False}})
    assert evaluator_options(plain) == {}
    options = evaluator_options(fast)
    assert options["fuse"] and options["channels_last"]
    model = build_model(fast).eval()
    planes = np.random.default_rng(0).integers(0, 2, (4, model.in_planes, 9, 9)).astype(np.float32)
    plain_logits, plain_values = TorchEvaluator(model)(planes)
    fast_logits, fast_values = TorchEvaluator(model, **options)(planes)
    np.testing.assert_allclose(fast_logits, plain_logits, atol=0.1)
    np.testing.assert_allclose(fast_values, plain_values, atol=0.03)
    with pytest.raises(ConfigError, match="workers.fast_inference"):
        load_config(_write(tmp_path, "workers:\n  fast_inference: 3\n"))


def test_loading_a_config_imports_neither_torch_nor_ray():
    """A fresh interpreter validates the shipped 9x9 config (and imports the packages' faces) without
    torch or Ray: the config no longer imports the registries of games, losses and networks."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from tenuki.selfplay.config import load_config\n"
        f"config = load_config({str(ROOT / 'configs' / 'selfplay' / 'go9x9.yaml')!r})\n"
        "assert config.search.visits == 200, config.search\n"
        "import tenuki.search, tenuki.selfplay, tenuki.selfplay.alphago, tenuki.selfplay.atari\n"
        "print(sorted(name for name in ('torch', 'ray') if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_the_names_a_config_accepts_are_the_registries():
    """config.py checks names against its own tables (importing the registries would import torch);
    they must list exactly what the registries hold."""
    from tenuki.agents.go.networks import ARCHITECTURES
    from tenuki.selfplay.config import ARCHITECTURE_NAMES, GAME_GENERATOR_NAMES, LOSS_NAMES
    from tenuki.selfplay.games import GAME_GENERATORS
    from tenuki.selfplay.losses import LOSSES

    assert set(GAME_GENERATOR_NAMES) == set(GAME_GENERATORS)
    assert set(LOSS_NAMES) == set(LOSSES)
    assert set(ARCHITECTURE_NAMES) == set(ARCHITECTURES)


def test_the_search_section_is_the_search_layers():
    from tenuki.search.settings import SearchConfig as SearchLayerConfig
    from tenuki.selfplay.config import SearchConfig

    assert SearchConfig is SearchLayerConfig
    assert SelfPlayConfig().search == SearchLayerConfig()
    with pytest.raises(ConfigError, match=r"search\.mix_lambda: expected a number in \[0, 1\], got 1.5"):
        config_from_dict({"search": {"mix_lambda": 1.5}})


@pytest.mark.parametrize("package", ["tenuki.selfplay", "tenuki.selfplay.alphago", "tenuki.selfplay.atari"])
def test_each_face_exports_what_it_lists(package):
    import importlib

    face = importlib.import_module(package)
    assert len(set(face.__all__)) == len(face.__all__)
    for name in face.__all__:
        assert getattr(face, name) is not None, name
    with pytest.raises(AttributeError):
        face.no_such_name  # noqa: B018


@pytest.mark.own_process  # it loads OpenVINO (tests/conftest.py)
def test_workers_inference_picks_the_evaluator(tmp_path):
    """workers.inference: torch (default), auto or openvino (with fast_inference); anything else names the key."""
    from tenuki.agents.go.evaluator import OpenVINOEvaluator, TorchEvaluator
    from tenuki.selfplay.learner import build_model, make_evaluator

    with pytest.raises(ConfigError, match=r"workers\.inference: expected one of torch, auto, openvino"):
        load_config(_write(tmp_path, "workers:\n  inference: cuda\n"))
    config = load_config(_write(tmp_path, "network:\n  blocks: 1\n  channels: 8\ngame:\n  size: 5\n"))
    assert config.workers.inference == "torch"
    assert isinstance(make_evaluator(build_model(config), config), TorchEvaluator)
    pytest.importorskip("openvino", reason="the `fast` extra is not installed")
    config.workers.inference = "openvino"
    assert isinstance(make_evaluator(build_model(config), config), OpenVINOEvaluator)
    config.workers.fast_inference = False  # the plain float32 torch path, whatever inference says
    assert isinstance(make_evaluator(build_model(config), config), TorchEvaluator)
