"""The coordinator: the driver of a self-play run (AlphaZero's training loop on Ray actors).

Loop (``Coordinator.run``)::

    keep every worker busy with at most workers.max_in_flight calls      (backpressure)
    records come back by value -> ReplayBuffer.add_games                  (kept until acknowledged)
    when the buffer holds replay.min_positions and samples trained stay under
        learner.max_train_ratio * positions generated -> Learner.train(steps_per_version)
    a new version: checkpointed by the learner, ray.put once, sent to the workers
    every evaluator.every_versions versions: gate (candidate vs best), Elo;
    every evaluator.gnugo_every_versions versions: a match against GNU Go
    every run.snapshot_every_s: replay snapshot + run state (RUN_DIR/state.json)

Faults: a failed worker call (its process was killed, its node removed) puts its game ids back
in the queue; Ray restarts the actor. A failed buffer call is retried with the same records after
the buffer restored its snapshot; the buffer ignores a game id it has (no game is recorded twice).
A failed learner call is retried once the learner has reloaded its last checkpoint; versions only
go forward because the learner checkpoints a version before the coordinator sees it.
``--resume`` reads ``state.json`` (counters, ``tenuki.selfplay.run_state``), the learner's checkpoint
and the replay snapshot.

Where games were played: each worker tags its records with its Ray node id; ``RUN_DIR/nodes.json``
(``NODES_FILE``, written with the run state) holds the games and positions recorded per node over
the whole run and the node of each worker, so a run on a cluster shows which machines did the work.

Actors (``tenuki.selfplay.actors``): ``SelfPlayWorker`` x N, ``ReplayBuffer``, ``Learner`` and the
``Gatekeeper`` (gating and GNU Go matches).
"""

from __future__ import annotations

import json
import logging
import math
import signal
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import ray
from ray.exceptions import GetTimeoutError, ObjectLostError, RayActorError, RayTaskError, WorkerCrashedError

from tenuki.common.atomic import atomic_write
from tenuki.envs.go.layout import BLACK
from tenuki.selfplay.config import SelfPlayConfig
from tenuki.selfplay.learner import TrainingDiverged
from tenuki.selfplay.run_state import SNAPSHOT_FILE, STATE_FILE, RunDirError, RunState

log = logging.getLogger(__name__)

NODES_FILE = "nodes.json"  # games and positions recorded per Ray node, the node of each worker
RECENT_RESULTS = 200  # games behind the black_win_rate and mean_moves columns of metrics.csv
# ObjectLostError: a result (weights, records over Ray's inline limit) left in the object store of a node
# that died before the driver fetched it; the call is handled as failed
ACTOR_FAILURES = (RayActorError, WorkerCrashedError, GetTimeoutError, ObjectLostError)


class Coordinator:
    """Runs one self-play run in ``run_dir`` on the connected Ray cluster."""

    def __init__(self, config: SelfPlayConfig, run_dir: str | Path, resume: bool = False,
                 console: Callable[[Coordinator], None] | None = None):
        self.config = config
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.console = console
        state_path = self.run_dir / STATE_FILE
        self.state = RunState.load(state_path) if resume and state_path.exists() else RunState(
            resign_threshold=config.search.resign_threshold)
        self.state.sessions += 1
        self.stop_requested = threading.Event()
        self.fatal = ""  # why the run cannot go on (the learner diverged)
        self.started = time.monotonic()
        self.elapsed_at_start = self.state.elapsed_s
        self.retry_game_ids: deque[int] = deque()
        self.events: deque[str] = deque(maxlen=8)
        self._recent_games: deque[tuple[float, int]] = deque(maxlen=400)  # (elapsed, games) for games/hour
        # (black's score 1 / 0.5 / 0, moves) of the last games: a run that drifts to one colour winning
        # everything (a value net sure of the result from move 1) shows here first
        self._recent_results: deque[tuple[float, int]] = deque(maxlen=RECENT_RESULTS)
        self._last_snapshot = time.monotonic()
        self._rng = np.random.default_rng(config.run.seed + 7919 * self.state.sessions)
        self.metrics = None
        self.actors_ready = False
        self.pool: list[tuple[int, ray.ObjectRef]] = []  # opponent pool (version, weights)
        self.node_games: Counter[str] = Counter()  # Ray node id -> games recorded (the whole run)
        self.node_positions: Counter[str] = Counter()
        self.worker_nodes: list[str] = []  # the node of each worker when it started
        nodes_path = self.run_dir / NODES_FILE
        if resume and nodes_path.exists():
            try:
                saved = json.loads(nodes_path.read_text())
                for node, counts in saved.get("nodes", {}).items():
                    self.node_games[node] = int(counts.get("games", 0))
                    self.node_positions[node] = int(counts.get("positions", 0))
            except (OSError, ValueError, AttributeError) as error:  # a report, not state: start it afresh
                self.log(f"ignored {nodes_path}: {error}")

    # ------------------------------------------------------------------ set-up

    def start_actors(self) -> None:
        from tenuki.selfplay.actors import Gatekeeper, Learner, ReplayBuffer, SelfPlayWorker
        from tenuki.selfplay.games import sample_fields

        cfg = self.config
        from tenuki.selfplay.metrics import MetricsWriter

        self.metrics = MetricsWriter(self.run_dir)
        # named, so that the learner finds it by name: an actor handle among its constructor arguments
        # would be an object reference Ray cannot bring back on a restart (see tenuki.selfplay.actors)
        buffer_name = f"tenuki-replay-{uuid.uuid4().hex}"
        self.buffer = ReplayBuffer.options(num_cpus=0, name=buffer_name).remote(
            sample_fields(cfg), cfg.replay.window_max, cfg.replay.window_min, cfg.replay.window_exponent,
            cfg.replay.window_beta, cfg.replay.symmetries, cfg.game.size, cfg.run.seed,
            str(self.run_dir / SNAPSHOT_FILE))
        self.learner = Learner.options(num_cpus=cfg.learner.cpus).remote(cfg, str(self.run_dir), buffer_name)
        self.gatekeeper = Gatekeeper.options(num_cpus=0).remote(cfg, str(self.run_dir))
        self.workers = [SelfPlayWorker.options(num_cpus=cfg.workers.cpus_per_worker).remote(cfg, i)
                        for i in range(cfg.workers.count)]
        learner_state = ray.get(self.learner.state.remote())
        if learner_state["version"] < self.state.version:
            raise RunDirError(f"the learner's checkpoint (version {learner_state['version']}) is older than the run "
                              f"state (version {self.state.version}): {self.run_dir / 'checkpoints'} was changed")
        self._restore_pool(learner_state["version"])
        self._publish(*ray.get(self.learner.weights.remote()))
        if self.state.best_version == self.state.version or self.state.best_version == 0 and self.state.version == 0:
            self.best = (self.state.version, self.current_weights)
        else:
            self.best = (self.state.best_version, self._read_weights(self.state.best_version))
        self.buffer_stats = ray.get(self.buffer.stats.remote())
        self.inflight: dict[ray.ObjectRef, tuple[int, list[int]]] = {}
        self.per_worker: list[int] = [0] * len(self.workers)
        self.adding: dict[ray.ObjectRef, list] = {}
        self.pending_records: list = []
        self.learner_task: ray.ObjectRef | None = None
        self.eval_tasks: dict[ray.ObjectRef, str] = {}
        self.snapshot_task: ray.ObjectRef | None = None
        self.versions_since_gate = 0
        self.versions_since_gnugo = 0
        self.worker_nodes = ray.get([w.warm_up.remote() for w in self.workers])
        self.actors_ready = True
        self.log(f"started: {len(self.workers)} workers on {len(set(self.worker_nodes))} node(s), "
                 f"version {self.state.version}, "
                 f"buffer {self.buffer_stats['positions']} positions"
                 + (f" (restored from {SNAPSHOT_FILE})" if self.buffer_stats["restored"] else ""))

    def _read_weights(self, version: int) -> dict[str, np.ndarray]:
        from tenuki.agents.go.networks.checkpoint import load_checkpoint
        from tenuki.selfplay.learner import state_dict_to_numpy, version_name

        model, _ = load_checkpoint(self.run_dir / "checkpoints" / version_name(version))
        return state_dict_to_numpy(model)

    def _publish(self, version: int, weights: dict[str, np.ndarray]) -> None:
        """Send a new version out: one ``ray.put`` (owned here, so it outlives every actor)."""
        if version < self.state.version:
            self.log(f"ignored weights of version {version} (have {self.state.version})")
            return
        self.current_weights = weights
        self.state.version = version
        self.current_ref = ray.put(weights)
        every = self.config.workers.opponent_pool_every
        if every > 0 and version % every == 0 and all(v != version for v, _ in self.pool):
            self.pool.append((version, self.current_ref))
        self.play_version = version
        self.play_ref = self.current_ref
        if self.config.evaluator.selfplay_uses == "best" and getattr(self, "best", None) is not None \
                and self.best[0] != version:
            self.play_version = self.best[0]
            self.play_ref = ray.put(self.best[1])

    def _restore_pool(self, upto: int) -> None:
        """After a resume, the opponent pool's versions before ``upto`` (the learner's, published
        next) come back from their checkpoints."""
        from tenuki.agents.go.networks.checkpoint import CheckpointError, load_checkpoint
        from tenuki.selfplay.learner import state_dict_to_numpy, version_name

        every = self.config.workers.opponent_pool_every
        self.pool = []
        if every <= 0:
            return
        for version in range(0, upto, every):
            path = self.run_dir / "checkpoints" / version_name(version)
            if not path.with_name(path.name + ".json").exists():
                continue
            try:
                model, _ = load_checkpoint(path)
            except CheckpointError as error:
                self.log(f"opponent pool: skipped {path.name}: {error}")
                continue
            self.pool.append((version, ray.put(state_dict_to_numpy(model))))

    # ------------------------------------------------------------------ helpers

    def log(self, message: str) -> None:
        """An event of the run: kept for the live console (which shows the last ones) and logged (at
        DEBUG while a live console shows it, so log lines do not tear the table)."""
        stamp = time.strftime("%H:%M:%S")
        self.events.append(f"{stamp} {message}")
        log.log(logging.INFO if self.console is None else logging.DEBUG, "%s", message)

    @property
    def elapsed(self) -> float:
        return self.elapsed_at_start + time.monotonic() - self.started

    def recent_results(self) -> dict[str, float]:
        """``black_win_rate`` (draws count half) and ``mean_moves`` over the last ``RECENT_RESULTS`` games."""
        if not self._recent_results:
            return {}
        scores, moves = zip(*self._recent_results, strict=True)
        return {"black_win_rate": round(float(np.mean(scores)), 3), "mean_moves": round(float(np.mean(moves)), 1)}

    def games_per_hour(self) -> float:
        if len(self._recent_games) < 2:
            return math.nan
        (t0, g0), (t1, g1) = self._recent_games[0], self._recent_games[-1]
        return (g1 - g0) / max(t1 - t0, 1e-9) * 3600 if t1 > t0 else math.nan

    def _next_game_ids(self, count: int) -> list[int]:
        ids = []
        while self.retry_game_ids and len(ids) < count:
            ids.append(self.retry_game_ids.popleft())
        while len(ids) < count:
            ids.append(self.state.next_game_id)
            self.state.next_game_id += 1
        return ids

    def _submit_games(self) -> None:
        cfg = self.config
        for index, worker in enumerate(self.workers):
            while self.per_worker[index] < cfg.workers.max_in_flight:
                ids = self._next_game_ids(cfg.workers.games_per_task)
                seeds = [cfg.run.seed * 1_000_003 + g for g in ids]
                keep = [cfg.run.sgf_every > 0 and g % cfg.run.sgf_every == 0 for g in ids]
                opponent = None
                if self.pool:  # REINFORCE against a random earlier version (AlphaGo's RL policy)
                    version, pooled = self.pool[int(self._rng.integers(len(self.pool)))]
                    opponent = (version, [pooled])
                ref = worker.play.remote(self.play_version, [self.play_ref], ids, seeds,
                                         self.state.resign_threshold, keep, opponent)
                self.inflight[ref] = (index, ids)
                self.per_worker[index] += 1

    def _can_train(self) -> bool:
        lc = self.config.learner
        if self.buffer_stats.get("positions", 0) < self.config.replay.min_positions:
            return False
        if self.state.positions < self.config.replay.min_positions:
            return False
        budget = lc.max_train_ratio * self.state.positions
        return self.state.samples_trained + lc.steps_per_version * lc.batch_size <= budget

    # ------------------------------------------------------------------ results

    def _on_games(self, ref: ray.ObjectRef) -> None:
        index, ids = self.inflight.pop(ref)
        self.per_worker[index] -= 1
        try:
            records = ray.get(ref)
        except ACTOR_FAILURES + (RayTaskError,) as error:
            self.state.worker_failures += 1
            self.retry_game_ids.extend(ids)
            self.log(f"worker {index} failed ({type(error).__name__}); games {ids} will be played again")
            return
        self.pending_records.extend(records)

    def _send_records(self) -> None:
        if not self.pending_records or len(self.adding) >= 2:
            return
        records, self.pending_records = self.pending_records, []
        ref = self.buffer.add_games.remote([(r.game_id, r.samples) for r in records])
        self.adding[ref] = records

    def _on_added(self, ref: ray.ObjectRef) -> None:
        records = self.adding.pop(ref)
        try:
            added = ray.get(ref)
        except ACTOR_FAILURES as error:
            self.state.buffer_failures += 1
            self.pending_records = records + self.pending_records
            self.log(f"replay buffer failed ({type(error).__name__}); {len(records)} games will be sent again")
            return
        for record, count in zip(records, added, strict=True):
            if count == 0 and record.num_samples > 0:
                continue  # already recorded (a retried call)
            self._record_game(record, count)

    def _record_game(self, record, positions: int) -> None:
        state = self.state
        state.games += 1
        state.positions += positions
        state.moves += record.moves
        node = record.extra.get("node", "")
        self.node_games[node] += 1
        self.node_positions[node] += positions
        self._recent_games.append((self.elapsed, state.games))
        self._recent_results.append((1.0 if record.winner == BLACK else 0.5 if record.winner == 0 else 0.0,
                                     record.moves))
        if record.resign_disabled and record.would_resign:
            state.resign_checks += 1
            state.false_positives += bool(record.false_positive())
            self._adjust_resignation()
        if record.sgf:
            folder = self.run_dir / "sgf"
            folder.mkdir(exist_ok=True)
            (folder / f"game_{record.game_id:07d}_v{record.version:04d}.sgf").write_text(record.sgf)

    def _adjust_resignation(self) -> None:
        """AlphaGo Zero: keep resignation false positives under the target by lowering the threshold."""
        state = self.state
        target = self.config.search.target_false_positive
        if state.resign_checks >= 10 and state.false_positive_rate > target and state.resign_threshold > 0.005:
            state.resign_threshold = round(state.resign_threshold * 0.8, 5)
            self.log(f"resignation false positives {state.false_positive_rate:.0%} > {target:.0%}: "
                     f"threshold lowered to {state.resign_threshold:.3f}")
            state.resign_checks = state.false_positives = 0

    def _on_trained(self, ref: ray.ObjectRef) -> None:
        self.learner_task = None
        try:
            result = ray.get(ref)
        except ACTOR_FAILURES + (RayTaskError,) as error:
            if isinstance(error, TrainingDiverged) or "TrainingDiverged" in str(error):
                self.fatal = str(getattr(error, "cause", None) or error).strip().splitlines()[-1]
                self.log(f"training diverged: {self.fatal}; the run stops")
                return
            self.state.learner_failures += 1
            self.log(f"learner failed ({type(error).__name__}); it resumes from its last checkpoint")
            return
        metrics, weights = result
        self.state.samples_trained = max(self.state.samples_trained, metrics["samples_trained"])
        self.state.last_metrics = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        self._publish(metrics["version"], weights)
        self.versions_since_gate += 1
        self.versions_since_gnugo += 1
        ev = self.config.evaluator
        candidate = (self.state.version, self.current_weights)
        if ev.every_versions and self.versions_since_gate >= ev.every_versions and "gate" not in self.eval_tasks.values():
            self.versions_since_gate = 0
            self.eval_tasks[self.gatekeeper.gate.remote(candidate, self.best, int(self._rng.integers(1 << 30)))] = "gate"
        if ev.gnugo_every_versions and self.versions_since_gnugo >= ev.gnugo_every_versions \
                and "gnugo" not in self.eval_tasks.values():
            self.versions_since_gnugo = 0
            self.eval_tasks[self.gatekeeper.vs_gnugo.remote(candidate, int(self._rng.integers(1 << 30)))] = "gnugo"
        self._write_metrics(metrics)
        self.save_state()
        every = self.config.run.plot_every_versions
        if every and self.state.version % every == 0:
            self._plot()

    def _write_metrics(self, metrics: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
        state = self.state
        elapsed = self.elapsed
        row = {
            "version": state.version, "elapsed_s": round(elapsed, 1), "games": state.games,
            "positions": state.positions, "samples_trained": state.samples_trained,
            "games_per_hour": round(self.games_per_hour(), 1), "positions_per_s": round(state.positions / max(elapsed, 1e-9), 2),
            "window": self.buffer_stats.get("window"), "resign_threshold": state.resign_threshold,
            "false_positive_rate": state.false_positive_rate,
            **self.recent_results(),
            **{k: round(metrics[k], 5) for k in ("loss", "policy_loss", "value_loss", "policy_kl", "ownership_loss")
               if k in metrics},
            **(extra or {}),
        }
        self.metrics.row(row)

    def _on_evaluated(self, ref: ray.ObjectRef) -> None:
        kind = self.eval_tasks.pop(ref)
        try:
            result = ray.get(ref)
        except ACTOR_FAILURES + (RayTaskError,) as error:
            self.log(f"evaluation ({kind}) failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
            return
        state = self.state
        if kind == "gate":
            elo = state.best_elo + result["elo"]
            state.gates.append(result)
            state.elo.append([result["version"], round(elo, 1)])
            self.metrics.scalar("eval/elo", elo, result["version"])
            self.metrics.scalar("eval/gate_score", result["score"], result["version"])
            verdict = "promoted" if result["promoted"] else "kept the best"
            self.log(f"gate: v{result['version']} vs best v{result['best_version']}: score {result['score']:.2f} "
                     f"({result['wins']}/{result['games']}), Elo {elo:+.0f} -> {verdict}")
            if result["promoted"]:
                state.best_version = result["version"]
                state.best_elo = elo
                weights = self.current_weights if result["version"] == state.version else self._read_weights(result["version"])
                self.best = (result["version"], weights)
                self._copy_best()
                if self.config.evaluator.selfplay_uses == "best":
                    self._publish(state.version, self.current_weights)
        else:
            state.gnugo.append(result)
            self.metrics.scalar("eval/gnugo_score", result["score"], result["version"])
            self.log(f"GNU Go level {result['level']}: v{result['version']} scored {result['score']:.2f} "
                     f"({result['wins']}/{result['games']}), Elo {result['elo']:+.0f}")
        self._rewrite_eval_columns()

    def _rewrite_eval_columns(self) -> None:
        """Fill the Elo / gate / GNU Go columns of metrics.csv for the evaluated versions."""
        import csv

        from tenuki.selfplay.metrics import COLUMNS, read_rows

        path = self.run_dir / "metrics.csv"
        rows = read_rows(path)
        if not rows:
            return
        elo = {int(v): e for v, e in self.state.elo}
        gates = {g["version"]: g for g in self.state.gates}
        gnugo = {g["version"]: g for g in self.state.gnugo}
        for row in rows:
            v = int(float(row["version"]))
            if v in elo:
                row["elo"] = elo[v]
                row["gate_score"] = gates[v]["score"]
            if v in gnugo:
                row["gnugo_score"] = gnugo[v]["score"]
                row["gnugo_elo"] = gnugo[v]["elo"]
        temporary = path.with_suffix(".csv.tmp")
        with temporary.open("w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        temporary.replace(path)

    def _copy_best(self) -> None:
        """RUN_DIR/best.safetensors (+ .json): the best network, the one to play with."""
        import shutil

        from tenuki.selfplay.learner import version_name

        source = self.run_dir / "checkpoints" / version_name(self.state.best_version)
        for suffix in (".safetensors", ".json"):
            src = Path(str(source) + suffix)
            if src.exists():
                tmp = self.run_dir / f".best{suffix}.tmp"
                shutil.copyfile(src, tmp)
                tmp.replace(self.run_dir / f"best{suffix}")

    def _plot(self) -> None:
        from tenuki.selfplay.metrics import plot_run

        try:
            plot_run(self.run_dir)
        except Exception as error:  # noqa: BLE001 - a plot must never stop a run
            self.log(f"plotting failed: {error}")

    # ------------------------------------------------------------------ persistence

    def save_state(self) -> None:
        self.state.elapsed_s = self.elapsed
        self.state.save(self.run_dir / STATE_FILE)
        self.save_nodes()

    def nodes_report(self) -> dict[str, Any]:
        """``{"nodes": {node id: {"games", "positions"}}, "workers": [node id of worker i]}``."""
        return {"nodes": {node: {"games": games, "positions": self.node_positions[node]}
                          for node, games in sorted(self.node_games.items())},
                "workers": list(self.worker_nodes)}

    def save_nodes(self) -> None:
        text = json.dumps(self.nodes_report(), indent=1).encode()
        atomic_write(self.run_dir / NODES_FILE, lambda stream: stream.write(text))

    def snapshot(self, wait: bool = False) -> None:
        if wait or self.snapshot_task is None:
            # a snapshot still on its way may predate the games added since (those flushed by shutdown):
            # the one waited for is asked for now, after them
            self.snapshot_task = self.buffer.snapshot.remote()
        if wait:
            try:
                self.buffer_stats.update(ray.get(self.snapshot_task, timeout=300))
            except ACTOR_FAILURES as error:
                self.log(f"replay snapshot failed: {type(error).__name__}")
            self.snapshot_task = None
        self.save_state()
        self._last_snapshot = time.monotonic()

    # ------------------------------------------------------------------ loop

    def finished(self) -> str | None:
        run, state = self.config.run, self.state
        if self.stop_requested.is_set():
            return "stop requested"
        if self.fatal:
            return f"training diverged ({self.fatal})"
        if run.max_hours and self.elapsed >= run.max_hours * 3600:
            return f"time limit ({run.max_hours:g} h)"
        if run.max_games and state.games >= run.max_games:
            return f"game limit ({run.max_games})"
        if run.max_versions and state.version >= run.max_versions:
            return f"version limit ({run.max_versions})"
        return None

    def step(self, timeout: float = 0.5) -> None:
        """One pass of the loop: submit work, wait for one result, handle what is ready."""
        self._submit_games()
        self._send_records()
        if self.learner_task is None and self._can_train():
            self.learner_task = self.learner.train.remote(self.config.learner.steps_per_version)
        refs = list(self.inflight) + list(self.adding) + list(self.eval_tasks)
        if self.learner_task is not None:
            refs.append(self.learner_task)
        if self.snapshot_task is not None:
            refs.append(self.snapshot_task)
        ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:  # everything else that is ready too
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        for ref in ready:
            if ref in self.inflight:
                self._on_games(ref)
            elif ref in self.adding:
                self._on_added(ref)
            elif ref in self.eval_tasks:
                self._on_evaluated(ref)
            elif ref == self.learner_task:
                self._on_trained(ref)
            elif ref == self.snapshot_task:
                self.snapshot_task = None
                try:
                    self.buffer_stats.update(ray.get(ref))
                except ACTOR_FAILURES:
                    self.state.buffer_failures += 1
        if time.monotonic() - self._last_snapshot >= self.config.run.snapshot_every_s:
            self.snapshot()

    def refresh_buffer_stats(self) -> None:
        try:
            self.buffer_stats.update(ray.get(self.buffer.stats.remote(), timeout=30))
        except ACTOR_FAILURES:
            pass

    def run(self, stop_when: Callable[[Coordinator], bool] | None = None,
            on_tick: Callable[[Coordinator], None] | None = None) -> str:
        """Run until a limit of the config, ``stop_when(self)``, or a stop request; returns why it stopped."""
        if not self.actors_ready:
            self.start_actors()
        last_stats = 0.0
        reason = None
        while reason is None:
            self.step()
            if time.monotonic() - last_stats > 2.0:
                self.refresh_buffer_stats()
                last_stats = time.monotonic()
                if self.console is not None:
                    self.console(self)
            if on_tick is not None:
                on_tick(self)
            reason = self.finished() or ("stop condition" if stop_when is not None and stop_when(self) else None)
        self.shutdown(reason)
        return reason

    def shutdown(self, reason: str) -> None:
        self.log(f"stopping: {reason}")
        # Records already returned are kept; games still being played are dropped (their ids are not reused).
        deadline = time.monotonic() + 60
        while (self.pending_records or self.adding) and time.monotonic() < deadline:
            self._send_records()
            ready, _ = ray.wait(list(self.adding), num_returns=len(self.adding), timeout=5)
            for ref in ready:
                self._on_added(ref)
        if self.eval_tasks and not self.stop_requested.is_set():  # a limit was reached: finish the evaluations
            for ref in list(self.inflight):
                ray.cancel(ref, force=False)
            ready, _ = ray.wait(list(self.eval_tasks), num_returns=len(self.eval_tasks), timeout=600)
            for ref in ready:
                self._on_evaluated(ref)
        self.snapshot(wait=True)
        if self.node_games:
            self.log("games per node: " + ", ".join(f"{node[:8] or '?'} {games}"
                                                    for node, games in sorted(self.node_games.items())))
        self._plot()
        if self.metrics is not None:
            self.metrics.close()
        for ref in list(self.inflight):
            ray.cancel(ref, force=False)
        self.inflight.clear()

    def install_signal_handlers(self) -> None:
        """SIGINT / SIGTERM stop the run cleanly (snapshot, state, plots); a second SIGINT aborts."""
        def handler(signum, frame):
            if self.stop_requested.is_set():
                raise KeyboardInterrupt
            self.stop_requested.set()
            self.log("stop requested: finishing (Ctrl-C again to abort)")

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
