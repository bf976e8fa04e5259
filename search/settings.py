"""Search settings: what one PUCT search runs with, and the one path from a config to it.

Two records and one function (KataGo's ``Setup::loadSingleParams`` builds ``SearchParams`` so, in
``cpp/program/setup.cpp``, for gtp, match, self-play and the gatekeeper alike)::

    SearchConfig   the YAML ``search:`` section, as typed and range-checked by a config loader
                   (``tenuki.selfplay.config`` checks it with ``SEARCH_RANGES``)
    MCTSConfig     the settings of one ``tenuki.search.mcts.MCTS`` (validated on construction)
    search_params  SearchConfig (+ board size, budget, root noise, seed) -> MCTSConfig

Self-play, gating and the players build their ``MCTSConfig`` with ``search_params`` and nowhere
else, so a setting read from YAML reaches every search, or none (the gate once judged networks
without the ``fpu_reduction``, ``pass_after_move`` and ``score_weight`` that self-play trained them
with). What ``search_params`` does not decide stays with the caller: the budget of a move
(``visits``: a full or a capped search, a gate's visits), whether the root gets noise
(``root_noise``, also per call: ``MCTS.run(board, root_noise=...)``) and the seed.

Some fields of ``SearchConfig`` are not search settings but how self-play uses the searches
(playout cap randomization, temperature, resignation, tree reuse); ``tenuki.selfplay.games`` reads
them, ``search_params`` ignores them. No torch and no Ray here (search is below both).
"""

from __future__ import annotations

from dataclasses import dataclass

from tenuki.common.yaml_config import Ranges


class SearchConfigError(ValueError):
    """A search setting outside its allowed range."""


@dataclass
class MCTSConfig:
    """PUCT settings. Defaults are AlphaZero's (Silver et al. 2018): c_init 1.25, c_base 19652.
    AlphaGo's constant c_puct = 5 is ``c_init=5, c_base=0``."""

    num_simulations: int = 800
    batch_size: int = 16
    c_init: float = 1.25
    c_base: float = 19652.0
    fpu_reduction: float = 0.0
    dirichlet_alpha: float | None = None  # None: 0.03 * 361 / N^2 (AlphaZero's 0.03 scaled to the board)
    dirichlet_weight: float = 0.0  # 0.25 in self-play; 0 (off) when playing; MCTS.run(root_noise=) overrides
    random_symmetry: bool = False  # evaluate every position under a random one of the 8 symmetries
    komi: float | None = None  # None: the board's komi
    max_depth: int = 128  # longest path a simulation may take (deeper ones are dropped)
    mix_lambda: float = 0.0  # AlphaGo APV-MCTS: leaf value (1 - lambda) v + lambda z (AlphaGo: 0.5)
    expand_threshold: int = 0  # AlphaGo: a leaf is expanded after this many visits (rollouts before)
    pass_min_move: int = 0  # self-play: no pass before this move unless the opponent passed (puct.collect_leaves)
    score_weight: float = 0.0  # terminal utility (1 - w) * win/loss + w * tanh(margin / score_scale) (KataGo)
    score_scale: float = 0.0  # 0: the board size
    seed: int = 0

    def __post_init__(self) -> None:
        if self.num_simulations < 1:
            raise SearchConfigError(f"num_simulations must be >= 1, got {self.num_simulations}")
        if not 1 <= self.batch_size <= 256:
            raise SearchConfigError(f"batch_size must be in 1..256, got {self.batch_size}")
        if not 0.0 <= self.mix_lambda <= 1.0:
            raise SearchConfigError(f"mix_lambda must be in [0, 1], got {self.mix_lambda}")
        if self.expand_threshold < 0:
            raise SearchConfigError(f"expand_threshold must be >= 0, got {self.expand_threshold}")
        check_root_noise(self.dirichlet_weight, "dirichlet_weight")
        if not 0.0 <= self.score_weight <= 1.0 or self.score_scale < 0:
            raise SearchConfigError(f"score_weight must be in [0, 1] and score_scale >= 0, got "
                                    f"{self.score_weight}, {self.score_scale}")


def check_root_noise(weight: float, name: str = "root_noise") -> None:
    """``SearchConfigError`` unless ``weight`` (the Dirichlet noise's share of the root priors) is in [0, 1]."""
    if not 0.0 <= weight <= 1.0:
        raise SearchConfigError(f"{name} must be in [0, 1], got {weight}")


@dataclass
class SearchConfig:
    """The YAML ``search:`` section. Defaults are the 9x9 self-play recipe (``tenuki.selfplay.config``)."""

    visits: int = 200  # a full search
    cap_visits: int = 40  # self-play: a cheap search (playout cap randomization)
    full_probability: float = 0.25  # self-play: share of moves searched in full
    batch_size: int = 8  # leaves evaluated together (virtual loss)
    c_init: float = 1.25
    c_base: float = 19652.0  # 0: a constant c_puct = c_init (AlphaGo)
    fpu_reduction: float = 0.0
    dirichlet_weight: float = 0.25  # root noise of a full self-play search (off in capped searches and gating)
    dirichlet_alpha: float = 0.0  # 0: 0.03 * 361 / N^2
    temperature_moves: int = 10  # self-play: moves sampled in proportion to visits, then the most visited
    temperature: float = 1.0
    resign_threshold: float = 0.05  # self-play: winrate of the side to move; 0 never resigns
    resign_disabled_fraction: float = 0.2  # games played out to measure false positives
    resign_min_moves: int = 10  # no resignation before this move number
    target_false_positive: float = 0.05  # the threshold is lowered when false positives exceed this
    tree_reuse: bool = True
    pass_after_move: int = -1  # no pass before this move unless the opponent passed; -1: 0.4 N^2; 0: off
    score_weight: float = 0.0  # value target and terminal utility: (1 - w) z + w tanh(margin / score_scale)
    score_scale: float = 0.0  # points; 0: the board size
    max_depth: int = 0  # longest simulation path; 0: 2 N^2, at least 64
    mix_lambda: float = 0.0  # AlphaGo APV-MCTS: leaf value (1 - lambda) v + lambda z (AlphaGo: 0.5)
    expand_threshold: int = 0  # AlphaGo: a leaf is expanded after this many visits (rollouts before)
    random_symmetry: bool = False  # evaluate every position under a random one of the 8 symmetries


# key of SearchConfig -> (check, what is allowed); a loader prefixes its section's key ("search.visits")
SEARCH_RANGES: Ranges = {
    "visits": (lambda v: v >= 1, "an integer >= 1"),
    "cap_visits": (lambda v: v >= 1, "an integer >= 1"),
    "full_probability": (lambda v: 0.0 < v <= 1.0, "a number in (0, 1]"),
    "batch_size": (lambda v: 1 <= v <= 256, "an integer in 1..256"),
    "dirichlet_weight": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "dirichlet_alpha": (lambda v: v >= 0.0, "a number >= 0"),
    "temperature": (lambda v: v > 0.0, "a number > 0"),
    "temperature_moves": (lambda v: v >= 0, "an integer >= 0"),
    "resign_threshold": (lambda v: 0.0 <= v < 0.5, "a winrate in [0, 0.5)"),
    "resign_disabled_fraction": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "pass_after_move": (lambda v: v >= -1, "an integer >= -1 (-1: 0.4 N^2, 0: off)"),
    "score_weight": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "score_scale": (lambda v: v >= 0.0, "a number >= 0"),
    "max_depth": (lambda v: v >= 0, "an integer >= 0 (0: 2 N^2, at least 64)"),
    "mix_lambda": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "expand_threshold": (lambda v: v >= 0, "an integer >= 0"),
}


def pass_min_move(section: SearchConfig, board_size: int) -> int:
    """The move number from which searches consider passing (before it only after a pass):
    ``pass_after_move``, with -1 read as 0.4 N^2."""
    value = section.pass_after_move
    return int(0.4 * board_size ** 2) if value < 0 else value


def search_params(section: SearchConfig, board_size: int, *, visits: int | None = None,
                  root_noise: float | None = None, seed: int = 0) -> MCTSConfig:
    """The ``MCTSConfig`` of a search on a ``board_size`` board, built from the ``search:`` section.

    visits      simulations of a search (default ``section.visits``; ``MCTS.run`` may still ask for
                another budget per call, as self-play's capped searches do)
    root_noise  Dirichlet weight at the root (default ``section.dirichlet_weight``; 0: no noise, as
                gating and match play want; ``MCTS.run(root_noise=)`` overrides it per call)
    seed        the searcher's random generator (noise, symmetries, rollouts)

    Every other field of ``MCTSConfig`` comes from the section; ``komi`` stays None (the board's).
    Raises ``SearchConfigError`` for a value outside ``MCTSConfig``'s ranges.
    """
    return MCTSConfig(
        num_simulations=section.visits if visits is None else visits,
        batch_size=section.batch_size,
        c_init=section.c_init,
        c_base=section.c_base,
        fpu_reduction=section.fpu_reduction,
        dirichlet_alpha=section.dirichlet_alpha or None,
        dirichlet_weight=section.dirichlet_weight if root_noise is None else root_noise,
        random_symmetry=section.random_symmetry,
        max_depth=section.max_depth or max(2 * board_size * board_size, 64),
        mix_lambda=section.mix_lambda,
        expand_threshold=section.expand_threshold,
        pass_min_move=pass_min_move(section, board_size),
        score_weight=section.score_weight,
        score_scale=section.score_scale,
        seed=seed,
    )
