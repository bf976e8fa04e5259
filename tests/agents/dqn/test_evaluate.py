"""``evaluate_policy``'s record of each episode: its length and whether the protocol's frame cap ended it."""

from __future__ import annotations

import dataclasses

from tenuki.agents.dqn.evaluate import evaluate_policy
from tenuki.envs.atari.protocols import NATURE


def test_episodes_cut_by_the_frame_cap_are_counted_with_their_lengths():
    # 400 frames at frame skip 4: 100 agent steps, far too few for a game of Pong to end by itself
    short = dataclasses.replace(NATURE, eval_max_frames=400)
    result = evaluate_policy("random", "Pong", short, episodes=3, num_envs=2, seed=5)
    assert result["time_capped"] == 3
    assert result["lengths"] == [100, 100, 100] and result["mean_episode_length"] == 100
    assert len(result["scores"]) == 3 and result["settings"]["eval_max_frames"] == 400


def test_a_whole_game_is_not_counted_as_capped():
    result = evaluate_policy("random", "Pong", episodes=1, num_envs=1, seed=3)
    assert result["time_capped"] == 0
    assert result["scores"][0] < 0  # the random player loses the game before the 5-minute cap
    assert result["lengths"] == [result["mean_episode_length"]] and 500 < result["lengths"][0] < 4_500
