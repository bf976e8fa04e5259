"""AtariVecEnv semantics: time cap -> truncated (not terminal), life-loss terminals, reward clipping, episode
bookkeeping, seeding, and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from tenuki.envs.atari import MACHADO, NATURE, AtariConfigError, AtariVecEnv


def random_steps(env: AtariVecEnv, steps: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        yield env.step(rng.integers(0, env.num_actions, env.num_envs))


def test_time_cap_is_truncation_not_terminal():
    # 200 frames = 50 agent steps, counted after the no-op start (so exact whatever the no-op count).
    protocol = NATURE.replace(train_max_frames=200)
    with AtariVecEnv("Pong", 2, protocol, training=True, seed=0) as env:
        assert env.max_frames == 200
        env.reset()
        for t, step in enumerate(random_steps(env, 120), start=1):
            cut = t % 50 == 0
            assert step.truncated.tolist() == [cut, cut]
            assert step.episode_ends.tolist() == [cut, cut]
            assert not step.terminals.any(), "a time cap must never be a terminal"
            if cut:
                assert step.episode_lengths.tolist() == [50, 50]
                assert step.final_frames.any(axis=(1, 2)).all()
                assert not step.obs[:, :3].any(), "the new episode's stack is zero-padded"
                assert step.obs[:, 3].any(axis=(1, 2)).all()


def test_evaluation_uses_the_evaluation_cap():
    with AtariVecEnv("Pong", 1, "nature", training=False) as env:
        assert env.max_frames == NATURE.eval_max_frames == 18_000
        assert env.settings()["protocol"]["name"] == "nature"
    with AtariVecEnv("Pong", 1, "machado", training=False) as env:
        assert env.max_frames == 108_000 and env.num_actions == 18
    with AtariVecEnv("Pong", 1, "dopamine", training=True) as env:  # Dopamine keeps gym's minimal set
        assert env.max_frames == 108_000 and env.num_actions == 6


def test_life_loss_is_a_terminal_only_when_training():
    life_terminals = {}
    for training in (True, False):
        with AtariVecEnv("Breakout", 2, "nature", training=training, seed=1) as env:
            env.reset()
            steps = list(random_steps(env, 250, seed=2))
        life_terminals[training] = sum(int((s.terminals & ~s.episode_ends).sum()) for s in steps)
        # Game over is always a terminal and always an episode end.
        for s in steps:
            assert not (s.terminals & s.truncated).any()
            if not training:
                assert (s.terminals == (s.episode_ends & ~s.truncated)).all()
    assert life_terminals[True] >= 4 and life_terminals[False] == 0, life_terminals


def test_episode_returns_and_lengths_are_raw_sums():
    protocol = NATURE.replace(train_max_frames=1600)
    with AtariVecEnv("Pong", 2, protocol, training=True, seed=4) as env:
        env.reset()
        totals, lengths, ended = np.zeros(2), np.zeros(2, np.int64), 0
        for step in random_steps(env, 900, seed=4):
            totals += step.raw_rewards
            lengths += 1
            assert (step.rewards == np.sign(step.raw_rewards)).all()
            for i in np.flatnonzero(step.episode_ends):
                assert step.episode_returns[i] == totals[i] and step.episode_lengths[i] == lengths[i]
                totals[i], lengths[i] = 0, 0
                ended += 1
            assert not step.episode_returns[~step.episode_ends].any()
        assert ended >= 4


class _FakeVectorizer:
    """Stands in for ale-py's C++ vectorizer: returns scripted (scores, terminated, truncated, lives)."""

    def __init__(self, script):
        self.script = list(script)

    def send(self, actions, strength):
        pass

    def recv(self):
        scores, terminated, truncated, lives = self.script.pop(0)
        n = len(scores)
        obs = np.full((n, 4, 84, 84), 7, np.uint8)
        info = {"lives": np.array(lives, np.int32), "final_obs": np.full((n, 4, 84, 84), 9, np.uint8)}
        return (obs, np.array(scores, np.int32), np.array(terminated), np.array(truncated), info)


@pytest.mark.parametrize("training", [True, False])
def test_bookkeeping_on_scripted_steps(training):
    env = AtariVecEnv("Breakout", 3, "nature", training=training)
    env.reset()
    env._lives[:] = 5
    env._lives_list = [5, 5, 5]
    env._ale = _FakeVectorizer([
        ([7, -3, 0], [False, False, False], [False, False, False], [5, 4, 5]),  # env 1 loses a life
        ([4, 0, 0], [True, False, False], [False, False, True], [5, 4, 5]),     # env 0 game over, env 2 cap
        ([0, 0, 0], [False, False, False], [False, False, False], [5, 4, 5]),
    ])
    s1 = env.step(np.array([0, 1, 2]))
    assert s1.raw_rewards.tolist() == [7, -3, 0]
    assert s1.rewards.tolist() == ([1, -1, 0] if training else [7, -3, 0])
    assert s1.terminals.tolist() == [False, training, False]
    assert not s1.episode_ends.any() and not s1.final_frames.any()
    s2 = env.step(np.array([0, 1, 2]))
    assert s2.terminals.tolist() == [True, False, False]  # lives back to 5 in env 0 is a reset, not a loss
    assert s2.episode_ends.tolist() == [True, False, True]
    assert s2.truncated.tolist() == [False, False, True]
    assert s2.episode_returns.tolist() == [11, 0, 0] and s2.episode_lengths.tolist() == [2, 0, 2]
    assert (s2.final_frames[[0, 2]] == 9).all() and not s2.final_frames[1].any()
    s3 = env.step(np.array([0, 1, 2]))
    assert not s3.terminals.any() and not s3.episode_ends.any()
    assert s3.rewards.dtype == np.float32 and s3.raw_rewards.dtype == np.float32


def test_same_seed_same_trajectory_under_sticky_actions():
    def trajectory(seed):
        with AtariVecEnv("Pong", 2, MACHADO, training=True, seed=seed) as env:
            frames = [env.reset()]
            frames += [s.obs for s in random_steps(env, 150, seed=0)]
        return np.stack(frames)

    first, again, other = trajectory(11), trajectory(11), trajectory(12)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first[:, 0], first[:, 1]), "environments of one vector get different seeds"


@pytest.mark.timeout(60)
def test_bad_input_raises_instead_of_hanging():
    with AtariVecEnv("Pong", 2, "nature", training=True, seed=0) as env:
        with pytest.raises(AtariConfigError, match="before reset"):
            env.step(np.zeros(2, np.int64))
        env.reset()
        for bad in ([0, 6], [-1, 0]):
            with pytest.raises(AtariConfigError, match=r"in \[0, 6\)"):
                env.step(np.array(bad))
        with pytest.raises(AtariConfigError, match="shape"):
            env.step(np.zeros(3, np.int64))
        with pytest.raises(AtariConfigError, match="integers"):
            env.step(np.zeros(2, np.float32))
        step = env.step([1, 2])  # lists and int32 are accepted
        step = env.step(np.array([1, 2], np.int32))
        assert step.obs.shape == (2, 4, 84, 84)
    with pytest.raises(AtariConfigError, match="num_envs"):
        AtariVecEnv("Pong", 0, "nature", training=True)
    with pytest.raises(AtariConfigError, match="seed"):
        AtariVecEnv("Pong", 1, "nature", training=True, seed=-1)
    with pytest.raises(AtariConfigError, match="unknown Atari game"):
        AtariVecEnv("NotAGame", 1, "nature", training=True)
