"""`atari evaluate --video`: the real RGB game screen of the first episode, recorded in lockstep."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tenuki.agents.dqn.evaluate import EvaluationError, evaluate_policy
from tenuki.envs.atari.screen import SCREEN_HEIGHT, SCREEN_WIDTH, ScreenRecorder
from tenuki.envs.atari.vector import AtariVecEnv


def _as_network_frame(screen: np.ndarray) -> np.ndarray:
    """An RGB screen as the 84x84 gray frame the environment makes of it (luminance, INTER_AREA)."""
    gray = cv2.cvtColor(screen, cv2.COLOR_RGB2GRAY)
    return cv2.resize(gray, (84, 84), interpolation=cv2.INTER_AREA).astype(np.int16)


@pytest.mark.parametrize("protocol", ["nature", "machado"])  # machado: sticky actions, drawn from the seed
def test_the_recorder_plays_the_same_game_as_environment_0(protocol):
    rng = np.random.default_rng(0)
    with AtariVecEnv("Pong", 2, protocol, training=False, seed=11) as env, \
            ScreenRecorder("Pong", protocol, seed=11) as recorder:
        env.reset()
        first = recorder.reset()
        assert first.shape == (SCREEN_HEIGHT, SCREEN_WIDTH, 3) and first.dtype == np.uint8
        rewards, distance_0, distance_1 = [], [], []
        for _ in range(5000):
            actions = rng.integers(0, env.num_actions, size=2)
            step = env.step(actions)
            screen, ended = recorder.step(int(actions[0]))
            rewards.append(step.raw_rewards[0])
            if not step.episode_ends.any():  # the screen is environment 0's frame, not environment 1's
                frame = _as_network_frame(screen)
                distance_0.append(np.abs(frame - step.obs[0, -1]).max())
                distance_1.append(np.abs(frame - step.obs[1, -1]).max())
            if step.episode_ends[0] or ended:
                break
        assert step.episode_ends[0] and ended  # both ended at the same agent step
        assert sum(rewards) == step.episode_returns[0]
        # measured: at most 16 gray levels from environment 0's frame (another luminance formula), a median
        # of over 60 from environment 1's (the paddles and the ball elsewhere)
        assert max(distance_0) <= 30 and np.median(distance_1) > 30


def test_the_video_is_the_rgb_screen_of_the_first_episode(tmp_path):
    result = evaluate_policy("random", "Pong", episodes=1, num_envs=1, seed=3, video=tmp_path / "pong.npz")
    frames = np.load(tmp_path / "pong.npz")["frames"]
    assert frames.shape[1:] == (SCREEN_HEIGHT, SCREEN_WIDTH, 3) and frames.dtype == np.uint8
    assert frames.shape[0] == result["mean_episode_length"] + 1  # the first screen, then one per agent step
    colours = np.unique(frames[len(frames) // 2].reshape(-1, 3), axis=0)
    assert len(colours) >= 3 and not np.all(colours[:, 0] == colours[:, 2])  # colour, not gray


def test_a_bad_video_path_costs_no_episode(tmp_path, monkeypatch):
    from tenuki.agents.dqn import evaluate

    monkeypatch.setattr(evaluate, "AtariVecEnv", lambda *a, **k: pytest.fail("an episode started"))
    with pytest.raises(EvaluationError, match=f"--video {tmp_path}/x.avi: unknown format"):
        evaluate_policy("random", "Pong", episodes=1, video=tmp_path / "x.avi")
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    with pytest.raises(EvaluationError, match=r"needs imageio, the video extra: pip install 'tenuki-rl\[video\]'"):
        evaluate_policy("random", "Pong", episodes=1, video=tmp_path / "x.gif")


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_gif_and_mp4_with_the_video_extra(suffix, tmp_path):
    pytest.importorskip("imageio", reason="the video extra (pip install 'tenuki-rl[video]') is not installed")
    if suffix == ".mp4":
        pytest.importorskip("imageio_ffmpeg", reason="the video extra's ffmpeg plugin is not installed")
    import imageio.v3 as iio

    path = tmp_path / f"pong{suffix}"
    evaluate_policy("random", "Pong", episodes=1, num_envs=1, seed=3, video=path, max_agent_steps=10_000)
    frames = iio.imread(path, index=None)
    assert frames.shape[0] > 100 and frames.shape[-1] == 3
