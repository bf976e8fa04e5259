"""Benchmark: Atari environment steps/s of tenuki's ``AtariVecEnv`` against plain ale-py ``AtariVectorEnv``
and gymnasium's ``AtariPreprocessing`` + ``FrameStackObservation`` wrappers, all in the same run.

    python -m bench.atari --seconds 5 --json

Work unit: one agent step (4 emulator frames, max-pooled, 84x84 grayscale, 4 stacked) of one environment,
with uniformly random actions (pre-drawn, the same sequence for every engine), two environments per engine,
autoreset on episode end.  Settings are the ``nature`` protocol's training settings for every engine
(no-op starts up to 30, no sticky actions, minimal action set, no FIRE on reset, 108,000-frame cap).
Engines are measured in alternating slices so that they see the same background load: the ratios are
what the benchmark reports, not the absolute figures.  Prints ONE JSON object.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.common import interleaved, print_result

NUM_ENVS = 2
CHUNK = 25  # agent steps per timed call: keeps the clock reads out of the measurement


def _actions(num_actions: int, seed: int, count: int = 8192) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, num_actions, (count, NUM_ENVS), dtype=np.int64)


def _cycling_runner(step: Callable[[np.ndarray], Any], actions: np.ndarray) -> Callable[[int], int]:
    """``run(steps)``: ``steps`` calls of ``step`` with the next rows of ``actions`` (cycling, carried over
    between calls); returns the env steps done."""
    position = 0

    def run(steps: int) -> int:
        nonlocal position
        i = position
        for _ in range(steps):
            step(actions[i])
            i = (i + 1) % len(actions)
        position = i
        return steps * NUM_ENVS

    return run


def bench_tenuki(game: str, seed: int):
    """Steps of ``AtariVecEnv`` (same-step autoreset, AtariStep with terminals / final frames / returns)."""
    from tenuki.envs.atari import AtariVecEnv

    env = AtariVecEnv(game, NUM_ENVS, "nature", training=True, seed=seed)
    env.reset()
    actions = _actions(env.num_actions, seed)
    return _cycling_runner(env.step, actions), env


def bench_ale_vector(game: str, seed: int):
    """Steps of plain ale-py ``AtariVectorEnv`` through its public ``step``, with the settings tenuki uses."""
    from ale_py.vector_env import AtariVectorEnv

    from tenuki.envs.atari import NATURE, rom_id

    p = NATURE
    env = AtariVectorEnv(
        rom_id(game), NUM_ENVS, max_num_frames_per_episode=p.train_max_frames,
        repeat_action_probability=p.repeat_action_probability, full_action_space=p.full_action_space,
        autoreset_mode="SameStep", img_height=p.frame_size, img_width=p.frame_size, stack_num=p.stack,
        frameskip=p.frame_skip, maxpool=p.max_pool, noop_max=p.noop_max, use_fire_reset=False,
        reward_clipping=False)
    env.reset(seed=seed)
    actions = _actions(int(env.single_action_space.n), seed)
    return _cycling_runner(env.step, actions), env


def bench_gym_wrappers(game: str, seed: int):
    """Steps of a ``SyncVectorEnv`` of two ``AtariPreprocessing`` + ``FrameStackObservation`` envs."""
    import ale_py
    import gymnasium as gym
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

    from tenuki.envs.atari import NATURE, canonical_game_name

    gym.register_envs(ale_py)
    p = NATURE

    def make():
        env = gym.make(f"ALE/{canonical_game_name(game)}-v5", frameskip=1,
                       repeat_action_probability=p.repeat_action_probability,
                       full_action_space=p.full_action_space, max_num_frames_per_episode=p.train_max_frames)
        env = AtariPreprocessing(env, noop_max=p.noop_max, frame_skip=p.frame_skip, screen_size=p.frame_size,
                                 terminal_on_life_loss=False, grayscale_obs=True)
        return FrameStackObservation(env, p.stack, padding_type="zero")

    env = gym.vector.SyncVectorEnv([make for _ in range(NUM_ENVS)])
    env.reset(seed=seed)
    actions = _actions(int(env.single_action_space.n), seed)
    return _cycling_runner(env.step, actions), env


def _median_ratio(numerator: list[float], denominator: list[float]) -> float:
    return float(np.median(np.asarray(numerator) / np.asarray(denominator)))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.atari", description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="Pong", help="Atari game (default Pong)")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds per engine (default 6)")
    parser.add_argument("--rounds", type=int, default=20,
                        help="alternating slices per engine, so all see the same load (default 6)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learner-seconds", type=float, default=20.0,
                        help="seconds for the learner-update comparison (default 20; 0 skips it)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    engines = {
        "tenuki": bench_tenuki(args.game, args.seed),
        "ale_vector": bench_ale_vector(args.game, args.seed),
        "gym_wrappers": bench_gym_wrappers(args.game, args.seed),
    }
    runs = {name: run for name, (run, _) in engines.items()}
    for run in runs.values():  # warm-up: first steps, thread start-up
        run(10)
    totals = interleaved({name: functools.partial(run, CHUNK) for name, run in runs.items()}, args.seconds,
                         max(1, args.rounds))
    rates = {name: engine.rate for name, engine in totals.items()}
    per_round = {name: engine.per_round for name, engine in totals.items()}
    for _, env in engines.values():
        env.close()
    tenuki, ale_vector, gym_wrappers = rates["tenuki"], rates["ale_vector"], rates["gym_wrappers"]

    from tenuki.agents.dqn.replay import FrameReplay
    from tenuki.envs.atari import NATURE, canonical_game_name

    capacity = 1_000_000
    replay_bytes = FrameReplay.estimate_bytes(capacity) / capacity
    learner = {}
    if args.learner_seconds > 0:
        from bench.dqn_update import measure_update_speed

        speed = measure_update_speed(args.learner_seconds)
        learner = {
            "learner_updates_per_s": round(speed["learner_updates_per_s"], 1),
            "baseline_updates_per_s": round(speed["baseline_updates_per_s"], 1),
            "learner_vs_baseline": round(speed["learner_updates_per_s"] / speed["baseline_updates_per_s"], 3),
            "learner_setup": "Nature DQN update, batch 32, Adam, 1 torch thread; baseline: CleanRL-style float32 loop",
        }

    result = {
        "benchmark": "atari",
        "game": canonical_game_name(args.game),
        "num_envs": NUM_ENVS,
        "protocol": NATURE.to_dict(),
        "seconds_per_engine": args.seconds,
        "rounds": args.rounds,
        "work_unit": "one agent step of one env (4 frames, max-pool, 84x84 gray, stack 4), random actions",
        "env_steps_per_s": round(tenuki, 1),
        "ale_vector_steps_per_s": round(ale_vector, 1),
        "gym_wrappers_steps_per_s": round(gym_wrappers, 1),
        "env_vs_ale_vector": round(tenuki / ale_vector, 3),
        "env_vs_gym_wrappers": round(tenuki / gym_wrappers, 3),
        "env_vs_ale_vector_median_round": round(
            _median_ratio(per_round["tenuki"], per_round["ale_vector"]), 3),
        "replay_bytes_per_transition": round(replay_bytes, 1),
        "replay_gb_for_1m_transitions": round(replay_bytes * capacity / 1e9, 3),
        **learner,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    return print_result(result, t0)


if __name__ == "__main__":
    main()
