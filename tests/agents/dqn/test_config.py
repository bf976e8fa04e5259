"""DQN configs (``tenuki.agents.dqn.config``): every shipped config loads, and each mistake names its key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tenuki.agents.dqn.config import DQNConfig, DQNConfigError, config_from_dict, dump_config, load_config

CONFIGS = sorted((Path(__file__).resolve().parents[3] / "configs" / "atari").glob("*.yaml"))


def test_configs_are_shipped() -> None:
    assert "pong.yaml" in [path.name for path in CONFIGS]


@pytest.mark.parametrize("path", CONFIGS, ids=[path.name for path in CONFIGS])
def test_every_shipped_config_loads_and_round_trips(path: Path) -> None:
    config = load_config(path)
    assert config_from_dict(yaml.safe_load(dump_config(config))) == config


def test_pong_config_follows_cleanrl() -> None:
    config = load_config(next(path for path in CONFIGS if path.name == "pong.yaml"))
    agent = config.agent
    assert (config.env.game, config.env.protocol, config.backend) == ("Pong", "nature", "native")
    assert (agent.optimizer, agent.learning_rate, agent.batch_size, agent.train_every) == ("adam", 1e-4, 32, 4)
    assert (agent.learning_starts, agent.target_update_every, agent.epsilon_end) == (80_000, 1000, 0.01)
    assert agent.epsilon_decay_steps == config.train.total_steps // 10  # CleanRL's exploration_fraction 0.1


def test_defaults_are_nature_dqn_with_adam() -> None:
    config = config_from_dict(None)
    assert config == DQNConfig()
    agent = config.agent
    assert not (agent.double or agent.dueling or agent.prioritized) and agent.n_step == 1
    assert (agent.loss, agent.gamma, agent.batch_size) == ("huber", 0.99, 32)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"agent": {"learning_rat": 0.1}}, r"agent\.learning_rat: unknown key \(allowed: .*learning_rate"),
        ({"agents": {}}, r"agents: unknown key \(allowed: agent, backend, env, train\)"),
        ({"agent": {"n_step": 0}}, r"agent\.n_step: expected an integer in 1\.\.100, got 0"),
        ({"agent": {"n_step": 2.5}}, r"agent\.n_step: expected an integer, got 2\.5"),
        ({"agent": {"double": "yes"}}, r"agent\.double: expected true or false, got 'yes'"),
        ({"agent": {"loss": "l1"}}, r"agent\.loss: expected 'huber' or 'mse', got 'l1'"),
        ({"agent": {"optimizer": "sgd"}}, r"agent\.optimizer: expected 'adam' or 'rmsprop'"),
        ({"agent": {"gamma": 1.5}}, r"agent\.gamma: expected a number in \(0, 1\]"),
        ({"agent": {"learning_rate": "fast"}}, r"agent\.learning_rate: expected a number, got 'fast'"),
        ({"agent": {"epsilon_start": 0.1, "epsilon_end": 0.5}}, r"agent\.epsilon_end: expected <= agent\.epsilon_start"),
        ({"agent": {"epsilon_spread": 0.5}}, r"agent\.epsilon_spread: expected a number in \[1, 1e6\]"),
        ({"env": {"num_envs": 8}, "agent": {"epsilon_end": 0.5, "epsilon_spread": 16.0}},
         r"agent\.epsilon_spread: the largest final epsilon, epsilon_end \* sqrt\(spread\) = 2, must be <="),
        ({"backend": "apex", "agent": {"epsilon_spread": 4.0}}, r"agent\.epsilon_spread: only the native backend"),
        ({"agent": {"learning_starts": 10}}, r"agent\.learning_starts: expected >= agent\.batch_size \(32\)"),
        ({"agent": {"replay_capacity": 16}}, r"agent\.replay_capacity: expected >= agent\.batch_size"),
        ({"agent": {"priority_alpha": -1}}, r"agent\.priority_alpha: expected a number in \[0, 1\]"),
        ({"env": {"protocol": "sticky"}}, r"env\.protocol: expected one of 'nature', 'machado', 'dopamine'"),
        ({"env": {"game": "Pong-v5!"}}, r"env\.game: expected an ALE game name"),
        ({"env": {"num_envs": 0}}, r"env\.num_envs: expected an integer in 1\.\.1024"),
        ({"env": "Pong"}, r"env: expected a mapping of keys, got str"),
        ({"train": {"precision": "float16"}}, r"train\.precision: expected 'auto' or 'float32' or 'bfloat16'"),
        ({"train": {"device": "tpu"}}, r"train\.device: expected 'auto', 'cpu', 'cuda' or 'cuda:N'"),
        ({"train": {"total_steps": 0}}, r"train\.total_steps: expected an integer >= 1"),
        ({"train": {"torch_threads": 0}}, r"train\.torch_threads: expected an integer >= 1"),
        ({"backend": "ray"}, r"backend: expected 'native' or 'apex' or 'rllib', got 'ray'"),
        ([1, 2], r"the config: expected a mapping of keys"),
    ],
)
def test_config_errors_name_the_key(data: object, message: str) -> None:
    with pytest.raises(DQNConfigError, match=message):
        config_from_dict(data)


def test_yaml_exponent_without_a_dot_is_a_number() -> None:
    """YAML 1.1 reads ``1e-4`` as a string; a learning rate written so is still accepted."""
    config = config_from_dict(yaml.safe_load("agent:\n  learning_rate: 1e-4\n"))
    assert config.agent.learning_rate == 1e-4


def test_load_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("agent:\n  n_step: -1\n")
    with pytest.raises(DQNConfigError, match=r"bad\.yaml: agent\.n_step"):
        load_config(path)
    path.write_text("agent: [unclosed\n")
    with pytest.raises(DQNConfigError, match="not valid YAML"):
        load_config(path)
    with pytest.raises(DQNConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")
