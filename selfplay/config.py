"""Typed configuration of a self-play run, loaded from YAML.

One dataclass a component; ``load_config(path)`` validates the YAML into a ``SelfPlayConfig``:
an unknown key, a missing section of the wrong shape, a value of the wrong type or out of range
is a ``ConfigError`` naming the key (``search.visits: expected an integer >= 1, got 'many'``).
Every section is optional: what is left out takes the defaults below (the 9x9 recipe). The ``search``
section (``SearchConfig``, with its ranges) is defined in ``tenuki.search.settings``, whose
``search_params`` turns it into the settings of every search self-play and gating run. Loading a
config imports neither torch nor Ray.

Defaults and where they come from:

- search: PUCT with AlphaZero's c_init / c_base, Dirichlet noise 0.25 at the root with
  alpha = 0.03 * 361 / N^2 (Silver et al. 2018), moves sampled in proportion to visits for the
  first ``temperature_moves`` moves then the most visited (AlphaGo Zero);
- playout cap randomization (Wu 2019, KataGo): a move is a full search (``visits``) with
  probability ``full_probability`` and a cheap one (``cap_visits``, no noise) otherwise; only
  full searches become training positions;
- score utility (KataGo, Wu 2019): with ``search.score_weight`` w > 0 the value target is
  (1 - w) z + w tanh(margin / score_scale), the margin counted for the side to move (resigned
  games: z alone), and finished positions in the search get the same utility; a side that sees
  the game as lost still prefers losing by less instead of playing at random;
- resignation (AlphaGo Zero): resign below ``resign_threshold`` (a winrate), disabled in a
  ``resign_disabled_fraction`` of games that measure the false positives;
- replay window growing with the data (KataGo's power law, ``replay.window_*``) and a cap on
  samples trained per sample generated (``learner.max_train_ratio``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tenuki.common import yaml_config
from tenuki.common.yaml_config import ConfigError
from tenuki.search.settings import SEARCH_RANGES, SearchConfig

T = TypeVar("T")


@dataclass
class RunConfig:
    name: str = "go9x9"
    seed: int = 0
    max_hours: float = 3.0  # stop after this much wall time (0: no limit)
    max_games: int = 0  # stop after this many self-play games (0: no limit)
    max_versions: int = 0  # stop after this many network versions (0: no limit)
    sgf_every: int = 50  # keep the SGF of every k-th game (0: none)
    snapshot_every_s: float = 120.0  # replay snapshot and run state to disk at least this often
    plot_every_versions: int = 5  # redraw the PNG plots every k versions (and at the end)


@dataclass
class GameConfig:
    size: int = 9
    komi: float = 7.0
    max_moves: int = 0  # 0: 2 N^2 (the game is then scored as it stands)


@dataclass
class NetworkConfig:
    architecture: str = "alphazero_resnet"  # or alphago_policy / alphago_value (the AlphaGo stages)
    blocks: int = 6  # alphazero_resnet
    channels: int = 64  # alphazero_resnet
    filters: int = 64  # alphago_*: filters of every convolution layer
    layers: int = 6  # alphago_*: convolution layers, the final 1x1 included
    init_checkpoint: str = ""  # a checkpoint the learner starts from (the RL policy starts from the SL policy)


@dataclass
class WorkersConfig:
    count: int = 2
    cpus_per_worker: float = 1.0  # Ray logical CPUs each worker reserves
    games_per_task: int = 1  # games a worker plays per call (records come back together)
    max_in_flight: int = 2  # calls queued per worker (backpressure)
    game_generator: str = "alphazero"  # a name of tenuki.selfplay.games.GAME_GENERATORS (GAME_GENERATOR_NAMES)
    torch_threads: int = 1
    fast_inference: bool = True  # batch norm folded, NHWC, bfloat16 where the CPU has it (tenuki.agents.go.evaluator)
    # with fast_inference: "torch", or OpenVINO ("openvino"; "auto": where installed with native bfloat16,
    # else torch), tenuki.agents.go.evaluator.play_evaluator; the network is compiled again at each version
    inference: str = "torch"
    opponent_pool_every: int = 0  # versions between snapshots into the opponent pool (0: no pool)
    sl_policy: str = ""  # value-data games: the SL policy checkpoint (moves before the random move)
    rl_policy: str = ""  # value-data games: the RL policy checkpoint (moves after it)


@dataclass
class ReplayConfig:
    window_min: int = 20_000  # the window at the start (positions)
    window_max: int = 250_000  # the window never grows beyond this
    window_exponent: float = 0.75  # KataGo: window = c (1 + beta ((n / c)^alpha - 1) / alpha)
    window_beta: float = 0.4
    min_positions: int = 2_000  # no training before the buffer holds this many
    symmetries: bool = True  # a random one of the 8 board symmetries for every sampled position


@dataclass
class LearnerConfig:
    loss: str = "alphazero"  # a name of tenuki.selfplay.losses.LOSSES (LOSS_NAMES)
    batch_size: int = 256
    learning_rate: float = 0.02
    lr_drop_version: int = 0  # from this weight version on, train at learning_rate * lr_drop_factor (0: never)
    lr_drop_factor: float = 0.1  # AlphaGo Zero / AlphaZero drop the rate 10x in steps
    momentum: float = 0.9
    weight_decay: float = 1e-4  # L2 (AlphaZero: c = 1e-4)
    max_grad_norm: float = 0.0  # clip the gradient's global norm (0: no clipping)
    value_weight: float = 1.0
    ownership_weight: float = 0.0  # > 0: the network gets KataGo's ownership head, trained with this weight
    steps_per_version: int = 100  # optimizer steps between published weight versions
    max_train_ratio: float = 4.0  # samples trained / samples generated never exceeds this
    cpus: float = 0.0  # Ray logical CPUs the learner reserves
    torch_threads: int = 1
    device: str = "cpu"
    keep_checkpoints: int = 0  # 0: keep every version's checkpoint


@dataclass
class EvaluatorConfig:
    every_versions: int = 5  # gate / Elo evaluation every k versions (0: never)
    games: int = 20  # candidate vs best, alternating colours
    visits: int = 64
    gate_threshold: float = 0.55  # the candidate becomes the best at this score (AlphaGo Zero)
    selfplay_uses: str = "latest"  # "latest" (AlphaZero) or "best" (AlphaGo Zero gating)
    gnugo_every_versions: int = 0  # a match against GNU Go every k versions (0: never)
    gnugo_games: int = 4
    gnugo_level: int = 1
    gnugo_visits: int = 200
    gnugo_command: str = "/usr/games/gnugo"


@dataclass
class ClusterConfig:
    address: str = ""  # "": start a local Ray instance; "auto" or HOST:PORT: join a cluster
    num_cpus: int = 0  # local instance only; 0: the machine's cores
    include_dashboard: bool = False
    dashboard_host: str = "127.0.0.1"


@dataclass
class SelfPlayConfig:
    run: RunConfig = field(default_factory=RunConfig)
    game: GameConfig = field(default_factory=GameConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    workers: WorkersConfig = field(default_factory=WorkersConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    learner: LearnerConfig = field(default_factory=LearnerConfig)
    evaluator: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> SelfPlayConfig:
        _check_ranges(self)
        return self


# key -> (check, what is allowed); checked after types
_RANGES: yaml_config.Ranges = {
    "game.size": (lambda v: 2 <= v <= 19, "an integer in 2..19"),
    "game.max_moves": (lambda v: v >= 0, "an integer >= 0"),
    "network.blocks": (lambda v: v >= 1, "an integer >= 1"),
    "network.channels": (lambda v: v >= 1, "an integer >= 1"),
    **{f"search.{key}": rule for key, rule in SEARCH_RANGES.items()},
    "workers.count": (lambda v: v >= 1, "an integer >= 1"),
    "workers.cpus_per_worker": (lambda v: v >= 0.0, "a number >= 0"),
    "workers.games_per_task": (lambda v: v >= 1, "an integer >= 1"),
    "workers.max_in_flight": (lambda v: v >= 1, "an integer >= 1"),
    "workers.torch_threads": (lambda v: v >= 1, "an integer >= 1"),
    "workers.inference": (lambda v: v in ("torch", "auto", "openvino"), "one of torch, auto, openvino"),
    "replay.window_min": (lambda v: v >= 1, "an integer >= 1"),
    "replay.window_exponent": (lambda v: 0.0 < v <= 1.0, "a number in (0, 1]"),
    "replay.window_beta": (lambda v: v >= 0.0, "a number >= 0"),
    "replay.min_positions": (lambda v: v >= 1, "an integer >= 1"),
    "learner.batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "learner.learning_rate": (lambda v: v > 0.0, "a number > 0"),
    "learner.momentum": (lambda v: 0.0 <= v < 1.0, "a number in [0, 1)"),
    "learner.lr_drop_version": (lambda v: v >= 0, "an integer >= 0 (0: never)"),
    "learner.lr_drop_factor": (lambda v: 0.0 < v <= 1.0, "a number in (0, 1]"),
    "learner.weight_decay": (lambda v: v >= 0.0, "a number >= 0"),
    "learner.max_grad_norm": (lambda v: v >= 0.0, "a number >= 0 (0: no clipping)"),
    "learner.steps_per_version": (lambda v: v >= 1, "an integer >= 1"),
    "learner.max_train_ratio": (lambda v: v > 0.0, "a number > 0"),
    "learner.ownership_weight": (lambda v: v >= 0.0, "a number >= 0 (0: no ownership head)"),
    "learner.torch_threads": (lambda v: v >= 1, "an integer >= 1"),
    "evaluator.every_versions": (lambda v: v >= 0, "an integer >= 0"),
    "evaluator.games": (lambda v: v >= 1, "an integer >= 1"),
    "evaluator.visits": (lambda v: v >= 1, "an integer >= 1"),
    "evaluator.gate_threshold": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "evaluator.selfplay_uses": (lambda v: v in ("latest", "best"), '"latest" or "best"'),
    "evaluator.gnugo_level": (lambda v: 0 <= v <= 10, "an integer in 0..10"),
    "evaluator.gnugo_games": (lambda v: v >= 1, "an integer >= 1"),
    "run.max_hours": (lambda v: v >= 0.0, "a number >= 0"),
    "network.filters": (lambda v: v >= 1, "an integer >= 1"),
    "network.layers": (lambda v: v >= 2, "an integer >= 2"),
    "workers.opponent_pool_every": (lambda v: v >= 0, "an integer >= 0"),
    "run.snapshot_every_s": (lambda v: v > 0.0, "a number > 0"),
}


# Game generator -> (network architecture, loss) it trains. The names the config accepts: validating a YAML
# must not import the registries themselves (tenuki.selfplay.games, .losses, tenuki.agents.go.networks pull in
# torch); tests/selfplay/test_config.py checks that these names and the registries' keys agree.
STAGES = {
    "alphazero": ("alphazero_resnet", "alphazero"),
    "policy_pool": ("alphago_policy", "reinforce"),
    "value_data": ("alphago_value", "value_mse"),
}
GAME_GENERATOR_NAMES = tuple(STAGES)
ARCHITECTURE_NAMES = tuple(architecture for architecture, _ in STAGES.values())
LOSS_NAMES = tuple(loss for _, loss in STAGES.values())

def parse_section(cls: type[T], data: Any, where: str) -> T:
    """The dataclass ``cls`` read from the YAML mapping ``data`` at dotted key ``where`` ("" at the top);
    a bad key or value is a ``ConfigError`` naming it. Other trainers parse their YAML sections so."""
    return yaml_config.parse_section(cls, data, where, ConfigError)


def _check_ranges(config: SelfPlayConfig) -> None:
    yaml_config.check_ranges(config, _RANGES, ConfigError)
    stage = STAGES.get(config.workers.game_generator)
    if stage is not None:
        architecture, loss = stage
        if config.network.architecture != architecture:
            raise ConfigError(f"network.architecture: {config.workers.game_generator} games train a {architecture} "
                              f"network, got {config.network.architecture!r} (known: {', '.join(sorted(ARCHITECTURE_NAMES))})")
        if config.learner.loss != loss:
            raise ConfigError(f"learner.loss: {config.workers.game_generator} games train with the {loss!r} loss, "
                              f"got {config.learner.loss!r}")
        if architecture != "alphazero_resnet" and (config.evaluator.every_versions or config.evaluator.gnugo_every_versions):
            raise ConfigError("evaluator.every_versions / evaluator.gnugo_every_versions: the evaluator plays "
                              "az-mcts games; set both to 0 for the AlphaGo stages")
    if config.replay.window_max < config.replay.window_min:
        raise ConfigError(f"replay.window_max: expected >= replay.window_min ({config.replay.window_min}), "
                          f"got {config.replay.window_max}")
    if config.workers.game_generator not in GAME_GENERATOR_NAMES:
        raise ConfigError(f"workers.game_generator: unknown {config.workers.game_generator!r} "
                          f"(allowed: {', '.join(sorted(GAME_GENERATOR_NAMES))})")
    if config.learner.loss not in LOSS_NAMES:
        raise ConfigError(f"learner.loss: unknown {config.learner.loss!r} "
                          f"(allowed: {', '.join(sorted(LOSS_NAMES))})")


def config_from_dict(data: Any) -> SelfPlayConfig:
    """A validated config from a parsed YAML document (a mapping of sections)."""
    return parse_section(SelfPlayConfig, data, "").validate()


def load_config(path: str | Path) -> SelfPlayConfig:
    """Read and validate a YAML config; ``ConfigError`` names the file and the key at fault."""
    return yaml_config.load_yaml_config(path, config_from_dict, ConfigError)


def dump_config(config: SelfPlayConfig) -> str:
    """YAML text that ``load_config`` reads back to the same config."""
    return yaml_config.dump_yaml_config(config)
