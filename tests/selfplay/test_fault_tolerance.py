"""Fault tolerance of a self-play run, for real, on a ``ray.cluster_utils.Cluster`` (several raylets
on this machine, the ``ray_cluster`` fixture): a tiny run (7x7, a 1-block network, 16 visits) is
started, a process is SIGKILLed (or a node removed, or the driver stopped) while it runs, and the
run must go on:

- a self-play worker killed mid-game: Ray restarts it, its game is played again, no game is
  recorded twice (the coordinator's log of games == the buffer's ``games_added``), games go on;
- the replay buffer killed: it restores its last snapshot (exactly the positions the snapshot
  held; only what came after it is lost), games and training go on;
- the learner killed mid-training: it resumes from its last checkpoint, the weight version the
  coordinator publishes never goes backwards and training goes on;
- the driver stopped and resumed (``resume=True``): same counters, buffer and version, then more;
- a node removed (holding the workers, mid-game, and the learner, whose new weights the driver has
  not fetched yet): the actors come back on the remaining node, versions never go back, games go on.

Each test waits for its condition or a deadline, then asserts it (a failure is reported, never a
hang). About 2 minutes on 2 busy cores (each test starts its actors: ~10 s).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import ray

from tenuki.selfplay.config import SelfPlayConfig, config_from_dict
from tenuki.selfplay.coordinator import Coordinator
from tenuki.selfplay.learner import STATE_FILE as LEARNER_STATE_FILE
from tenuki.selfplay.learner import version_name
from tenuki.selfplay.run_state import SNAPSHOT_FILE, STATE_FILE, RunState, prepare_run_dir

CALL_TIMEOUT = 120  # seconds for one actor call (an actor that restarts imports torch again)


def tiny_config(**sections) -> SelfPlayConfig:
    base = {
        "run": {"seed": 11, "max_hours": 0.0, "max_games": 0, "max_versions": 0, "sgf_every": 0,
                "snapshot_every_s": 3.0, "plot_every_versions": 0},
        "game": {"size": 7},
        "network": {"blocks": 1, "channels": 8},
        "search": {"visits": 16, "cap_visits": 4, "batch_size": 4, "full_probability": 0.5},
        "workers": {"count": 2, "cpus_per_worker": 1.0, "max_in_flight": 1},
        "replay": {"window_min": 100, "window_max": 3000, "min_positions": 50},
        "learner": {"batch_size": 32, "steps_per_version": 5, "max_train_ratio": 8.0},
        "evaluator": {"every_versions": 0},
    }
    for name, values in sections.items():
        base[name] = {**base[name], **values}
    return config_from_dict(base)


def build(config: SelfPlayConfig | None, run_dir: Path, coordinators: list, resume: bool = False) -> Coordinator:
    """A coordinator on ``run_dir``, actors not started yet (the ``coordinators`` fixture kills them)."""
    config = prepare_run_dir(config, run_dir, resume=resume)
    coordinator = Coordinator(config, run_dir, resume=resume)
    coordinators.append(coordinator)
    return coordinator


def start(config: SelfPlayConfig | None, run_dir: Path, coordinators: list, resume: bool = False) -> Coordinator:
    coordinator = build(config, run_dir, coordinators, resume)
    coordinator.start_actors()
    return coordinator


class GameLog:
    """Every game the coordinator records (counts in ``state.games``): (time, game id, worker)."""

    def __init__(self, coordinator: Coordinator):
        self.entries: list[tuple[float, int, int]] = []
        self.games_before = coordinator.state.games  # recorded by earlier sessions of the run
        record = coordinator._record_game

        def logged(game, positions):
            self.entries.append((time.monotonic(), game.game_id, game.worker))
            record(game, positions)

        coordinator._record_game = logged

    @property
    def ids(self) -> list[int]:
        return [game_id for _, game_id, _ in self.entries]

    def since(self, moment: float) -> list[tuple[float, int, int]]:
        return [entry for entry in self.entries if entry[0] > moment]

    def assert_each_game_once(self, coordinator: Coordinator) -> None:
        ids = self.ids
        twice = sorted({g for g in ids if ids.count(g) > 1})
        assert not twice, f"games recorded twice: {twice}"
        assert coordinator.state.games == self.games_before + len(ids)


def run_until(coordinator: Coordinator, condition: Callable[[Coordinator], bool], seconds: float,
              on_tick: Callable[[Coordinator], None] | None = None) -> None:
    """Run until ``condition`` holds (checked after every tick) or ``seconds`` have passed, then
    assert it held."""
    deadline = time.monotonic() + seconds
    met: list[bool] = []

    def stop_when(c: Coordinator) -> bool:
        if condition(c):
            met.append(True)
            return True
        return time.monotonic() > deadline

    reason = coordinator.run(stop_when=stop_when, on_tick=on_tick)
    assert reason == "stop condition"
    assert met, f"not reached within {seconds:g} s: {coordinator.state}\n" + "\n".join(coordinator.events)


def sigkill(pid: int, seconds: float = 20.0) -> None:
    """SIGKILL an actor's process and wait until it is gone (or a zombie), so it writes nothing more."""
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stream:
                status = stream.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if status in ("Z", "X"):
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} still alive {seconds:g} s after SIGKILL")


def read_snapshot(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        return {"held": int(archive["field_value"].shape[0]), "total_added": int(archive["meta"][1]),
                "games_added": int(archive["meta"][2]), "game_ids": [int(g) for g in archive["game_ids"]]}


# ---------------------------------------------------------------------- worker


@pytest.mark.timeout(300)
def test_sigkilled_worker_restarts_and_no_game_is_recorded_twice(tmp_path, coordinators):
    coordinator = start(tiny_config(), tmp_path / "run", coordinators)
    log = GameLog(coordinator)
    victim = coordinator.workers[0]
    old_pid = ray.get(victim.pid.remote(), timeout=CALL_TIMEOUT)
    kill: dict = {}

    def on_tick(c: Coordinator) -> None:
        if kill or c.state.games < 3:
            return
        playing = [g for index, ids in c.inflight.values() if index == 0 for g in ids]
        if not playing:  # worker 0 has a game to play: kill it in the middle
            return
        sigkill(old_pid)
        kill.update(time=time.monotonic(), games=c.state.games, next_id=c.state.next_game_id, ids=playing)

    def restarted_worker_played(c: Coordinator) -> bool:
        # Only a game numbered after the kill proves it: a game of kill["ids"] may have been finished
        # by the old process just before the SIGKILL and recorded afterwards (seen once in CI: the
        # test then asked the still-restarting actor for its pid).
        return any(worker == 0 and g >= kill["next_id"] for _, g, worker in log.since(kill["time"]))

    def done(c: Coordinator) -> bool:
        return (bool(kill) and c.state.worker_failures >= 1 and set(kill["ids"]) <= set(log.ids)
                and c.state.games >= kill["games"] + 6 and restarted_worker_played(c))

    run_until(coordinator, done, 150, on_tick)

    new_pid = ray.get(victim.pid.remote(), timeout=CALL_TIMEOUT)
    assert new_pid != old_pid  # a new process: Ray restarted the actor
    log.assert_each_game_once(coordinator)
    # the killed game was played again and recorded once; the buffer holds exactly the recorded games
    assert all(log.ids.count(g) == 1 for g in kill["ids"])
    stats = ray.get(coordinator.buffer.stats.remote(), timeout=CALL_TIMEOUT)
    assert stats["games_added"] == coordinator.state.games
    assert stats["total_added"] == coordinator.state.positions
    assert all(ray.get(coordinator.buffer.has_games.remote(log.ids), timeout=CALL_TIMEOUT))
    assert coordinator.state.buffer_failures == 0 and coordinator.state.learner_failures == 0


# ---------------------------------------------------------------------- replay buffer


@pytest.mark.timeout(300)
def test_sigkilled_replay_buffer_restores_its_last_snapshot(tmp_path, coordinators):
    run_dir = tmp_path / "run"
    coordinator = start(tiny_config(), run_dir, coordinators)
    log = GameLog(coordinator)
    old_pid = ray.get(coordinator.buffer.pid.remote(), timeout=CALL_TIMEOUT)
    snapshot_path = run_dir / SNAPSHOT_FILE
    kill: dict = {}

    def on_tick(c: Coordinator) -> None:
        if kill or c.state.version < 1 or not snapshot_path.exists():
            return
        if read_snapshot(snapshot_path)["held"] < c.config.replay.min_positions:
            return
        sigkill(old_pid)
        # read once the process is gone: the snapshot the restarted buffer will load
        kill.update(read_snapshot(snapshot_path), games=c.state.games, version=c.state.version,
                    next_id=c.state.next_game_id)

    def done(c: Coordinator) -> bool:
        return (bool(kill) and c.buffer_stats.get("restored", 0) > 0 and c.state.games >= kill["games"] + 6
                and c.state.version >= kill["version"] + 2)

    run_until(coordinator, done, 150, on_tick)

    buffer = coordinator.buffer
    assert ray.get(buffer.pid.remote(), timeout=CALL_TIMEOUT) != old_pid
    stats = ray.get(buffer.stats.remote(), timeout=CALL_TIMEOUT)
    # restored exactly what the snapshot held
    assert stats["restored"] == kill["held"] > 0
    assert stats["total_added"] >= kill["total_added"]
    assert all(ray.get(buffer.has_games.remote(kill["game_ids"]), timeout=CALL_TIMEOUT))
    # every game played after the kill is there, none twice; only games recorded before the kill and
    # after the snapshot may be missing
    log.assert_each_game_once(coordinator)
    ids = log.ids
    present = ray.get(buffer.has_games.remote(ids), timeout=CALL_TIMEOUT)
    played_after = [g for g in ids if g >= kill["next_id"]]
    assert played_after and all(present[ids.index(g)] for g in played_after)
    lost = [g for g, here in zip(ids, present, strict=True) if not here]
    assert all(g < kill["next_id"] and g not in kill["game_ids"] for g in lost), lost
    assert stats["games_added"] == len(set(kill["game_ids"]) | {g for g, here in zip(ids, present, strict=True) if here})


# ---------------------------------------------------------------------- learner


@pytest.mark.timeout(300)
def test_sigkilled_learner_resumes_from_its_checkpoint_and_versions_never_go_back(tmp_path, coordinators):
    run_dir = tmp_path / "run"
    coordinator = start(tiny_config(), run_dir, coordinators)
    learner = coordinator.learner
    old_pid = ray.get(learner.pid.remote(), timeout=CALL_TIMEOUT)
    versions: list[int] = []
    kill: dict = {}

    def on_tick(c: Coordinator) -> None:
        versions.append(c.state.version)
        if kill or c.state.version < 2 or c.learner_task is None:
            return
        ready, _ = ray.wait([c.learner_task], timeout=0)
        if ready:  # kill it while it trains
            return
        sigkill(old_pid)
        committed = json.loads((run_dir / "checkpoints" / LEARNER_STATE_FILE).read_text())
        kill.update(version=c.state.version, checkpoint=committed["version"], ticks=len(versions))

    def done(c: Coordinator) -> bool:
        return bool(kill) and c.state.learner_failures >= 1 and c.state.version >= kill["version"] + 2

    run_until(coordinator, done, 150, on_tick)

    assert ray.get(learner.pid.remote(), timeout=CALL_TIMEOUT) != old_pid
    learner_state = ray.get(learner.state.remote(), timeout=CALL_TIMEOUT)
    assert learner_state["resumed_from"] == version_name(kill["checkpoint"])  # its last checkpoint
    assert kill["checkpoint"] >= kill["version"]  # a version is committed before it is published
    assert all(a <= b for a, b in itertools.pairwise(versions)), f"a version went back: {versions}"
    assert versions[-1] > kill["version"] and max(versions[:kill["ticks"]]) == kill["version"]
    saved = RunState.load(run_dir / STATE_FILE)
    assert saved.version == coordinator.state.version
    assert saved.samples_trained == coordinator.state.samples_trained
    # the learner may have trained one more version while the run stopped, never fewer
    assert learner_state["version"] >= coordinator.state.version
    assert learner_state["samples_trained"] >= coordinator.state.samples_trained


# ---------------------------------------------------------------------- driver


@pytest.mark.timeout(300)
def test_stopped_driver_resumes_with_the_same_counters_and_goes_on(tmp_path, coordinators):
    run_dir = tmp_path / "run"
    # a snapshot every step: one is on its way when the driver stops, before the last games are flushed
    first = start(tiny_config(run={"snapshot_every_s": 0.05}), run_dir, coordinators)
    first_log = GameLog(first)

    def stop_now(c: Coordinator) -> bool:
        # the learner idle (no version being trained behind the driver's back) and games on their way to
        # the buffer: the driver must record them, and the snapshot it leaves must hold them
        return c.state.version >= 2 and c.state.games >= 8 and c.learner_task is None and bool(c.pending_records)

    run_until(first, stop_now, 150)
    first_log.assert_each_game_once(first)
    saved = RunState.load(run_dir / STATE_FILE)
    counters = ("games", "positions", "moves", "version", "samples_trained", "next_game_id")
    for name in counters:
        assert getattr(saved, name) == getattr(first.state, name), name
    committed = json.loads((run_dir / "checkpoints" / LEARNER_STATE_FILE).read_text())
    assert (committed["version"], committed["samples_trained"]) == (saved.version, saved.samples_trained)
    snapshot = read_snapshot(run_dir / SNAPSHOT_FILE)
    assert snapshot["games_added"] == saved.games and snapshot["total_added"] == saved.positions
    for coordinator in coordinators:  # the first driver's actors go, as when its process ends
        for handle in [*coordinator.workers, coordinator.buffer, coordinator.learner, coordinator.gatekeeper]:
            ray.kill(handle, no_restart=True)

    second = build(None, run_dir, coordinators, resume=True)
    for name in counters:
        assert getattr(second.state, name) == getattr(saved, name), name
    assert second.state.sessions == 2
    second.start_actors()
    second_log = GameLog(second)
    assert second.state.version == saved.version
    learner_state = ray.get(second.learner.state.remote(), timeout=CALL_TIMEOUT)
    assert learner_state["resumed_from"] == version_name(saved.version)
    assert (learner_state["version"], learner_state["samples_trained"]) == (saved.version, saved.samples_trained)
    # the buffer came back from the snapshot written when the first driver stopped
    assert second.buffer_stats["restored"] == snapshot["held"] > 0
    assert second.buffer_stats["games_added"] == saved.games
    assert second.buffer_stats["total_added"] == saved.positions

    run_until(second, lambda c: c.state.games >= saved.games + 6 and c.state.version >= saved.version + 1, 150)
    second_log.assert_each_game_once(second)
    assert second.state.games == saved.games + len(second_log.ids)
    assert min(second_log.ids) >= saved.next_game_id  # game ids are never reused
    assert not set(first_log.ids) & set(second_log.ids)
    assert RunState.load(run_dir / STATE_FILE).version == second.state.version > saved.version


# ---------------------------------------------------------------------- node


@ray.remote(num_cpus=2)
class _Blocker:
    """Holds the head node's 2 CPUs while the run starts, so its workers and learner go to the extra node."""

    def node_id(self) -> str:
        return ray.get_runtime_context().get_node_id()


@pytest.mark.timeout(360)
def test_removed_node_actors_come_back_elsewhere_and_the_run_goes_on(tmp_path, ray_cluster, coordinators):
    """The extra node holds both workers (playing) and the learner, whose new version is trained and
    committed but not yet fetched by the driver when the node goes (the weights, over Ray's 100 KB
    inline limit with 32 channels, are in that node's object store and are lost with it)."""
    run_dir = tmp_path / "run"
    config = tiny_config(network={"channels": 32}, workers={"cpus_per_worker": 0.5}, learner={"cpus": 1.0})
    head_id = ray_cluster.head_node.node_id
    blocker = _Blocker.remote()
    extra = None
    try:
        assert ray.get(blocker.node_id.remote(), timeout=CALL_TIMEOUT) == head_id
        extra = ray_cluster.add_node(num_cpus=2)
        coordinator = start(config, run_dir, coordinators)
        log = GameLog(coordinator)
        nodes = ray.get([w.node_id.remote() for w in coordinator.workers], timeout=CALL_TIMEOUT)
        assert nodes == [extra.node_id] * len(coordinator.workers)
        learner_pid = ray.get(coordinator.learner.pid.remote(), timeout=CALL_TIMEOUT)
        ray.kill(blocker)  # the head's CPUs are free for the actors to come back to
        versions: list[int] = []
        removal: dict = {}

        def on_tick(c: Coordinator) -> None:
            versions.append(c.state.version)
            if removal or c.state.games < 4 or c.state.version < 1 or c.learner_task is None:
                return
            # wait (the driver fetching nothing meanwhile) until the learner has returned a version
            ready, _ = ray.wait([c.learner_task], timeout=60, fetch_local=False)
            where = ray.experimental.get_object_locations(ready).get(c.learner_task, {}).get("node_ids", [])
            if where != [extra.node_id]:
                return  # already fetched: try with the next version
            removal.update(games=c.state.games, next_id=c.state.next_game_id, version=c.state.version)
            ray_cluster.remove_node(extra)
            removal["checkpoint"] = json.loads((run_dir / "checkpoints" / LEARNER_STATE_FILE).read_text())["version"]
            removal["time"] = time.monotonic()

        def done(c: Coordinator) -> bool:
            if not removal:
                return False
            workers = {worker for _, g, worker in log.since(removal["time"]) if g >= removal["next_id"]}
            return (c.state.worker_failures >= 1 and c.state.learner_failures >= 1
                    and c.state.games >= removal["games"] + 6 and workers == set(range(len(c.workers)))
                    and c.state.version > removal["checkpoint"])

        run_until(coordinator, done, 240, on_tick)

        alive = {node["NodeID"] for node in ray.nodes() if node["Alive"]}
        assert extra.node_id not in alive
        nodes = ray.get([w.node_id.remote() for w in coordinator.workers], timeout=CALL_TIMEOUT)
        assert nodes == [head_id] * len(coordinator.workers)
        learner_state = ray.get(coordinator.learner.state.remote(), timeout=CALL_TIMEOUT)
        assert ray.get(coordinator.learner.pid.remote(), timeout=CALL_TIMEOUT) != learner_pid
        # the lost version had been committed: the learner came back with it, and went on from there
        assert removal["checkpoint"] == removal["version"] + 1
        assert learner_state["resumed_from"] == version_name(removal["checkpoint"])
        assert all(a <= b for a, b in itertools.pairwise(versions)), f"a version went back: {versions}"
        log.assert_each_game_once(coordinator)
        # the buffer (0 CPUs) may have been on either node: games recorded before the removal may be lost
        # with it (those since its snapshot), games played after are all there
        stats = ray.get(coordinator.buffer.stats.remote(), timeout=CALL_TIMEOUT)
        assert stats["games_added"] <= coordinator.state.games
        played_after = [g for g in log.ids if g >= removal["next_id"]]
        assert all(ray.get(coordinator.buffer.has_games.remote(played_after), timeout=CALL_TIMEOUT))
    finally:
        ray.kill(blocker)
        if extra is not None and extra in ray_cluster.worker_nodes:
            ray_cluster.remove_node(extra)
