"""The single-process DQN trainer (``tenuki atari train``, backend ``native``).

One loop: the vector env steps, the frames go into the replay (``FrameReplay``: each frame once), the
agent takes one gradient update every ``train_every`` agent steps once ``learning_starts`` steps were
collected. Every ``eval_every`` steps the greedy network plays ``eval_episodes`` episodes under the
protocol's evaluation settings; every ``checkpoint_every`` steps the run is saved.

Run directory::

    config.yaml            the config of the run (``--resume`` reads it back)
    checkpoints/
      state.json           the commit record: step, counters, recent returns, which files below are current
      agent-<step>.*       online + target networks, optimizer, acting RNG (``save_agent``)
      replay-<step>.npz    the replay buffer with its RNG (``FrameReplay.save``)
    best.safetensors/.json the Q-network with the best evaluation mean
    final.safetensors/.json the Q-network at the end of the run
    metrics.jsonl          one line per episode ("kind": "episode") and per evaluation ("kind": "eval")
    tensorboard/           scalars: episode return, loss, Q, epsilon, evaluation scores, speed
    curve.png              the learning curve (episode returns, their moving average, evaluations)

A run can also *continue* another one from its Q-network alone (``continue_from``, ``tenuki atari train
--continue-from``): a network exported from a run (``tenuki atari export``, float16 is enough), committed to
a repository, taken up on another machine. Its sidecar gives the step; the online and target networks start
from it; what the network does not hold starts afresh, and the run says so (a ``"kind": "continued"`` line
in ``metrics.jsonl``): the optimizer's moments, the replay (refilled: updates resume after
``learning_starts`` new steps, played at the schedule's epsilon for that step), the acting RNG. The
metrics and ``best`` network lying beside the network (``metrics.jsonl``, ``best.*``) are copied, so the
curve and the choice of ``best`` go on.

Checkpoints are crash-safe: the agent and the replay are written under new names, then ``state.json``
is replaced atomically and the previous files are deleted; a run killed at any moment resumes from the
last complete checkpoint. On resume the learner, the optimizer, the replay (its sampling RNG included)
and the counters continue exactly; the emulators cannot be saved, so every environment starts a new
episode (the replay ends the interrupted ones as truncations).
"""

from __future__ import annotations

import json
import math
import signal
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tenuki.agents.dqn.agent import DQNAgent, epsilons_at, priority_beta_at
from tenuki.agents.dqn.checkpoint import load_agent, save_agent, save_q_network
from tenuki.agents.dqn.config import DQNConfig, dump_config, load_config
from tenuki.agents.dqn.evaluate import evaluate_policy
from tenuki.agents.dqn.replay import FrameReplay
from tenuki.agents.torch_cpu import configure_torch_cpu
from tenuki.common.atomic import atomic_write
from tenuki.envs.atari.protocols import get_protocol
from tenuki.envs.atari.vector import AtariVecEnv

STATE_FILE = "state.json"
RECENT_EPISODES = 100


class RunDirError(ValueError):
    """A run directory that cannot be resumed (the message says what is wrong and what to do)."""


def load_run_config(run_dir: str | Path) -> DQNConfig:
    """The config stored in a run directory (for ``--resume``)."""
    path = Path(run_dir) / "config.yaml"
    if not path.exists():
        raise RunDirError(f"{run_dir} is not a tenuki atari run directory (no config.yaml)")
    return load_config(path)


class DQNTrainer:
    """A DQN run on its run directory; ``run()`` trains (resuming when the directory holds a checkpoint, or
    continuing the run whose Q-network ``continue_from`` names: see the module docstring)."""

    def __init__(self, config: DQNConfig, run_dir: str | Path, *, log: Callable[[str], None] = print,
                 memory_check: bool = True, continue_from: str | Path | None = None):
        self.config = config.validate()
        self.run_dir = Path(run_dir)
        self.log = log
        tc, ac = config.train, config.agent
        configure_torch_cpu(tc.torch_threads)
        self.protocol = get_protocol(config.env.protocol)
        self.env = AtariVecEnv(config.env.game, config.env.num_envs, self.protocol, training=True, seed=tc.seed)
        self.replay = FrameReplay(ac.replay_capacity, config.env.num_envs, stack=self.protocol.stack,
                                  frame_shape=(self.protocol.frame_size,) * 2, n_step=ac.n_step, gamma=ac.gamma,
                                  prioritized=ac.prioritized, alpha=ac.priority_alpha, seed=tc.seed,
                                  memory_check=memory_check)
        self.agent = DQNAgent(self.env.num_actions, config)
        self.step = 0
        self.episodes = 0
        self.resumes = 0
        self.elapsed_s = 0.0
        self.best_eval = -math.inf
        self.recent: deque[float] = deque(maxlen=RECENT_EPISODES)
        self.files: dict[str, str] = {}
        self.learn_from = ac.learning_starts  # the agent step of the first update
        self.resumed = self._resume()
        self.continued = None
        if continue_from is not None:
            if self.resumed:
                raise RunDirError(f"{self.run_dir} already holds a run: continue it with --resume, not --continue-from")
            self.continued = self._continue(Path(continue_from))

    # ------------------------------------------------------------------------------ run directory

    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    def _resume(self) -> bool:
        state_path = self.checkpoint_dir / STATE_FILE
        if not state_path.exists():
            return False
        try:
            state = json.loads(state_path.read_text())
            files = state["files"]
            agent_file, replay_file = self.checkpoint_dir / files["agent"], self.checkpoint_dir / files["replay"]
            step = int(state["step"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise RunDirError(f"{state_path} is damaged ({error}); move the run directory away to start afresh") from error
        meta = load_agent(agent_file, self.agent, game=self.env.game, protocol=self.protocol.name)
        if meta.step != step:
            raise RunDirError(f"{agent_file} is at step {meta.step}, {state_path} says {step}")
        self.replay.load(replay_file)
        self.step = step
        self.episodes = int(state["episodes"])
        self.resumes = int(state.get("resumes", 0)) + 1
        self.elapsed_s = float(state["elapsed_s"])
        self.best_eval = float(state["best_eval"]) if state.get("best_eval") is not None else -math.inf
        self.recent.extend(float(r) for r in state.get("recent_returns", []))
        self.learn_from = int(state.get("learn_from", self.config.agent.learning_starts))
        self.files = dict(files)
        self._trim_metrics(step)
        return True

    def _trim_metrics(self, step: int) -> None:
        """Drop the metrics logged after the checkpoint being resumed (a kill loses those steps; the run plays
        them again and logs them anew, never twice)."""
        path = self.run_dir / "metrics.jsonl"
        if not path.is_file():
            return
        kept = []
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by the kill
            if not isinstance(record.get("step"), int) or record["step"] <= step:
                kept.append(line)
        atomic_write(path, lambda stream: stream.write("".join(f"{line}\n" for line in kept).encode()))

    def _continue(self, path: Path) -> dict[str, Any]:
        """Start this new run from the Q-network of another run at its step (module docstring)."""
        from tenuki.agents.checkpoint_io import checkpoint_paths
        from tenuki.agents.dqn.checkpoint import load_q_network, resolve_dqn_checkpoint

        network, meta = load_q_network(path)
        where = f"--continue-from {path}"
        if (meta.game, meta.protocol_name) != (self.env.game, self.protocol.name):
            raise RunDirError(f"{where} was trained on {meta.game} under the {meta.protocol_name} protocol, this run "
                              f"is {self.env.game} under {self.protocol.name}")
        if meta.kwargs != self.agent.online.init_kwargs():
            raise RunDirError(f"{where} has another network ({meta.kwargs}) than this config's "
                              f"({self.agent.online.init_kwargs()}): agent.dueling?")
        ac = self.config.agent
        self.agent.online.load_state_dict(network.state_dict())
        self.agent.target.load_state_dict(network.state_dict())
        self.step = meta.step
        self.agent.updates = max(0, meta.step // ac.train_every - ac.learning_starts // ac.train_every)
        self.learn_from = meta.step + min(ac.learning_starts, ac.replay_capacity)
        folder = checkpoint_paths(resolve_dqn_checkpoint(path))[0].parent  # a shipped name: its folder
        # Everything read and checked before anything is written: a refused source leaves no file behind.
        source, lines, returns, hours = folder / "metrics.jsonl", [], [], 0.0
        if source.is_file():
            for number, line in enumerate(source.read_text().splitlines(), 1):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a kill
                if not isinstance(record, dict) or not isinstance(record.get("step", 0), int):
                    raise RunDirError(f"{source}:{number} is not a metrics record with an integer step")
                if record.get("step", 0) > meta.step:
                    continue
                if record.get("kind") == "episode":
                    value = record.get("return")
                    if isinstance(value, bool) or not isinstance(value, (int, float)):
                        raise RunDirError(f"{source}:{number}: an episode without a numeric return ({value!r})")
                    spent = record.get("hours", 0.0)
                    if isinstance(spent, bool) or not isinstance(spent, (int, float)):
                        raise RunDirError(f"{source}:{number}: an episode with a non-numeric hours ({spent!r})")
                    returns.append(float(value))
                    hours = max(hours, float(spent))
                lines.append(line)
        best, best_net, best_meta = folder / "best.safetensors", None, None
        if best.is_file() and (folder / "best.json").is_file():
            best_net, best_meta = load_q_network(best)
            if (best_meta.game, best_meta.protocol_name) != (meta.game, meta.protocol_name) or best_meta.step > meta.step:
                raise RunDirError(f"{best} is not a best network of the run {path} continues ({best_meta.game}, "
                                  f"{best_meta.protocol_name}, step {best_meta.step})")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "metrics.jsonl").write_text("".join(f"{line}\n" for line in lines))  # never an old file's
        copied = self.episodes = len(returns)
        self.recent.extend(returns)
        self.elapsed_s = 3600 * hours
        mean = best_meta.config.get("eval_mean") if best_meta is not None else None
        if isinstance(mean, (int, float)):
            self.best_eval = float(mean)
            save_q_network(self.run_dir / "best", best_net, game=best_meta.game, protocol=best_meta.protocol,
                           step=best_meta.step, config=best_meta.config)
        record = {"kind": "continued", "step": meta.step, "from": str(path), "episodes_copied": copied,
                  "fresh": ["optimizer moments", "replay (refilled)", "acting RNG"], "learn_from": self.learn_from,
                  "hours": round(self.elapsed_s / 3600, 4)}
        _append_jsonl(self.run_dir / "metrics.jsonl", record)
        (self.run_dir / "config.yaml").write_text(dump_config(self.config))
        self.save()  # a checkpoint at once: a kill before the first periodic one resumes here, not at step 0
        self.log(f"continuing from {path} at step {meta.step:,}: the network only (optimizer and replay afresh; "
                 f"updates from step {self.learn_from:,}); {copied} episodes of its metrics copied")
        return record

    def save(self) -> None:
        """Write the agent and the replay under new names, commit ``state.json``, delete the old files."""
        folder = self.checkpoint_dir
        folder.mkdir(parents=True, exist_ok=True)
        agent_name, replay_name = f"agent-{self.step:010d}", f"replay-{self.step:010d}.npz"
        save_agent(folder / agent_name, self.agent, game=self.env.game, protocol=self.protocol, step=self.step,
                   config=self.config)
        self.replay.save(folder / replay_name)
        state = {"step": self.step, "episodes": self.episodes, "resumes": self.resumes,
                 "elapsed_s": round(self.elapsed_s, 1), "updates": self.agent.updates,
                 "best_eval": None if math.isinf(self.best_eval) else self.best_eval,
                 "recent_returns": list(self.recent), "learn_from": self.learn_from,
                 "files": {"agent": agent_name, "replay": replay_name}}
        atomic_write(folder / STATE_FILE, lambda stream: stream.write(json.dumps(state, indent=1).encode()))
        old, self.files = self.files, state["files"]
        for key, name in old.items():
            if name != self.files.get(key):
                for path in folder.glob(f"{name}*"):
                    path.unlink(missing_ok=True)

    # ----------------------------------------------------------------------------------- training

    def run(self, *, max_steps: int | None = None, max_hours: float | None = None, progress: bool = True) -> dict[str, Any]:
        """Train until ``train.total_steps`` (or until the run reaches ``max_steps``, or ``max_hours`` of this call,
        or SIGINT / SIGTERM: the run is checkpointed and can be resumed); returns a summary."""
        from torch.utils.tensorboard import SummaryWriter

        config, tc, ac = self.config, self.config.train, self.config.agent
        run = self.run_dir
        run.mkdir(parents=True, exist_ok=True)
        (run / "config.yaml").write_text(dump_config(config))
        if self.resumed:
            self.log(f"resuming {run} at step {self.step:,} ({self.episodes} episodes, {self.elapsed_s / 3600:.2f} h)")
        writer = SummaryWriter(str(run / "tensorboard"))
        stop = {"signal": None}

        def on_signal(signum, _frame):
            stop["signal"] = signum

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        end_step = tc.total_steps if max_steps is None else min(tc.total_steps, max_steps)
        deadline = math.inf if not max_hours else time.perf_counter() + max_hours * 3600
        n = self.env.num_envs
        obs = self.env.reset(seed=tc.seed + 7919 * self.resumes)
        self.replay.begin(obs[:, -1])
        started, start_elapsed, start_step = time.perf_counter(), self.elapsed_s, self.step
        losses: list[float] = []
        q_means: list[float] = []
        last_eval: dict[str, Any] | None = None
        bar = _progress_bar(progress, end_step, self.step)
        try:
            while self.step < end_step and stop["signal"] is None and time.perf_counter() < deadline:
                epsilons = epsilons_at(self.step, config)
                epsilon = float(epsilons.mean())
                actions = self.agent.act(obs, epsilons)
                st = self.env.step(actions)
                ends = st.episode_ends
                any_end = bool(ends.any())
                next_frames = np.where(ends[:, None, None], st.final_frames, st.obs[:, -1]) if any_end else st.obs[:, -1]
                self.replay.add(actions, st.rewards, st.terminals, ends, next_frames)
                previous_step = self.step
                self.step += n
                if any_end:
                    ended = np.flatnonzero(ends)
                    self.replay.begin(st.obs[ended, -1], env_ids=ended)
                    for i in ended:
                        self._episode(float(st.episode_returns[i]), int(st.episode_lengths[i]), float(epsilons[i]),
                                      writer)
                obs = st.obs
                if self.step >= self.learn_from:
                    for _ in range(self.step // ac.train_every - previous_step // ac.train_every):
                        sample = self.replay.sample(ac.batch_size, beta=priority_beta_at(self.step, config))
                        out = self.agent.update(sample)
                        if ac.prioritized:
                            self.replay.update_priorities(sample.indices, out["priorities"])
                        losses.append(out["loss"])
                        q_means.append(out["q_mean"])
                self.elapsed_s = start_elapsed + time.perf_counter() - started
                if _crossed(previous_step, self.step, 1000):
                    speed = (self.step - start_step) / max(time.perf_counter() - started, 1e-9)
                    writer.add_scalar("train/steps_per_s", speed, self.step)
                    writer.add_scalar("train/epsilon", epsilon, self.step)
                    if losses:
                        writer.add_scalar("train/loss", float(np.mean(losses)), self.step)
                        writer.add_scalar("train/q_mean", float(np.mean(q_means)), self.step)
                        losses.clear()
                        q_means.clear()
                    if bar is not None:
                        recent = f"{np.mean(self.recent):.1f}" if self.recent else "-"
                        bar[0].update(bar[1], completed=self.step,
                                      info=f"eps {epsilon:.2f} return(100) {recent} {speed:.0f} steps/s")
                if tc.eval_every and _crossed(previous_step, self.step, tc.eval_every):
                    last_eval = self.evaluate(writer)
                if tc.checkpoint_every and _crossed(previous_step, self.step, tc.checkpoint_every):
                    self.save()
        finally:
            if bar is not None:
                bar[0].stop()
            for s, handler in previous.items():
                signal.signal(s, handler)
        self.save()
        finished = self.step >= tc.total_steps
        if finished:
            save_q_network(run / "final", self.agent.online, game=self.env.game, protocol=self.protocol,
                           step=self.step, config=config)
        writer.close()
        plot_learning_curve(run)
        seconds = time.perf_counter() - started
        return {
            "run_dir": str(run), "game": self.env.game, "protocol": self.protocol.name, "step": self.step,
            "updates": self.agent.updates, "episodes": self.episodes,
            "mean_return_last_100": float(np.mean(self.recent)) if self.recent else None,
            "best_eval_mean": None if math.isinf(self.best_eval) else self.best_eval,
            "last_eval": None if last_eval is None else {k: last_eval[k] for k in ("mean", "episodes", "hns")},
            "steps_per_s": round((self.step - start_step) / max(seconds, 1e-9), 1),
            "hours": round(self.elapsed_s / 3600, 4), "resumed": self.resumed,
            "continued_from": None if self.continued is None else self.continued["from"],
            "stopped_by": "signal" if stop["signal"] is not None else ("done" if finished else "budget"),
        }

    def _episode(self, score: float, length: int, epsilon: float, writer) -> None:
        self.episodes += 1
        self.recent.append(score)
        writer.add_scalar("episode/return", score, self.step)
        writer.add_scalar("episode/length", length, self.step)
        _append_jsonl(self.run_dir / "metrics.jsonl", {"kind": "episode", "step": self.step, "episode": self.episodes,
                                                       "return": score, "length": length, "epsilon": round(epsilon, 4),
                                                       "hours": round(self.elapsed_s / 3600, 4)})

    def evaluate(self, writer=None) -> dict[str, Any]:
        """Play ``train.eval_episodes`` evaluation episodes with the online network; keep the best one."""
        tc = self.config.train
        self.agent.online.eval()
        try:
            result = evaluate_policy(self.agent.online, self.env.game, self.protocol.name, episodes=tc.eval_episodes,
                                     seed=tc.seed + self.step, num_envs=min(tc.eval_episodes, 4))
        finally:
            self.agent.online.train()
        line = {"kind": "eval", "step": self.step, "mean": result["mean"], "median": result["median"],
                "std": result["std"], "episodes": result["episodes"], "hns": result["hns"],
                "hours": round(self.elapsed_s / 3600, 4)}
        _append_jsonl(self.run_dir / "metrics.jsonl", line)
        if writer is not None:
            writer.add_scalar("eval/mean", result["mean"], self.step)
            if result["hns"] is not None:
                writer.add_scalar("eval/hns", result["hns"], self.step)
        if result["mean"] > self.best_eval:
            self.best_eval = result["mean"]
            save_q_network(self.run_dir / "best", self.agent.online, game=self.env.game, protocol=self.protocol,
                           step=self.step, config={**self.config.to_dict(), "eval_mean": result["mean"]})
        self.log(f"step {self.step:,}: evaluation mean {result['mean']:.1f} over {result['episodes']} episodes "
                 f"(best {self.best_eval:.1f})")
        return result

    def close(self) -> None:
        self.env.close()


def train_dqn(config: DQNConfig, run_dir: str | Path, *, max_steps: int | None = None, max_hours: float | None = None,
              progress: bool = True, log: Callable[[str], None] = print,
              continue_from: str | Path | None = None) -> dict[str, Any]:
    """Train (or resume, or continue another run's network) a native DQN run; returns the summary of
    ``DQNTrainer.run``."""
    trainer = DQNTrainer(config, run_dir, log=log, continue_from=continue_from)
    try:
        return trainer.run(max_steps=max_steps, max_hours=max_hours, progress=progress)
    finally:
        trainer.close()


# ---------------------------------------------------------------------------------- helpers


def _crossed(before: int, after: int, every: int) -> bool:
    """Whether a multiple of ``every`` lies in (before, after]."""
    return after // every > before // every


def _append_jsonl(path: Path, record: dict[str, Any]) -> None:
    with path.open("a") as out:
        out.write(json.dumps(record) + "\n")


def _progress_bar(enabled: bool, total: int, done: int):
    if not enabled:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(TextColumn("dqn"), BarColumn(), TextColumn("{task.completed:,.0f}/{task.total:,.0f} steps"),
                   TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn())
    task = bar.add_task("train", total=total, completed=done, info="")
    bar.start()
    return bar, task


def read_metrics(run_dir: str | Path) -> tuple[list[dict], list[dict]]:
    """(episodes, evaluations) of a run's metrics.jsonl."""
    path = Path(run_dir) / "metrics.jsonl"
    episodes, evaluations = [], []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            if record.get("kind") == "episode":
                episodes.append(record)
            elif record.get("kind") == "eval":
                evaluations.append(record)
    return episodes, evaluations


def plot_learning_curve(run_dir: str | Path, reference: list[tuple[int, float]] | None = None,
                        reference_label: str = "reference") -> Path | None:
    """Write ``curve.png``: training episode returns, their moving average over 20 episodes, the
    evaluations, and optionally a reference curve [(agent step, return)]."""
    episodes, evaluations = read_metrics(run_dir)
    if not episodes and not evaluations:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    if episodes:
        steps = np.array([e["step"] for e in episodes])
        returns = np.array([e["return"] for e in episodes])
        ax.plot(steps, returns, ".", alpha=0.3, label="training episodes")
        if len(returns) >= 2:
            window = min(20, len(returns))
            smooth = np.convolve(returns, np.ones(window) / window, mode="valid")
            ax.plot(steps[window - 1:], smooth, label=f"moving average ({window})")
    if evaluations:
        ax.plot([e["step"] for e in evaluations], [e["mean"] for e in evaluations], "o-", label="evaluation mean")
    if reference:
        ax.plot([s for s, _ in reference], [r for _, r in reference], "--", label=reference_label)
    ax.set_xlabel("agent steps")
    ax.set_ylabel("episode return (raw score)")
    ax.legend()
    ax.grid(alpha=0.3)
    path = Path(run_dir) / "curve.png"
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
