"""tenuki.selfplay: self-play training on Ray (AlphaZero's loop, KataGo's refinements), the AlphaGo
self-play stages and the distributed Atari trainers.

Parts:

===============  ======================================================================================
``config``       ``SelfPlayConfig`` and its sections, read from YAML (``load_config``, ``config_from_dict``,
                 ``dump_config``; a bad key or value is a ``tenuki.common.ConfigError`` naming it); the
                 ``search`` section is the search layer's ``tenuki.search.SearchConfig``
``games``        what a worker plays: ``alphazero_game`` (PUCT self-play with playout cap randomization,
                 resignation, score utility), the ``GAME_GENERATORS`` registry, ``BATCH_GENERATORS``
                 (a task's games in lockstep, one network batch a move) and ``play_games``, ``GameRecord``,
                 ``GameContext``, ``sample_fields``, ``selfplay_search_params``
``gatekeeper``   gating (candidate vs best with self-play's search settings: ``gate_search_params``,
                 ``gate_match``) and matches against GNU Go (``gnugo_match``)
``replay``       ``ReplayStore``: the replay window (KataGo's growing window), symmetries, snapshots
``learner``      ``LearnerCore``: optimizer steps, versions, checkpoints; ``build_model``
``losses``       the losses by name (``LOSSES``: alphazero, reinforce, value_mse)
``actors``       the Ray actors around those cores: ``SelfPlayWorker``, ``ReplayBuffer``, ``Learner``,
                 ``Gatekeeper``
``coordinator``  ``Coordinator``: the driver loop (backpressure, training ratio, gating, faults)
``run_state``    the run directory: ``RunState`` (counters in ``state.json``), ``prepare_run_dir``,
                 ``RunDirError``
``status``       ``summarize_run`` / ``format_summary``: a run read from its files
``metrics``      ``MetricsWriter`` (metrics.csv, TensorBoard) and ``plot_run``
``cluster``      ``connect``: a local Ray instance or an existing cluster (``ClusterError``)
``alphago``      (subpackage) AlphaGo's RL-policy and value-data games, policy matches, the value
                 network's error
``atari``        (subpackage) Ape-X DQN on Ray actors and the RLlib baseline
===============  ======================================================================================

Loading a config imports neither torch nor Ray: this face imports the light parts (config, run
state, games, gatekeeper, replay, status, metrics; numpy and numba) and loads the rest on first use
(PEP 562 ``__getattr__``): ``actors``, ``coordinator`` and ``cluster`` import Ray, ``learner`` and
``losses`` torch. Modules of this package import each other by their defining module, never through
this face.
"""

from __future__ import annotations

from tenuki.common.lazy import lazy_exports
from tenuki.selfplay.config import (
    STAGES,
    ClusterConfig,
    EvaluatorConfig,
    GameConfig,
    LearnerConfig,
    NetworkConfig,
    ReplayConfig,
    RunConfig,
    SelfPlayConfig,
    WorkersConfig,
    config_from_dict,
    dump_config,
    load_config,
)
from tenuki.selfplay.games import (
    BATCH_GENERATORS,
    GAME_GENERATORS,
    BatchGenerator,
    GameContext,
    GameRecord,
    alphazero_game,
    play_games,
    sample_fields,
    selfplay_search_params,
)
from tenuki.selfplay.gatekeeper import gate_match, gate_search_params, gnugo_match
from tenuki.selfplay.metrics import MetricsWriter, plot_run
from tenuki.selfplay.replay import ReplayError, ReplayStore
from tenuki.selfplay.run_state import RunDirError, RunState, prepare_run_dir
from tenuki.selfplay.status import format_summary, summarize_run

# name -> defining module (a part: the module itself), imported when the name is first asked for
_LAZY = {
    "alphago": "tenuki.selfplay.alphago",
    "atari": "tenuki.selfplay.atari",
    "Gatekeeper": "tenuki.selfplay.actors",
    "Learner": "tenuki.selfplay.actors",
    "ReplayBuffer": "tenuki.selfplay.actors",
    "SelfPlayWorker": "tenuki.selfplay.actors",
    "ClusterError": "tenuki.selfplay.cluster",
    "connect": "tenuki.selfplay.cluster",
    "Coordinator": "tenuki.selfplay.coordinator",
    "LearnerCore": "tenuki.selfplay.learner",
    "TrainingDiverged": "tenuki.selfplay.learner",
    "build_model": "tenuki.selfplay.learner",
    "LOSSES": "tenuki.selfplay.losses",
}

__all__ = [
    "BATCH_GENERATORS",
    "GAME_GENERATORS",
    "LOSSES",
    "STAGES",
    "BatchGenerator",
    "ClusterConfig",
    "ClusterError",
    "Coordinator",
    "EvaluatorConfig",
    "GameConfig",
    "GameContext",
    "GameRecord",
    "Gatekeeper",
    "Learner",
    "LearnerConfig",
    "LearnerCore",
    "MetricsWriter",
    "NetworkConfig",
    "ReplayBuffer",
    "ReplayConfig",
    "ReplayError",
    "ReplayStore",
    "RunConfig",
    "RunDirError",
    "RunState",
    "SelfPlayConfig",
    "SelfPlayWorker",
    "TrainingDiverged",
    "WorkersConfig",
    "alphago",
    "alphazero_game",
    "atari",
    "build_model",
    "config_from_dict",
    "connect",
    "dump_config",
    "format_summary",
    "gate_match",
    "gate_search_params",
    "gnugo_match",
    "load_config",
    "play_games",
    "plot_run",
    "prepare_run_dir",
    "sample_fields",
    "selfplay_search_params",
    "summarize_run",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
