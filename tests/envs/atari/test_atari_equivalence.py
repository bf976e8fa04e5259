"""Observations of tenuki's Atari envs equal gymnasium's reference wrappers, frame for frame.

Reference: ``gym.make("ALE/<Game>-v5", frameskip=1, repeat_action_probability=0)`` +
``AtariPreprocessing(frame_skip=4, noop_max=0, screen_size=84, grayscale)`` +
``FrameStackObservation(4, padding_type="zero")``, the same actions, across life losses, game overs and a
time cap.  No-op starts are off (``noop_max=0``) because the two draw their no-op counts from different
random streams; with no sticky actions the ALE is deterministic, so seeds do not need to match.
Both resize with OpenCV's INTER_AREA, so the frames are bit-identical (max difference 0).
"""

from __future__ import annotations

import ale_py
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

from tenuki.envs.atari import NATURE, AtariGymEnv, AtariVecEnv

pytest.importorskip("cv2", reason="gymnasium's AtariPreprocessing needs opencv-python(-headless)")
gym.register_envs(ale_py)

NO_NOOP = NATURE.replace(noop_max=0)


def make_reference(game: str, max_frames: int = 108_000) -> gym.Env:
    env = gym.make(f"ALE/{game}-v5", frameskip=1, repeat_action_probability=0.0,
                   max_num_frames_per_episode=max_frames)
    env = AtariPreprocessing(env, noop_max=0, frame_skip=4, screen_size=84, grayscale_obs=True,
                             terminal_on_life_loss=False)
    return FrameStackObservation(env, 4, padding_type="zero")


def run_both(game: str, steps: int, *, training: bool, max_frames: int = 108_000, num_envs: int = 1,
             seed: int = 0) -> dict:
    """Step the reference and env 0 of an AtariVecEnv with the same random actions; compare everything."""
    protocol = NO_NOOP.replace(train_max_frames=max_frames, eval_max_frames=max_frames)
    ours = AtariVecEnv(game, num_envs, protocol, training=training, seed=seed)
    reference = make_reference(game, max_frames)
    ref_obs, ref_info = reference.reset(seed=seed)
    obs = ours.reset()
    assert obs.shape == (num_envs, 4, 84, 84) and obs.dtype == np.uint8
    np.testing.assert_array_equal(obs[0], ref_obs)
    assert not obs[0, :3].any(), "stack padding at episode start must be zeros"
    rng = np.random.default_rng(seed)
    lives = ref_info["lives"]
    counts = {"episode_ends": 0, "life_losses": 0, "truncations": 0, "scored": 0}
    episode_return = 0.0
    episode_length = 0
    for _ in range(steps):
        actions = rng.integers(0, ours.num_actions, num_envs)
        ref_obs, ref_reward, ref_terminated, ref_truncated, ref_info = reference.step(int(actions[0]))
        step = ours.step(actions)
        episode_return += ref_reward
        episode_length += 1
        assert step.raw_rewards[0] == ref_reward
        expected_reward = np.sign(ref_reward) if training else ref_reward
        assert step.rewards[0] == expected_reward
        counts["scored"] += ref_reward != 0
        ended = ref_terminated or ref_truncated
        life_lost = (ref_info["lives"] < lives) and not ended
        lives = ref_info["lives"]
        assert step.episode_ends[0] == ended
        assert step.truncated[0] == (ref_truncated and not ref_terminated)
        assert step.terminals[0] == (ref_terminated or (training and life_lost))
        counts["life_losses"] += life_lost
        if ended:
            counts["episode_ends"] += 1
            counts["truncations"] += bool(ref_truncated)
            np.testing.assert_array_equal(step.final_frames[0], ref_obs[-1])
            np.testing.assert_array_equal(ours._final_obs[0], ref_obs)
            assert step.episode_returns[0] == episode_return
            assert step.episode_lengths[0] == episode_length
            episode_return, episode_length = 0.0, 0
            ref_obs, ref_info = reference.reset()
            lives = ref_info["lives"]
        np.testing.assert_array_equal(step.obs[0], ref_obs)
    ours.close()
    reference.close()
    return counts


def test_breakout_equal_across_life_losses_and_game_overs():
    counts = run_both("Breakout", 700, training=True, num_envs=2)
    assert counts["life_losses"] >= 4 and counts["episode_ends"] >= 2, counts


def test_breakout_evaluation_mode_has_no_life_loss_terminals():
    counts = run_both("Breakout", 400, training=False)
    assert counts["life_losses"] >= 4 and counts["episode_ends"] >= 1, counts


def test_pong_equal_with_scores():
    counts = run_both("Pong", 400, training=True, seed=3)
    assert counts["scored"] >= 2, counts


def test_pong_time_cap_equal_and_truncated():
    counts = run_both("Pong", 330, training=False, max_frames=600)  # 150 agent steps per episode
    assert counts["truncations"] == 2 and counts["episode_ends"] == 2, counts


def test_gym_env_equal_to_reference():
    """The single gymnasium env shows the same frames, and the final observation at an episode end."""
    env = AtariGymEnv("Breakout", NO_NOOP, training=False, seed=0)
    reference = make_reference("Breakout")
    obs, _ = env.reset()
    ref_obs, _ = reference.reset(seed=0)
    np.testing.assert_array_equal(obs, ref_obs)
    rng = np.random.default_rng(1)
    ends = 0
    for _ in range(300):
        action = int(rng.integers(env.action_space.n))
        obs, reward, terminated, truncated, _ = env.step(action)
        ref_obs, ref_reward, ref_terminated, ref_truncated, _ = reference.step(action)
        np.testing.assert_array_equal(obs, ref_obs)
        assert (reward, terminated, truncated) == (ref_reward, ref_terminated, ref_truncated)
        if terminated or truncated:
            ends += 1
            obs, _ = env.reset()
            ref_obs, _ = reference.reset()
            np.testing.assert_array_equal(obs, ref_obs)
    assert ends >= 1
