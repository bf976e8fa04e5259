"""RLlib's DQN on tenuki's Atari wrappers: a comparison baseline (``tenuki atari train --backend rllib``).

The environment is ``tenuki.envs.atari.registration``'s RLlib env (``"tenuki_atari"``: ``AtariGymEnv``, the same
protocol code as the native and Ape-X trainers, channels-last [84, 84, 4] uint8), seen by RLlib through its
own ``NormalizedImageEnv`` (``x / 128 - 1`` as float32, what RLlib's Atari examples feed its CNN encoders,
which do not scale pixels themselves); the wrapped env is registered as ``"tenuki_atari_normalized"``.

How ``DQNConfig`` maps onto RLlib's ``DQNConfig`` (new API stack, ray 2.x)::

    env.game / env.protocol     env_config {"game", "protocol", "training": True, "seed": train.seed}
    env.num_envs                env_runners(num_envs_per_env_runner)
    agent.double / dueling      training(double_q, dueling)
    agent.n_step                training(n_step)
    agent.loss                  training(td_error_loss_fn)  ("huber" | "mse")
    agent.learning_rate         training(lr);  agent.adam_eps: training(adam_epsilon)
    agent.max_grad_norm         training(grad_clip, grad_clip_by="global_norm")  (0: None, RLlib's default is 40)
    agent.gamma                 training(gamma)
    agent.target_update_every   training(target_network_update_freq)  (both in sampled agent steps)
    agent.batch_size            training(train_batch_size_per_learner)
    agent.train_every           env_runners(rollout_fragment_length = train_every / (num_envs * runners)):
                                RLlib's DQN takes one update per sampling round (training_intensity None)
    agent.learning_starts       training(num_steps_sampled_before_learning_starts)
    agent.replay_capacity       replay_buffer_config["capacity"]  (RLlib counts env steps)
    agent.prioritized           "PrioritizedEpisodeReplayBuffer" (alpha = priority_alpha, beta =
                                priority_beta_start) or "EpisodeReplayBuffer"
    agent.epsilon_*             training(epsilon=[(0, start), (decay_steps, end)])  (linear, as ours)
    train.seed                  debugging(seed)
    train.device                learners(num_gpus_per_learner=1) when it resolves to CUDA
    train.torch_threads         torch.set_num_threads in this process (where the local learner runs)
    network                     rl_module(DefaultModelConfig): Nature convolutions 32x8/4, 64x4/2, 64x3/1
                                ("valid" padding, ReLU), then a 512-unit ReLU layer (RLlib's DQN head):
                                the Nature network (1,687,206 parameters for Pong's 6 actions)

What does not map (listed in the summary's ``unmapped``): ``agent.optimizer: rmsprop`` and its settings
(RLlib's DQN learner uses Adam), ``agent.priority_beta_start`` annealing (RLlib keeps beta fixed),
``train.precision`` (RLlib trains in float32), ``train.eval_every`` /
``eval_episodes`` (the protocol's evaluation is ``tenuki atari evaluate``, which reads tenuki checkpoints
only), ``train.checkpoint_every`` maps onto how often RLlib's checkpoint is rewritten.
RLlib's replay stores every observation's whole float32 stack (84*84*4*4 = 112,896 bytes per step, 16x
``FrameReplay``): size ``replay_capacity`` for the RAM you have.

Returns reported per iteration: ``episode_return_mean`` is RLlib's (the sum of the rewards it saw: sign-
clipped, and one "episode" per life under the nature protocol's life-loss terminals);
``game_return_mean`` is the raw game score of whole games (from ``info["episode_return"]``, logged by
a callback over the last 100 games).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray

RLLIB_NORMALIZED_ENV = "tenuki_atari_normalized"
CHECKPOINT_NAME = "rllib_checkpoint"
PROGRESS_FILE = "rllib_progress.jsonl"
CONFIG_FILE = "config.yaml"
NATURE_CONV_FILTERS = [[32, [8, 8], 4, "valid"], [64, [4, 4], 2, "valid"], [64, [3, 3], 1, "valid"]]  # 84->20->9->7


class RLlibRunError(ValueError):
    """An RLlib run that cannot be set up: the message names the setting at fault."""


def _make_normalized_env(env_config):
    from ray.rllib.env.wrappers.atari_wrappers import NormalizedImageEnv

    from tenuki.envs.atari.registration import make_rllib_atari_env

    return NormalizedImageEnv(make_rllib_atari_env(env_config))


def register_rllib_atari_envs() -> list[str]:
    """Register ``tenuki_atari`` (tenuki.envs.atari) and ``tenuki_atari_normalized`` (the same, pixels scaled)."""
    from ray.tune.registry import register_env

    from tenuki.envs.atari.registration import register_rllib_envs

    names = register_rllib_envs()
    register_env(RLLIB_NORMALIZED_ENV, _make_normalized_env)
    return [*names, RLLIB_NORMALIZED_ENV]


def _game_return_callback():
    from ray.rllib.callbacks.callbacks import RLlibCallback

    class GameReturns(RLlibCallback):
        """Logs the raw score of each finished game (not each life) as ``game_return``."""

        def on_episode_end(self, *, episode, metrics_logger=None, **kwargs) -> None:
            info = episode.get_infos(-1)
            if metrics_logger is not None and isinstance(info, dict) and "episode_return" in info:
                metrics_logger.log_value("game_return", float(info["episode_return"]), reduce="mean", window=100)
                metrics_logger.log_value("games", 1, reduce="sum")

    return GameReturns


def build_rllib_config(config: Any, *, env_runners: int = 0, steps_per_iteration: int = 1000,
                       normalize_observations: bool = True) -> tuple[Any, list[str]]:
    """RLlib's ``DQNConfig`` for ``config`` (a tenuki ``DQNConfig``) and the list of settings that do not map."""
    import torch
    from ray.rllib.algorithms.dqn import DQNConfig as RLlibDQNConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    from tenuki.agents.dqn.agent import resolve_device

    agent, train, env = config.agent, config.train, config.env
    unmapped: list[str] = []
    if agent.optimizer != "adam":
        unmapped.append(f"agent.optimizer: {agent.optimizer} (RLlib's DQN uses Adam; lr and adam_eps are used)")
    if agent.prioritized and agent.priority_beta_start < 1.0:
        unmapped.append("agent.priority_beta_start: RLlib keeps beta fixed (no annealing to 1)")
    if train.precision != "float32":
        unmapped.append(f"train.precision: {train.precision} (RLlib trains in float32)")
    if train.eval_every:
        unmapped.append("train.eval_every / eval_episodes (use tenuki atari evaluate)")
    runners = max(env_runners, 1)
    fragment = agent.train_every / (env.num_envs * runners)
    rollout_fragment_length = max(1, round(fragment))
    if rollout_fragment_length * env.num_envs * runners != agent.train_every:
        unmapped.append(
            f"agent.train_every: {agent.train_every} steps per update is not a multiple of num_envs x runners "
            f"({env.num_envs} x {runners}); RLlib updates every {rollout_fragment_length * env.num_envs * runners}")
    replay = {"type": "PrioritizedEpisodeReplayBuffer", "capacity": agent.replay_capacity,
              "alpha": agent.priority_alpha, "beta": agent.priority_beta_start} if agent.prioritized else \
        {"type": "EpisodeReplayBuffer", "capacity": agent.replay_capacity}
    env_name = RLLIB_NORMALIZED_ENV if normalize_observations else "tenuki_atari"
    rllib = (
        RLlibDQNConfig()
        .environment(env_name, env_config={"game": env.game, "protocol": env.protocol, "training": True,
                                           "seed": train.seed})
        .env_runners(num_env_runners=env_runners, num_envs_per_env_runner=env.num_envs,
                     rollout_fragment_length=rollout_fragment_length)
        .training(
            lr=agent.learning_rate, gamma=agent.gamma, n_step=agent.n_step, double_q=agent.double,
            dueling=agent.dueling, td_error_loss_fn=agent.loss, adam_epsilon=agent.adam_eps,
            grad_clip=agent.max_grad_norm if agent.max_grad_norm > 0 else None, grad_clip_by="global_norm",
            train_batch_size_per_learner=agent.batch_size,
            target_network_update_freq=agent.target_update_every,
            num_steps_sampled_before_learning_starts=agent.learning_starts,
            replay_buffer_config=replay,
            epsilon=[(0, agent.epsilon_start), (max(agent.epsilon_decay_steps, 1), agent.epsilon_end)],
        )
        .rl_module(model_config=DefaultModelConfig(conv_filters=NATURE_CONV_FILTERS, conv_activation="relu",
                                                   head_fcnet_hiddens=[512], head_fcnet_activation="relu"))
        .reporting(min_sample_timesteps_per_iteration=steps_per_iteration, min_time_s_per_iteration=0)
        .callbacks(_game_return_callback())
        .debugging(seed=train.seed)
    )
    if resolve_device(train.device).type == "cuda" and torch.cuda.is_available():
        rllib = rllib.learners(num_gpus_per_learner=1)
    return rllib, unmapped


def _pick(result: dict[str, Any], *path: str) -> Any:
    value: Any = result
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _save_checkpoint(algo: Any, run_dir: Path) -> Path:
    """RLlib writes a checkpoint folder file by file: write a fresh one beside, then swap it in."""
    final = run_dir / CHECKPOINT_NAME
    fresh = run_dir / f".{CHECKPOINT_NAME}.new"
    old = run_dir / f".{CHECKPOINT_NAME}.old"
    shutil.rmtree(fresh, ignore_errors=True)
    algo.save_to_path(str(fresh))
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    fresh.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def run_rllib(config: Any, run_dir: str | Path, *, iterations: int | None = None, address: str | None = None,
              log: Callable[[str], None] = print, env_runners: int = 0, steps_per_iteration: int = 1000,
              normalize_observations: bool = True, resume: bool | None = None) -> dict[str, Any]:
    """Train RLlib's DQN on ``config`` (a tenuki ``DQNConfig``); returns a JSON-ready summary.

    ``iterations``: RLlib training iterations of at least ``steps_per_iteration`` sampled agent steps each
    (default: until ``train.total_steps`` steps). ``address``: a Ray cluster to join (default: the Ray
    already initialised here, else a local instance, shut down at the end). ``env_runners``: RLlib's
    ``num_env_runners`` (0: sample in this process). ``resume``: None restores ``RUN_DIR/rllib_checkpoint``
    when there is one (RLlib does not store its replay in checkpoints: it refills from empty).

    Summary: ``iterations``, ``env_steps``, ``updates``, ``episode_return_means`` (one per iteration, None
    before the first finished episode), ``game_return_means``, ``episode_return_mean`` /
    ``game_return_mean`` (the last), ``steps_per_s``, ``checkpoint``, ``unmapped``, ``rllib_version``.
    """
    from tenuki.agents.dqn.config import DQNConfig, dump_config
    from tenuki.selfplay.cluster import connect
    from tenuki.selfplay.config import ClusterConfig

    if not isinstance(config, DQNConfig):
        raise TypeError(f"config must be a DQNConfig, got {type(config).__name__}")
    if iterations is not None and iterations < 1:
        raise RLlibRunError(f"iterations must be >= 1, got {iterations}")
    if steps_per_iteration < 1:
        raise RLlibRunError(f"steps_per_iteration must be >= 1, got {steps_per_iteration}")
    run_dir = Path(run_dir)
    checkpoint_path = run_dir / CHECKPOINT_NAME
    restoring = checkpoint_path.exists() if resume is None else resume
    if restoring and not checkpoint_path.exists():
        raise RLlibRunError(f"{run_dir} holds no RLlib checkpoint to resume ({CHECKPOINT_NAME})")
    run_dir.mkdir(parents=True, exist_ok=True)
    if not restoring:
        (run_dir / CONFIG_FILE).write_text(dump_config(config))
    import torch

    started_ray = not ray.is_initialized()
    connect(ClusterConfig(), address=address)
    threads = torch.get_num_threads()
    torch.set_num_threads(config.train.torch_threads)  # the local learner (num_learners=0) runs here
    algo = None
    try:
        register_rllib_atari_envs()
        rllib_config, unmapped = build_rllib_config(config, env_runners=env_runners,
                                                    steps_per_iteration=steps_per_iteration,
                                                    normalize_observations=normalize_observations)
        for item in unmapped:
            log(f"rllib: not mapped: {item}")
        algo = rllib_config.build_algo()
        if restoring:
            algo.restore_from_path(str(checkpoint_path))
            log(f"rllib: restored {checkpoint_path}")
        total_steps = config.train.total_steps
        limit = iterations if iterations is not None else math.ceil(total_steps / steps_per_iteration)
        every = config.train.checkpoint_every
        returns: list[float | None] = []
        game_returns: list[float | None] = []
        env_steps = 0
        session_steps = 0
        started = time.monotonic()
        last_checkpoint_steps = 0
        result: dict[str, Any] = {}
        for iteration in range(limit):
            result = algo.train()
            env_steps = int(_number(_pick(result, "env_runners", "num_env_steps_sampled_lifetime")) or 0)
            session_steps += int(_number(_pick(result, "env_runners", "num_env_steps_sampled")) or 0)
            episode_mean = _number(_pick(result, "env_runners", "episode_return_mean"))
            game_mean = _number(_pick(result, "env_runners", "game_return"))
            returns.append(episode_mean)
            game_returns.append(game_mean)
            record = {"iteration": int(result.get("training_iteration", iteration + 1)), "env_steps": env_steps,
                      "episode_return_mean": episode_mean, "game_return_mean": game_mean,
                      "loss": _number(_pick(result, "learners", "default_policy", "total_loss")),
                      "q_mean": _number(_pick(result, "learners", "default_policy", "qf_mean")),
                      "time_s": time.monotonic() - started}
            with (run_dir / PROGRESS_FILE).open("a") as stream:
                stream.write(json.dumps(record) + "\n")
            log(f"rllib: iteration {record['iteration']}: {env_steps:,} steps, episode return "
                f"{'-' if episode_mean is None else f'{episode_mean:.2f}'}, game return "
                f"{'-' if game_mean is None else f'{game_mean:.1f}'}")
            if every > 0 and env_steps - last_checkpoint_steps >= every:
                _save_checkpoint(algo, run_dir)
                last_checkpoint_steps = env_steps
            if iterations is None and env_steps >= total_steps:
                break
        seconds = time.monotonic() - started
        checkpoint = _save_checkpoint(algo, run_dir)
        trained = _number(_pick(result, "learners", "default_policy", "num_module_steps_trained_lifetime")) or 0.0
        return {
            "backend": "rllib", "iterations": len(returns), "env_steps": env_steps,
            "updates": int(trained // config.agent.batch_size),
            "episode_return_means": returns, "game_return_means": game_returns,
            "episode_return_mean": returns[-1] if returns else None,
            "game_return_mean": game_returns[-1] if game_returns else None,
            "session_steps": session_steps, "steps_per_s": session_steps / seconds if seconds > 0 else None,
            "seconds": seconds, "checkpoint": str(checkpoint), "run_dir": str(run_dir), "unmapped": unmapped,
            "env": RLLIB_NORMALIZED_ENV if normalize_observations else "tenuki_atari",
            "game": config.env.game, "protocol": config.env.protocol, "rllib_version": ray.__version__,
        }
    finally:
        if algo is not None:
            algo.stop()
        torch.set_num_threads(threads)
        if started_ray:
            ray.shutdown()
