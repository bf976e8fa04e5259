"""The Go environments registered with RLlib (``tenuki.envs.go.rllib_registration``): both names resolve in
RLlib's registry, the creators build working environments from an ``EnvContext``, and RLlib's own
``SingleAgentEnvRunner`` builds ``tenuki_go`` and samples from it (no training, no Ray cluster)."""

from __future__ import annotations

import pytest

pytest.importorskip("ray.rllib")

from tenuki.envs.go.errors import GoError
from tenuki.envs.go.rllib_registration import (
    RLLIB_GO_ENV,
    RLLIB_GO_MULTIAGENT_ENV,
    register_rllib_envs,
)


@pytest.fixture(scope="module")
def creators():
    from ray.tune.registry import ENV_CREATOR, _global_registry

    assert register_rllib_envs() == [RLLIB_GO_ENV, RLLIB_GO_MULTIAGENT_ENV]
    return {name: _global_registry.get(ENV_CREATOR, name) for name in (RLLIB_GO_ENV, RLLIB_GO_MULTIAGENT_ENV)}


def test_single_agent_env_from_registry(creators):
    from ray.rllib.env.env_context import EnvContext

    from tenuki.envs.go.gym_env import GoEnv

    env = creators[RLLIB_GO_ENV](EnvContext({"board_size": 9, "komi": 5.5}, worker_index=1))
    assert isinstance(env, GoEnv)
    obs, info = env.reset(seed=0)
    assert obs["observation"].shape == (17, 9, 9) and obs["action_mask"].shape == (82,)
    assert info["agent_color"] == "black"
    _, reward, terminated, truncated, _ = env.step(40)  # tengen
    assert reward == 0.0 and not terminated and not truncated
    with pytest.raises(GoError, match="unknown tenuki_go env_config keys"):
        creators[RLLIB_GO_ENV](EnvContext({"size": 9}, worker_index=0))


def test_multi_agent_env_from_registry(creators):
    from ray.rllib.env.env_context import EnvContext
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    env = creators[RLLIB_GO_MULTIAGENT_ENV](EnvContext({"board_size": 5}, worker_index=0))
    assert isinstance(env, MultiAgentEnv)
    obs, _ = env.reset(seed=0)
    assert list(obs) == ["black_0"]
    obs, _, terminated, _, _ = env.step({"black_0": 12})
    assert list(obs) == ["white_0"] and not terminated["__all__"]


def test_rllib_env_runner_builds_and_samples(creators):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.connectors.env_to_module import FlattenObservations
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    # RLlib's default encoders take no Dict observation: flatten it (a real agent would read the mask);
    # an illegal sampled action then ends the episode instead of raising
    config = (PPOConfig()
              .environment(RLLIB_GO_ENV, env_config={"board_size": 5, "illegal_action": "lose"})
              .env_runners(num_env_runners=0,
                           env_to_module_connector=lambda env, spaces=None, device=None: FlattenObservations()))
    runner = SingleAgentEnvRunner(config=config)
    try:
        episodes = runner.sample(num_timesteps=20, random_actions=False)
        assert sum(len(episode) for episode in episodes) >= 20
    finally:
        runner.stop()
