"""Protocol settings, game names, the single gymnasium env and the gymnasium / RLlib registrations."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

from tenuki.envs.atari import (
    ATARI_ENV_ID,
    PROTOCOLS,
    RLLIB_ATARI_ENV,
    AtariConfigError,
    AtariGymEnv,
    AtariProtocol,
    canonical_game_name,
    get_protocol,
    register_rllib_envs,
    rom_id,
)


def test_nature_protocol_settings():
    p = get_protocol("nature")
    assert (p.repeat_action_probability, p.full_action_space, p.noop_max) == (0.0, False, 30)
    assert (p.frame_skip, p.max_pool, p.frame_size, p.stack) == (4, True, 84, 4)
    assert (p.train_max_frames, p.eval_max_frames) == (108_000, 18_000)
    assert p.terminal_on_life_loss and p.clip_rewards and p.eval_epsilon == 0.05


def test_machado_protocol_settings():
    p = get_protocol("machado")
    assert (p.repeat_action_probability, p.full_action_space, p.noop_max) == (0.25, True, 0)
    assert (p.frame_skip, p.max_pool, p.frame_size, p.stack) == (4, True, 84, 4)
    assert (p.train_max_frames, p.eval_max_frames) == (108_000, 108_000)
    assert not p.terminal_on_life_loss and p.eval_epsilon == 0.01
    assert p.max_frames(True) == p.max_frames(False) == 108_000


def test_dopamine_protocol_is_machado_with_the_minimal_action_set():
    p, machado = get_protocol("dopamine"), get_protocol("machado")
    assert (p.repeat_action_probability, p.full_action_space, p.noop_max) == (0.25, False, 0)
    assert not p.terminal_on_life_loss and p.clip_rewards and p.eval_epsilon == 0.001
    assert p.train_max_frames == 27_000 * 4  # Runner.max_steps_per_episode, in agent steps of 4 frames
    differ = {key for key, value in p.to_dict().items() if machado.to_dict()[key] != value}
    assert differ == {"name", "full_action_space", "eval_epsilon"}


def test_protocol_round_trip_and_errors():
    for name, protocol in PROTOCOLS.items():
        assert protocol.name == name and get_protocol(protocol) is protocol
        settings = json.loads(json.dumps(protocol.to_dict()))
        assert AtariProtocol.from_dict(settings) == protocol
    with pytest.raises(AtariConfigError, match=r"unknown Atari protocol 'sticky'.*dopamine, machado, nature"):
        get_protocol("sticky")
    assert issubclass(AtariConfigError, ValueError)
    with pytest.raises(AtariConfigError, match="repeat_action_probability"):
        PROTOCOLS["nature"].replace(repeat_action_probability=1.5)
    with pytest.raises(AtariConfigError, match="noop_max='30' must be of type int"):
        PROTOCOLS["nature"].replace(noop_max="30")
    with pytest.raises(AtariConfigError, match="unknown protocol settings"):
        PROTOCOLS["nature"].replace(sticky=0.25)
    with pytest.raises(AtariConfigError, match="unknown keys"):
        AtariProtocol.from_dict({**PROTOCOLS["nature"].to_dict(), "extra": 1})
    with pytest.raises(AtariConfigError, match="missing keys"):
        AtariProtocol.from_dict({"name": "x"})


@pytest.mark.parametrize("spelling", ["Pong", "pong", "ALE/Pong-v5", "PongNoFrameskip-v4"])
def test_game_names(spelling):
    assert canonical_game_name(spelling) == "Pong" and rom_id(spelling) == "pong"


def test_game_names_with_underscores():
    assert rom_id("MsPacman") == "ms_pacman" and canonical_game_name("ms_pacman") == "MsPacman"
    with pytest.raises(AtariConfigError, match="unknown Atari game 'Pongg'"):
        rom_id("Pongg")


def test_gym_env_passes_gymnasium_checker():
    from gymnasium.utils.env_checker import check_env

    env = AtariGymEnv("Pong", "nature", training=True, seed=0)
    check_env(env, skip_render_check=True)
    env.close()


def test_gym_env_life_loss_reset_continues_the_game():
    env = AtariGymEnv("Breakout", "nature", training=True, seed=5, channels_last=True)
    obs, info = env.reset()
    assert obs.shape == (84, 84, 4) and env.observation_space.contains(obs)
    rng = np.random.default_rng(0)
    for _ in range(400):
        obs, _, terminated, _, info = env.step(int(rng.integers(env.action_space.n)))
        if terminated and not info["episode_end"]:
            break
    else:
        pytest.fail("no life lost in 400 random steps of Breakout")
    lives = info["lives"]
    continued, reset_info = env.reset()
    np.testing.assert_array_equal(continued, obs)  # same game, same screen
    assert reset_info["lives"] == lives
    env.close()


def test_gymnasium_registration():
    env = gym.make(ATARI_ENV_ID, game="Breakout", protocol="machado")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and env.action_space.n == 18
    env.close()


def test_rllib_registration_imports_ray_lazily():
    import subprocess
    import sys
    from pathlib import Path

    # Importing tenuki.envs.atari must not import ray (it is heavy and optional for everything but RLlib).
    code = "import sys, tenuki.envs.atari; assert 'ray' not in sys.modules"
    repo = Path(__file__).resolve().parents[3]
    assert subprocess.run([sys.executable, "-c", code], cwd=repo, check=False).returncode == 0
    pytest.importorskip("ray")
    from ray.tune.registry import ENV_CREATOR, _global_registry

    assert register_rllib_envs() == [RLLIB_ATARI_ENV]
    assert _global_registry.contains(ENV_CREATOR, RLLIB_ATARI_ENV)
    env = _global_registry.get(ENV_CREATOR, RLLIB_ATARI_ENV)({"game": "Pong", "seed": 1})
    obs, _ = env.reset()
    assert obs.shape == (84, 84, 4) and env.training
    env.close()
    with pytest.raises(AtariConfigError, match="unknown tenuki_atari env_config keys"):
        _global_registry.get(ENV_CREATOR, RLLIB_ATARI_ENV)({"gmae": "Pong"})
