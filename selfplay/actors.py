"""The Ray actors of a self-play run. Each wraps a plain, separately tested core.

====================  ==============================================================  ================
actor                 does                                                            on a restart
====================  ==============================================================  ================
``SelfPlayWorker``    plays games with the weights of one version (numba MCTS +       nothing to keep
                      ``TorchEvaluator``); records come back by value
``ReplayBuffer``      ``replay.ReplayStore``: adds games once, samples with           reloads its last
                      symmetries, snapshots to ``RUN_DIR/replay.npz``                 snapshot
``Learner``           ``learner.LearnerCore``: pulls batches from the buffer,         reloads its last
                      trains, checkpoints, returns weights by value                   checkpoint
``Gatekeeper``        gating matches (candidate vs best) and matches vs GNU Go        nothing to keep
====================  ==============================================================  ================

Every actor is created with ``max_restarts=-1`` and ``max_task_retries=0``: Ray restarts a dead
actor (on another node if its node is gone) and the coordinator decides what to retry, so a game
is never recorded twice (the buffer ignores a game id it has seen). Weights travel once per
version: the coordinator ``ray.put``s them (it owns the object, so it outlives any actor) and
passes the reference inside a list, so a worker fetches it only when the version changes.
Constructor arguments are plain values, never object references or actor handles: Ray re-runs
``__init__`` with the same arguments on a restart but does not keep their objects alive for it
(ray-project/ray#53727), so the learner finds the replay buffer by its actor name.
("Evaluator" elsewhere is the network callback a search calls, ``tenuki.search.mcts.Evaluator``.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import ray

from tenuki.selfplay.config import SelfPlayConfig

ACTOR_OPTIONS = {"max_restarts": -1, "max_task_retries": 0}


def _limit_threads(count: int) -> None:
    from tenuki.agents.torch_cpu import configure_torch_cpu

    configure_torch_cpu(count)
    os.environ.setdefault("OMP_NUM_THREADS", str(count))


@ray.remote(**ACTOR_OPTIONS)
class SelfPlayWorker:
    """Plays self-play games; generic over the game generator (``tenuki.selfplay.games``)."""

    def __init__(self, config: SelfPlayConfig, index: int):
        _limit_threads(config.workers.torch_threads)
        from tenuki.selfplay.learner import build_model, make_evaluator

        self.config = config
        self.index = index
        self.model = build_model(config)
        self.evaluator = make_evaluator(self.model, config)
        self.version = -1
        self.games_played = 0
        self.node = ray.get_runtime_context().get_node_id()  # tagged on each record: where it was played
        self.cache: dict = {}  # per-worker state of the game generator (searchers, fixed networks)
        self.opponent: tuple[int, object] | None = None  # (version, evaluator) from the opponent pool

    def pid(self) -> int:
        return os.getpid()

    def node_id(self) -> str:
        return self.node

    def warm_up(self) -> str:
        """Compile the numba kernels (cached on disk) before the first timed game; returns the id of
        the Ray node this worker runs on."""
        from tenuki.envs.go.board import Board

        board = Board(self.config.game.size)
        if self.config.network.architecture.startswith("alphago"):  # the AlphaGo stages: features, no search
            import numpy as np

            from tenuki.agents.go.features import alphago_planes

            planes = alphago_planes(board, value=self.evaluator.in_planes == 49)
            self.evaluator(planes[None].astype(np.float32))
            return self.node
        from tenuki.search.mcts import MCTS
        from tenuki.search.settings import search_params

        MCTS(self.evaluator, search_params(self.config.search, self.config.game.size, visits=8)).run(board)
        return self.node

    def _load(self, version: int, weights_box: list) -> None:
        if version == self.version:
            return
        from tenuki.selfplay.learner import numpy_to_state_dict

        weights = ray.get(weights_box[0])
        self.evaluator.load_state_dict(numpy_to_state_dict(weights))
        self.model.eval()
        self.version = version

    def _load_opponent(self, opponent: tuple[int, list] | None):
        """The evaluator of an opponent-pool version (kept while the next game uses it too)."""
        if opponent is None:
            return None, -1
        version, box = opponent
        if self.opponent is None or self.opponent[0] != version:
            from tenuki.selfplay.learner import build_model, make_evaluator, numpy_to_state_dict

            model = build_model(self.config)
            model.load_state_dict(numpy_to_state_dict(ray.get(box[0])))
            self.opponent = (version, make_evaluator(model.eval(), self.config))
        return self.opponent[1], version

    def play(self, version: int, weights_box: list, game_ids: list[int], seeds: list[int],
             resign_threshold: float | None = None, keep_sgf: list[bool] | None = None,
             opponent: tuple[int, list] | None = None) -> list:
        from tenuki.selfplay.games import GameContext, play_games

        self._load(version, weights_box)
        opponent_evaluator, opponent_version = self._load_opponent(opponent)
        contexts = [GameContext(self.config, self.evaluator, version, worker=self.index,
                                resign_threshold=resign_threshold,
                                keep_sgf=bool(keep_sgf[i]) if keep_sgf else False, state=self.cache,
                                opponent=opponent_evaluator, opponent_version=opponent_version)
                    for i in range(len(game_ids))]
        records = play_games(self.config.workers.game_generator, contexts, [int(g) for g in game_ids],
                             [int(s) for s in seeds])
        for record in records:
            record.extra["node"] = self.node
        self.games_played += len(records)
        return records


@ray.remote(**ACTOR_OPTIONS)
class ReplayBuffer:
    """The replay window as an actor; restores ``snapshot_path`` when it (re)starts."""

    def __init__(self, fields: dict, capacity: int, window_min: int, window_exponent: float, window_beta: float,
                 symmetries: bool, board_size: int | None, seed: int, snapshot_path: str | None = None):
        from tenuki.selfplay.replay import ReplayStore

        self.store = ReplayStore(fields, capacity, window_min, window_exponent, window_beta, symmetries,
                                 board_size, seed)
        self.snapshot_path = snapshot_path
        self.restored = 0
        if snapshot_path and Path(snapshot_path).exists():
            self.restored = self.store.restore(snapshot_path)

    def pid(self) -> int:
        return os.getpid()

    def add_games(self, games: list[tuple[int, dict[str, np.ndarray]]]) -> list[int]:
        """Adds each (game_id, samples); returns the positions added per game (0: seen before)."""
        return [self.store.add(game_id, samples) for game_id, samples in games]

    def has_games(self, game_ids: list[int]) -> list[bool]:
        return [self.store.has_game(g) for g in game_ids]

    def sample(self, batch_size: int) -> dict[str, np.ndarray]:
        return self.store.sample(batch_size)

    def snapshot(self) -> dict[str, int]:
        if self.snapshot_path:
            self.store.snapshot(self.snapshot_path)
        return self.store.stats()

    def stats(self) -> dict[str, Any]:
        return {**self.store.stats(), "restored": self.restored}


@ray.remote(**ACTOR_OPTIONS)
class Learner:
    """Trains on batches sampled from the buffer; generic over the loss (``tenuki.selfplay.losses``).
    ``buffer_name``: the ``ReplayBuffer``'s actor name (its handle is looked up, not passed: a handle
    among the constructor arguments would have to outlive every restart, see the module docstring)."""

    def __init__(self, config: SelfPlayConfig, run_dir: str | None, buffer_name: str):
        _limit_threads(config.learner.torch_threads)
        from tenuki.selfplay.learner import LearnerCore

        self.core = LearnerCore(config, run_dir)
        self.buffer = ray.get_actor(buffer_name)
        self.config = config
        if run_dir is not None and self.core.resumed_from is None:
            self.core.save()  # version 0 (the random network) is on disk before anyone plays it

    def pid(self) -> int:
        return os.getpid()

    def state(self) -> dict[str, Any]:
        core = self.core
        return {"version": core.version, "step": core.step, "samples_trained": core.samples_trained,
                "resumed_from": core.resumed_from}

    def weights(self) -> tuple[int, dict[str, np.ndarray]]:
        return self.core.version, self.core.weights()

    def train(self, steps: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """``steps`` optimizer steps, then a new version, checkpointed before it is returned
        (metrics, weights) by value."""
        batch_size = self.config.learner.batch_size

        def batches():
            pending = self.buffer.sample.remote(batch_size)
            while True:
                batch = ray.get(pending)
                pending = self.buffer.sample.remote(batch_size)  # the next batch is fetched during the step
                yield batch

        metrics = self.core.train(batches(), steps)
        self.core.new_version()
        if self.core.run_dir is not None:
            self.core.save()
        return {**metrics, **self.state()}, self.core.weights()


@ray.remote(**ACTOR_OPTIONS)
class Gatekeeper:
    """Gating matches and matches against GNU Go (``tenuki.selfplay.gatekeeper``)."""

    def __init__(self, config: SelfPlayConfig, run_dir: str | None):
        _limit_threads(1)
        self.config = config
        self.run_dir = run_dir

    def pid(self) -> int:
        return os.getpid()

    def gate(self, candidate: tuple[int, dict], best: tuple[int, dict], seed: int) -> dict[str, Any]:
        from tenuki.selfplay.gatekeeper import gate_match

        return gate_match(self.config, candidate, best, seed)

    def vs_gnugo(self, candidate: tuple[int, dict], seed: int) -> dict[str, Any]:
        from tenuki.selfplay.gatekeeper import gnugo_match

        return gnugo_match(self.config, candidate, self.run_dir, seed)
