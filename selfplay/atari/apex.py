"""Ape-X-style DQN on Ray (Horgan et al. 2018, "Distributed Prioritized Experience Replay").

``K`` actor processes (``ApexActor``, a Ray actor each, in ``tenuki.selfplay.atari.apex_actors``) step their own ``AtariVecEnv`` of ``E``
environments with a CPU copy of the Q-network and send chunks of experience to ONE learner in the driver
process, which owns the replay (``tenuki.agents.dqn.replay.FrameReplay``) and the ``DQNAgent``::

    ApexActor x K --chunk (frames once each, actions, rewards, terminals, episode ends)--> driver
    driver: FrameReplay.add (env ids i*E .. i*E+E-1 for actor i) -> sample -> DQNAgent.update
    driver --ray.put(weights) once per version--> actors fetch it at their next chunk when it is new
    driver --every train.checkpoint_every steps--> RUN_DIR/checkpoints + RUN_DIR/apex_state.json

Exploration (Ape-X, section 4.1): actor ``i`` of ``K`` acts epsilon-greedily with the fixed
``eps_i = 0.4 ** (1 + 7 * i / (K - 1))`` (``K = 1``: 0.4) on all its environments; the config's epsilon
schedule (``agent.epsilon_*``) is not used by this backend.

Where this differs from the paper (on purpose, for a 2-core machine and comparable curves):

- replay ratio: by default (``throttle=True``) the learner takes one update per ``agent.train_every``
  agent steps after ``agent.learning_starts``, as the native trainer, and actors wait while the learner
  is more than one round of chunks behind; the paper's learner and actors run free of each other
  (``throttle=False``: the learner updates as fast as it can, actors never wait);
- priorities of new transitions: the replay gives them the largest priority seen so far (Schaul et al.
  2016) instead of the paper's actor-computed n-step TD errors;
- the replay lives in the learner's process (the paper has a separate replay server).

Run directory (``run_dir``)::

    config.yaml                         the run's config (written on a fresh start)
    apex_state.json                     commit record: counters and the checkpoint files below
    checkpoints/agent-<steps>.safetensors + .json   tenuki.agents.dqn.checkpoint.save_agent (training state)
    checkpoints/replay-<steps>.npz      FrameReplay.save
    apex_progress.jsonl                 one line of counters per progress report
    tensorboard/                        scalars apex/*

A checkpoint is committed by replacing ``apex_state.json`` (atomically) after its two files are written,
so a run killed at any point resumes from its last committed checkpoint (``resume``): counters, weights,
optimizer and replay come back; actors are new processes and start new episodes (the replay cuts the
episodes left open like a time limit, i.e. it bootstraps from their last frame). The online network of
``checkpoints/agent-*.safetensors`` is what ``tenuki atari evaluate --checkpoint`` loads.

Fault tolerance: actors are created with ``max_restarts=-1``; a chunk lost with its actor is dropped (its
steps were never counted) and the restarted actor starts new episodes.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import ray
from ray.exceptions import RayTaskError

from tenuki.agents.torch_cpu import configure_torch_cpu
from tenuki.selfplay.atari.apex_actors import (
    ACTOR_FAILURES,
    ACTOR_OPTIONS,
    ApexActor,
    ChunkCollector,
    add_chunk,
    evaluate_remote,
)
from tenuki.selfplay.learner import state_dict_to_numpy, write_json_atomic

__all__ = [  # the actor side lives in atari.apex_actors; its names stay importable from here
    "ACTOR_FAILURES",
    "ACTOR_OPTIONS",
    "CHECKPOINT_DIR",
    "CONFIG_FILE",
    "PROGRESS_FILE",
    "RECENT_EPISODES",
    "STATE_FILE",
    "STATE_FORMAT",
    "STATE_FORMAT_VERSION",
    "ApexActor",
    "ApexRun",
    "ApexRunError",
    "ApexState",
    "ChunkCollector",
    "add_chunk",
    "apex_epsilons",
    "run_apex",
]

STATE_FILE = "apex_state.json"
CONFIG_FILE = "config.yaml"
CHECKPOINT_DIR = "checkpoints"
PROGRESS_FILE = "apex_progress.jsonl"
STATE_FORMAT = "tenuki-apex-state"
STATE_FORMAT_VERSION = 1
RECENT_EPISODES = 100  # mean_return is over this many most recent episodes


class ApexRunError(ValueError):
    """An Ape-X run that cannot start or resume: the message names the setting or file at fault."""


def apex_epsilons(actors: int, base: float = 0.4, alpha: float = 7.0) -> list[float]:
    """Ape-X's per-actor exploration rates ``base ** (1 + alpha * i / (K - 1))`` (Horgan et al. 2018,
    section 4.1); one actor gets ``base``."""
    if actors < 1:
        raise ApexRunError(f"actors must be >= 1, got {actors}")
    if actors == 1:
        return [base]
    return [base ** (1.0 + alpha * i / (actors - 1)) for i in range(actors)]


# ---------------------------------------------------------------------------------------- state


@dataclass
class ApexState:
    """Counters of a run, saved in ``apex_state.json`` with each committed checkpoint."""

    steps: int = 0  # agent steps added to the replay (all actors, all environments)
    updates: int = 0
    episodes: int = 0
    weight_version: int = 0  # newest version published to the actors
    sessions: int = 0
    elapsed_s: float = 0.0
    actors: int = 0
    envs_per_actor: int = 0
    steps_per_actor: list[int] = field(default_factory=list)
    recent_returns: list[float] = field(default_factory=list)
    evaluations: list[dict[str, Any]] = field(default_factory=list)  # {"steps", "mean", "median", "episodes"}
    agent_checkpoint: str = ""  # relative to the run dir
    replay_file: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "format_version": STATE_FORMAT_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def load(cls, path: Path) -> ApexState:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise ApexRunError(f"cannot read Ape-X run state {path}: {error}") from error
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise ApexRunError(f"{path} is not an Ape-X run state (format {STATE_FORMAT!r})")
        if data.get("format_version") != STATE_FORMAT_VERSION:
            raise ApexRunError(f"{path} has format_version {data.get('format_version')!r}; "
                               f"this tenuki reads {STATE_FORMAT_VERSION}")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


# ----------------------------------------------------------------------------------------- run


class ApexRun:
    """One Ape-X run in ``run_dir`` on the connected Ray cluster (``run_apex`` is the entry point)."""

    def __init__(self, config: Any, run_dir: str | Path, *, actors: int, envs_per_actor: int,
                 chunk_steps: int, broadcast_every: int, throttle: bool, resume: bool | None,
                 log: Callable[[str], None], tensorboard: bool):
        from tenuki.agents.dqn.agent import DQNAgent
        from tenuki.agents.dqn.config import dump_config
        from tenuki.agents.dqn.replay import FrameReplay

        self.config = config
        self.run_dir = Path(run_dir)
        self.actor_count = actors
        self.envs_per_actor = envs_per_actor
        self.chunk_steps = chunk_steps
        self.broadcast_every = broadcast_every
        self.throttle = throttle
        self.log = log
        self.epsilons = apex_epsilons(actors)
        state_path = self.run_dir / STATE_FILE
        self.resumed = state_path.exists() if resume is None else resume
        if self.resumed and not state_path.exists():
            raise ApexRunError(f"{self.run_dir} holds no Ape-X run to resume (no {STATE_FILE})")
        if not self.resumed and state_path.exists():
            raise ApexRunError(f"{self.run_dir} already holds an Ape-X run: resume it, or choose another run dir")
        self.state = ApexState.load(state_path) if self.resumed else ApexState(actors=actors,
                                                                                envs_per_actor=envs_per_actor)
        if self.resumed and (self.state.actors, self.state.envs_per_actor) != (actors, envs_per_actor):
            raise ApexRunError(
                f"{self.run_dir} was started with {self.state.actors} actors x {self.state.envs_per_actor} "
                f"environments; resume it with the same (got {actors} x {envs_per_actor}): the replay keeps "
                f"one ring per environment")
        if not self.resumed:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / CONFIG_FILE).write_text(dump_config(config))
            self.state.steps_per_actor = [0] * actors
        self.state.sessions += 1

        from tenuki.envs.atari.games import canonical_game_name
        from tenuki.envs.atari.protocols import get_protocol

        self.protocol = get_protocol(config.env.protocol)
        self.game = canonical_game_name(config.env.game)  # an unknown game fails here, not in K actors
        agent = config.agent
        # one ring per actor environment; checked against free RAM before any actor starts
        self.replay = FrameReplay(agent.replay_capacity, actors * envs_per_actor, n_step=agent.n_step,
                                  gamma=agent.gamma, prioritized=agent.prioritized, alpha=agent.priority_alpha,
                                  seed=config.train.seed)
        self.metrics = None
        self.cpus_per_actor = self._cpus_per_actor()
        self.actors: list = []
        try:
            self.actors = [self._make_actor(i) for i in range(actors)]
            self.num_actions = int(ray.get(self.actors[0].info.remote())["num_actions"])
            self.agent = DQNAgent(self.num_actions, config)
            if self.resumed:
                self._restore()
            if tensorboard:
                from tenuki.selfplay.metrics import MetricsWriter

                self.metrics = MetricsWriter(self.run_dir, tensorboard=True)
        except BaseException:
            self.close()
            raise
        self.recent = collections.deque(self.state.recent_returns, maxlen=RECENT_EPISODES)
        self.actor_versions = [-1] * actors
        self.chunks_per_actor = [0] * actors
        self.actor_failures = 0
        self.last_loss = math.nan
        self.last_q = math.nan
        self.weights_ref: ray.ObjectRef | None = None
        self.inflight: dict[ray.ObjectRef, tuple[int, int]] = {}  # ref -> (actor, steps)
        self.restart_next = [False] * actors
        self.eval_task: tuple[ray.ObjectRef, int] | None = None
        self._publish(self.state.weight_version)

    # -- setup ------------------------------------------------------------------------------------------

    def _cpus_per_actor(self) -> float:
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        return max(0.01, min(1.0, math.floor(100 * cpus / self.actor_count) / 100))

    def _seed(self, index: int) -> int:
        # a different stream for each actor and each session of the run (a resumed run plays new episodes)
        limit = 2**31 - 1 - self.envs_per_actor
        return (self.config.train.seed * 1_000_003 + self.state.sessions * 10_007 + index * 1_009) % limit

    def _make_actor(self, index: int):
        return ApexActor.options(num_cpus=self.cpus_per_actor).remote(
            self.config, index, self.envs_per_actor, self.epsilons[index], self._seed(index),
            torch_threads=1, env_threads=max(1, min(self.envs_per_actor, int(self.cpus_per_actor))))

    def _restore(self) -> None:
        from tenuki.agents.dqn.checkpoint import load_agent

        state = self.state
        agent_path = self.run_dir / state.agent_checkpoint
        replay_path = self.run_dir / state.replay_file
        if not state.agent_checkpoint or not state.replay_file:
            raise ApexRunError(f"{self.run_dir / STATE_FILE} names no checkpoint")
        load_agent(agent_path, self.agent, game=self.game, protocol=self.protocol.name)
        self.replay.load(replay_path)
        self.log(f"apex: resumed {self.run_dir} at {state.steps:,} steps, {state.updates:,} updates, "
                 f"weight version {state.weight_version} (session {state.sessions})")

    # -- weights and checkpoints ------------------------------------------------------------------------

    def _publish(self, version: int) -> None:
        """One ``ray.put`` per version (the driver owns it); actors fetch it with their next chunk."""
        self.state.weight_version = version
        self.weights_ref = ray.put(state_dict_to_numpy(self.agent.online))
        self.published_at_update = self.agent.updates

    def checkpoint(self) -> Path:
        """Write agent + replay under step-named files, then commit them in ``apex_state.json``."""
        from tenuki.agents.dqn.checkpoint import save_agent

        state = self.state
        state.updates = self.agent.updates
        state.recent_returns = list(self.recent)
        name = f"{state.steps:012d}-{self.agent.updates:09d}"  # never rewrites a committed checkpoint
        folder = self.run_dir / CHECKPOINT_DIR
        folder.mkdir(parents=True, exist_ok=True)
        agent_path = save_agent(folder / f"agent-{name}", self.agent, game=self.game,
                                protocol=self.protocol.to_dict(), step=state.steps, config=self.config)
        replay_path = self.replay.save(folder / f"replay-{name}.npz")
        previous = {state.agent_checkpoint, state.replay_file}
        state.agent_checkpoint = str(agent_path.relative_to(self.run_dir)).removesuffix(".safetensors")
        state.replay_file = str(replay_path.relative_to(self.run_dir))
        write_json_atomic(self.run_dir / STATE_FILE, state.to_json())
        keep = {state.agent_checkpoint, state.replay_file}
        for old in previous - keep - {""}:  # files of the previous commit, no longer referenced
            for path in (self.run_dir / old, self.run_dir / (old + ".safetensors"), self.run_dir / (old + ".json")):
                if path.is_file():
                    path.unlink()
        return agent_path

    # -- data -------------------------------------------------------------------------------------------

    def _ingest(self, chunk: dict[str, Any]) -> int:
        """Add a chunk to the replay under the actor's env ids; returns the agent steps added."""
        index = int(chunk["actor"])
        envs = self.envs_per_actor
        added = add_chunk(self.replay, chunk, np.arange(index * envs, (index + 1) * envs, dtype=np.int64))
        self.state.steps += added
        self.state.steps_per_actor[index] += added
        self.state.episodes += int(chunk["episode_returns"].size)
        self.recent.extend(chunk["episode_returns"].tolist())
        self.actor_versions[index] = int(chunk["version"])
        self.chunks_per_actor[index] += 1
        return added

    def _submit(self, index: int, max_steps: int) -> bool:
        """Give actor ``index`` its next chunk unless the step budget or the replay ratio says wait."""
        inflight_steps = sum(steps for _, steps in self.inflight.values())
        remaining = max_steps - self.state.steps - inflight_steps
        if remaining <= 0:
            return False
        agent = self.config.agent
        if self.throttle and self._updates_due() > 0:  # the learner is behind and can catch up: wait for it
            lead = self.actor_count * self.envs_per_actor * self.chunk_steps  # one round of chunks
            allowed = agent.learning_starts + self.agent.updates * agent.train_every
            if self.state.steps + inflight_steps >= allowed + lead:
                return False
        steps = max(1, min(self.chunk_steps, math.ceil(remaining / self.envs_per_actor)))
        ref = self.actors[index].collect.remote(steps, self.state.weight_version, [self.weights_ref],
                                                self.restart_next[index])
        self.restart_next[index] = False
        self.inflight[ref] = (index, steps * self.envs_per_actor)
        return True

    def _updates_due(self) -> int:
        agent = self.config.agent
        steps = self.state.steps
        if steps < agent.learning_starts or len(self.replay) < agent.batch_size:
            return 0
        if not self.throttle:
            return 1
        return (steps - agent.learning_starts) // agent.train_every + 1 - self.agent.updates

    def _learn(self, budget: int) -> int:
        from tenuki.agents.dqn.agent import priority_beta_at

        done = 0
        config = self.config
        while done < budget and self._updates_due() > 0:
            sample = self.replay.sample(config.agent.batch_size, priority_beta_at(self.state.steps, config))
            out = self.agent.update(sample)
            if config.agent.prioritized:
                self.replay.update_priorities(sample.indices, out["priorities"])
            self.last_loss, self.last_q = out["loss"], out["q_mean"]
            done += 1
            if self.agent.updates - self.published_at_update >= self.broadcast_every:
                self._publish(self.state.weight_version + 1)
        self.state.updates = self.agent.updates
        return done

    # -- evaluation -------------------------------------------------------------------------------------

    def _maybe_evaluate(self, next_eval: int) -> int:
        train = self.config.train
        if self.eval_task is not None:
            ref, steps = self.eval_task
            ready, _ = ray.wait([ref], timeout=0)
            if ready:
                self.eval_task = None
                try:
                    result = ray.get(ref)
                except (RayTaskError, *ACTOR_FAILURES) as error:
                    self.log(f"apex: evaluation at {steps:,} steps failed: {error}")
                else:
                    record = {"steps": steps, "mean": result.get("mean"), "median": result.get("median"),
                              "episodes": result.get("episodes")}
                    self.state.evaluations.append(record)
                    self.log(f"apex: evaluation at {steps:,} steps: mean {record['mean']} over "
                             f"{record['episodes']} episodes ({self.protocol.name} protocol)")
                    if self.metrics is not None and record["mean"] is not None:
                        self.metrics.scalar("apex/eval_mean", float(record["mean"]), steps)
        if train.eval_every <= 0 or self.state.steps < next_eval or self.eval_task is not None:
            return next_eval
        kwargs = self.agent.online.init_kwargs()
        ref = evaluate_remote.remote(self.weights_ref, kwargs, self.game, self.protocol.name,
                                      train.eval_episodes, train.seed + self.state.steps)
        self.eval_task = (ref, self.state.steps)
        return next_eval + train.eval_every

    # -- loop -------------------------------------------------------------------------------------------

    def progress(self, session_steps: int, session_updates: int, seconds: float) -> dict[str, Any]:
        seconds = max(seconds, 1e-9)
        return {
            "steps": self.state.steps, "updates": self.agent.updates, "episodes": self.state.episodes,
            "mean_return": _mean(list(self.recent)), "steps_per_s": session_steps / seconds,
            "updates_per_s": session_updates / seconds, "weight_version": self.state.weight_version,
            "replay_size": len(self.replay), "loss": _finite_or_none(self.last_loss),
            "q_mean": _finite_or_none(self.last_q), "actor_versions": list(self.actor_versions),
            "steps_per_actor": list(self.state.steps_per_actor), "elapsed_s": self.state.elapsed_s + seconds,
        }

    def _report(self, record: dict[str, Any]) -> None:
        with (self.run_dir / PROGRESS_FILE).open("a") as stream:
            stream.write(json.dumps(record) + "\n")
        if self.metrics is not None:
            step = record["steps"]
            for key in ("steps_per_s", "updates_per_s", "mean_return", "loss", "q_mean", "replay_size"):
                if record.get(key) is not None:
                    self.metrics.scalar(f"apex/{key}", float(record[key]), step)

    def run(self, max_steps: int, progress: bool, report_every_s: float,
            should_stop: Callable[[dict[str, Any]], bool] | None) -> dict[str, Any]:
        train = self.config.train
        started = time.monotonic()
        start_steps, start_updates = self.state.steps, self.agent.updates
        next_checkpoint = (self.state.steps // train.checkpoint_every + 1) * train.checkpoint_every \
            if train.checkpoint_every > 0 else math.inf
        next_eval = (self.state.steps // train.eval_every + 1) * train.eval_every if train.eval_every > 0 else 0
        last_report = started
        stopped = "max_steps"
        idle = list(range(self.actor_count))
        self.log(f"apex: {self.actor_count} actors x {self.envs_per_actor} {self.game} environments "
                 f"({self.protocol.name} protocol), epsilons {', '.join(f'{e:.4f}' for e in self.epsilons)}, "
                 f"{self.cpus_per_actor:g} CPU each; learner on {self.agent.device}")
        try:
            while True:
                for index in list(idle):
                    if self._submit(index, max_steps):
                        idle.remove(index)
                due = self._updates_due()
                if not self.inflight and self.state.steps >= max_steps and (due <= 0 or not self.throttle):
                    break
                if self.inflight:
                    ready, _ = ray.wait(list(self.inflight), num_returns=1, timeout=0 if due > 0 else 1.0)
                else:
                    ready = []
                for ref in ready:
                    index, _ = self.inflight.pop(ref)
                    idle.append(index)
                    try:
                        self._ingest(ray.get(ref))
                    except (RayTaskError, *ACTOR_FAILURES) as error:
                        self.actor_failures += 1
                        self.restart_next[index] = True
                        self.log(f"apex: actor {index} lost a chunk ({type(error).__name__}); its episodes restart")
                self._learn(budget=8)
                if self.state.steps >= next_checkpoint:
                    self._commit(started)
                    next_checkpoint = (self.state.steps // train.checkpoint_every + 1) * train.checkpoint_every
                next_eval = self._maybe_evaluate(next_eval)
                now = time.monotonic()
                if now - last_report >= report_every_s:
                    record = self.progress(self.state.steps - start_steps, self.agent.updates - start_updates,
                                           now - started)
                    self._report(record)
                    if progress:
                        self._log_progress(record)
                    last_report = now
                    if should_stop is not None and should_stop(record):
                        stopped = "stop condition"
                        break
        except KeyboardInterrupt:
            stopped = "interrupted"
            self.log("apex: interrupted: writing a checkpoint")
        seconds = time.monotonic() - started
        self._commit(started)
        if self.eval_task is not None:
            ray.cancel(self.eval_task[0], force=True)
        summary = self.progress(self.state.steps - start_steps, self.agent.updates - start_updates, seconds)
        self._report(summary)
        summary.update({
            "stopped": stopped, "session_steps": self.state.steps - start_steps,
            "session_updates": self.agent.updates - start_updates, "session_s": seconds,
            "actors": self.actor_count, "envs_per_actor": self.envs_per_actor, "epsilons": list(self.epsilons),
            "chunks_per_actor": list(self.chunks_per_actor), "actor_failures": self.actor_failures,
            "resumed": self.resumed, "sessions": self.state.sessions, "run_dir": str(self.run_dir),
            "checkpoint": str(self.run_dir / self.state.agent_checkpoint) + ".safetensors",
            "game": self.game, "protocol": self.protocol.to_dict(), "evaluations": list(self.state.evaluations),
        })
        if progress:
            self._log_progress(summary)
        return summary

    def _commit(self, started: float) -> None:
        elapsed_before = self.state.elapsed_s
        self.state.elapsed_s = elapsed_before + (time.monotonic() - started)
        self.checkpoint()
        self.state.elapsed_s = elapsed_before  # the session's time is added once, at the end

    def _log_progress(self, record: dict[str, Any]) -> None:
        mean_return = record["mean_return"]
        self.log(f"apex: {record['steps']:,} steps ({record['steps_per_s']:.0f}/s) "
                 f"{record['updates']:,} updates ({record['updates_per_s']:.1f}/s) "
                 f"{record['episodes']} episodes, return "
                 f"{'-' if mean_return is None else f'{mean_return:.1f}'}, weights v{record['weight_version']} "
                 f"(actors at {record['actor_versions']})")

    def close(self) -> None:
        for actor in self.actors:
            with contextlib.suppress(Exception):  # already gone
                ray.kill(actor, no_restart=True)
        if self.metrics is not None:
            self.metrics.close()


def run_apex(config: Any, run_dir: str | Path, *, actors: int | None = None, max_steps: int | None = None,
             address: str | None = None, progress: bool = True, log: Callable[[str], None] = print,
             envs_per_actor: int | None = None, chunk_steps: int = 50, broadcast_every: int = 100,
             throttle: bool = True, resume: bool | None = None, report_every_s: float = 10.0,
             tensorboard: bool = True,
             should_stop: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """Train ``config`` (a ``DQNConfig``) Ape-X style; returns a summary (JSON-ready dict).

    ``actors``: actor processes (default: the cluster's CPUs, at least 1). ``envs_per_actor``: default
    ``config.env.num_envs``. ``max_steps``: total agent steps of the run, over all its sessions (default
    ``config.train.total_steps``). ``address``: a Ray cluster to join (``auto`` or ``HOST:PORT``; default:
    the Ray already initialised in this process, else a local instance started here and shut down at the
    end). ``chunk_steps``: agent steps per environment in one chunk (Ape-X: 50). ``broadcast_every``:
    updates between weight versions. ``throttle``: see the module docstring. ``resume``: None resumes when
    ``run_dir`` holds a run and starts one otherwise; True requires one; False refuses one.
    ``should_stop(progress)``: called at each progress report; True stops the run (with a checkpoint).

    Summary keys: ``steps``, ``updates``, ``episodes``, ``mean_return`` (last 100 episodes, raw score;
    None before the first), ``steps_per_s`` and ``updates_per_s`` (this session), ``weight_version``,
    ``actor_versions`` (the weight version each actor last acted with), ``steps_per_actor``, ``epsilons``,
    ``checkpoint``, ``stopped`` and more.
    """
    import torch

    from tenuki.agents.dqn.config import DQNConfig
    from tenuki.selfplay.cluster import connect
    from tenuki.selfplay.config import ClusterConfig

    if not isinstance(config, DQNConfig):
        raise TypeError(f"config must be a DQNConfig, got {type(config).__name__}")
    for name, value in (("chunk_steps", chunk_steps), ("broadcast_every", broadcast_every)):
        if value < 1:
            raise ApexRunError(f"{name} must be >= 1, got {value}")
    started_ray = not ray.is_initialized()
    cluster = connect(ClusterConfig(), address=address)
    count = actors if actors is not None else max(1, int(cluster["cpus"]))
    if count < 1:
        raise ApexRunError(f"actors must be >= 1, got {count}")
    per_actor = envs_per_actor if envs_per_actor is not None else config.env.num_envs
    if per_actor < 1:
        raise ApexRunError(f"envs_per_actor must be >= 1, got {per_actor}")
    threads = torch.get_num_threads()
    configure_torch_cpu(config.train.torch_threads)
    run = None
    try:
        run = ApexRun(config, run_dir, actors=count, envs_per_actor=per_actor, chunk_steps=chunk_steps,
                      broadcast_every=broadcast_every, throttle=throttle, resume=resume, log=log,
                      tensorboard=tensorboard)
        return run.run(max_steps if max_steps is not None else config.train.total_steps, progress, report_every_s,
                       should_stop)
    finally:
        if run is not None:
            run.close()
        torch.set_num_threads(threads)
        if started_ray:
            ray.shutdown()
