"""Statistics of a match between two engines: win rate, its Wilson interval, the Elo difference.

Notation: engine A against engine B, ``n`` games, ``w`` wins, ``d`` draws (jigo) of A. A draw
counts half a win, so A's score is ``s = (w + d/2) / n``.

- **Wilson score interval** (E. B. Wilson, "Probable inference, the law of succession, and
  statistical inference", JASA 22, 1927) for the probability ``p`` that A wins a game, with
  ``z = 1.95996`` (two-sided 95%)::

      centre    = (s + z^2 / (2n)) / (1 + z^2 / n)
      half      = z / (1 + z^2 / n) * sqrt(s (1 - s) / n + z^2 / (4 n^2))
      interval  = [centre - half, centre + half]   (always inside [0, 1])

  Unlike the normal ("Wald") interval it stays meaningful at 0 or n wins: 0 wins of 10 gives
  [0, 0.278]. Counting a draw as half a success treats the games as Bernoulli trials with the
  same mean; with few draws (Go with half-point komi has none) that is the usual convention.

- **Elo difference** of A over B from a score ``p`` (logistic model, 400-point scale)::

      elo(p) = -400 * log10(1 / p - 1)        e.g. elo(0.5) = 0, elo(0.75) = +190.85

  The 95% interval of the Elo difference is ``[elo(lo), elo(hi)]`` of the Wilson bounds
  (``elo`` is increasing, so the interval maps through). At ``p = 0`` or ``1`` the difference is
  infinite: reported values are clamped to ``+-ELO_CAP`` (1000 Elo, a 99.7% score), so a
  clean sweep reads "+1000" and the JSON summary stays finite. ``elo_difference(p, cap=None)``
  gives the unclamped value (``+-inf`` at the ends).

- **Distinct games** (``distinct_games``): the number of different full move sequences among the
  games, each move with its colour ("B E5", "W pass"), the opening's moves included. Which engine
  sat on which colour is not part of it: an engine playing itself with the colours swapped, move
  for move, plays the same game twice, and that is what the count should show. The games a
  deterministic pair repeats are not new evidence, so "distinct games: 31 of 50" says the match
  measured 31 games; matches with ``--openings`` make them differ.

- **Time per move** from the referee's side: the wall time of every answered ``genmove``, the
  first move of a game included (a network loading or compiling shows there), per engine: mean,
  99th percentile and maximum. The percentile is the nearest rank (``percentile``): the smallest
  time that at least 99% of the moves kept to, always one of the measured times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenuki.play.match import GameResult, MatchConfig

Z_95 = 1.959963984540054  # the 97.5% quantile of the standard normal: a two-sided 95% interval
ELO_CAP = 1000.0  # |Elo| reported at most this much; elo(0.99685) = 1000


def wilson_interval(successes: float, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval ``(low, high)`` of a success probability.

    ``successes`` may be fractional (a draw is half a success). No trials: ``(0, 1)``."""
    if trials <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= trials:
        raise ValueError(f"successes {successes} must lie in 0..{trials} (the number of trials)")
    p = successes / trials
    z2 = z * z
    denominator = 1.0 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


def elo_difference(score: float, cap: float | None = ELO_CAP) -> float:
    """Elo difference implied by an expected score in [0, 1], clamped to ``+-cap`` (``cap=None``:
    ``+-inf`` at 0 and 1)."""
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"a score must lie in [0, 1], got {score}")
    if score <= 0.0:
        elo = -math.inf
    elif score >= 1.0:
        elo = math.inf
    else:
        elo = -400.0 * math.log10(1.0 / score - 1.0)
    if cap is not None:
        elo = max(-cap, min(cap, elo))
    return elo + 0.0  # -0.0 (at a score of exactly 1/2) reads as 0


def score_from_elo(elo: float) -> float:
    """Inverse of ``elo_difference``: the expected score of a player ``elo`` points stronger."""
    return 1.0 / (1.0 + 10.0 ** (-elo / 400.0))


def match_statistics(wins: int, draws: int, games: int, z: float = Z_95) -> dict[str, float | list[float]]:
    """Score, its Wilson interval and the Elo difference (with interval) of one side of a match.

    Keys: ``score`` (wins + draws/2) / games, ``score_ci95`` [low, high], ``elo``, ``elo_ci95``
    [low, high], ``elo_cap``. With no games: score 0.5, interval [0, 1], Elo 0 in [-cap, +cap]."""
    if games <= 0:
        return {"score": 0.5, "score_ci95": [0.0, 1.0], "elo": 0.0,
                "elo_ci95": [-ELO_CAP, ELO_CAP], "elo_cap": ELO_CAP}
    successes = wins + 0.5 * draws
    low, high = wilson_interval(successes, games, z)
    score = successes / games
    return {
        "score": score,
        "score_ci95": [low, high],
        "elo": elo_difference(score),
        "elo_ci95": [elo_difference(low), elo_difference(high)],
        "elo_cap": ELO_CAP,
    }


def percentile(values: list[float], percent: float) -> float:
    """The nearest-rank percentile: the ``ceil(percent / 100 * n)``-th smallest of ``values`` (0 for none).

    ``percentile(times, 99)`` is the smallest time that at least 99% of the moves kept to; with fewer
    than 100 moves it is the longest one."""
    if not 0.0 < percent <= 100.0:
        raise ValueError(f"a percentile must lie in (0, 100], got {percent}")
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = math.ceil(percent / 100.0 * len(ordered))
    return ordered[max(rank, 1) - 1]


def distinct_games(sequences: list[list[str]]) -> int:
    """How many different move sequences ``sequences`` holds (each a game's moves, e.g. ["B E5", "W C4"])."""
    return len({tuple(sequence) for sequence in sequences})


# ---------------------------------------------------------------------------------- a match summary


@dataclass
class EngineRecord:
    """One engine's tally over a match."""

    label: str  # "A" or "B"
    command: str
    name: str = ""  # "name version" as the engine answered (first game that asked)
    wins: int = 0
    losses: int = 0
    draws: int = 0
    wins_as_black: int = 0
    wins_as_white: int = 0
    forfeits: int = 0  # games lost by forfeit
    genmove_seconds: float = 0.0
    genmoves: int = 0
    genmove_times: list[float] = field(default_factory=list)  # seconds of every answered genmove, all games

    @property
    def seconds_per_move(self) -> float:
        """Mean wall time of a genmove (the referee's clock)."""
        return self.genmove_seconds / self.genmoves if self.genmoves else 0.0

    @property
    def p99_seconds_per_move(self) -> float:
        """The 99th percentile (nearest rank) of the genmove times."""
        return percentile(self.genmove_times, 99.0)

    @property
    def max_seconds_per_move(self) -> float:
        return max(self.genmove_times, default=0.0)

    def to_dict(self) -> dict:
        """JSON-ready: the per-move times as their mean, 99th percentile and maximum."""
        out = {k: v for k, v in self.__dict__.items() if k != "genmove_times"}
        out["seconds_per_move"] = self.seconds_per_move
        out["p99_seconds_per_move"] = self.p99_seconds_per_move
        out["max_seconds_per_move"] = self.max_seconds_per_move
        return out


@dataclass
class MatchSummary:
    """The outcome of a match, per engine (A and B), with its conditions and every game."""

    conditions: dict[str, object]  # size, komi, time / timeout, max moves, referee rules, commands
    engines: dict[str, EngineRecord]
    games: list[GameResult]
    wall_seconds: float

    @property
    def statistics(self) -> dict[str, float | list[float]]:
        """Engine A's score, Wilson interval and Elo difference over B (see ``match_statistics``)."""
        a = self.engines["A"]
        return match_statistics(a.wins, a.draws, len(self.games))

    @property
    def forfeits(self) -> list[dict[str, object]]:
        return [{"game": g.index + 1, **g.forfeit.__dict__} for g in self.games if g.forfeit is not None]

    @property
    def average_moves(self) -> float:
        return sum(g.moves for g in self.games) / len(self.games) if self.games else 0.0

    @property
    def distinct_games(self) -> int:
        """Games with different full move sequences (colours of the moves included, seats not)."""
        return distinct_games([g.sequence for g in self.games])

    @property
    def openings_played(self) -> int:
        """Different openings the games started from (0 without openings)."""
        return len({g.opening for g in self.games if g.opening is not None})

    def to_dict(self) -> dict:
        """One JSON-ready object (all numbers finite: Elo is clamped to +-ELO_CAP)."""
        stats = self.statistics
        return {
            "conditions": self.conditions,
            "games": len(self.games),
            "engines": {label: record.to_dict() for label, record in self.engines.items()},
            "a_score": stats["score"],
            "a_score_ci95": stats["score_ci95"],
            "elo_a_minus_b": stats["elo"],
            "elo_ci95": stats["elo_ci95"],
            "elo_cap": stats["elo_cap"],
            "confidence_interval": "Wilson score interval, 95%, a draw counts half a win",
            "forfeits": self.forfeits,
            "distinct_games": self.distinct_games,
            "openings_played": self.openings_played,
            "average_moves": self.average_moves,
            "wall_seconds": self.wall_seconds,
            "results": [g.to_dict() for g in self.games],
        }


def summarize(config: MatchConfig, games: list[GameResult], wall_seconds: float) -> MatchSummary:
    """Tally finished games per engine."""
    engines = {spec.label: EngineRecord(spec.label, spec.command) for spec in (config.engine_a, config.engine_b)}
    for game in games:
        for label, record in engines.items():
            if not record.name and game.names.get(label):
                record.name = game.names[label]
            record.genmove_seconds += game.genmove_seconds.get(label, 0.0)
            record.genmoves += game.genmoves.get(label, 0)
            record.genmove_times.extend(game.genmove_times.get(label, ()))
            if game.winner is None:
                record.draws += 1
            elif game.winner == label:
                record.wins += 1
                if game.black == label:
                    record.wins_as_black += 1
                else:
                    record.wins_as_white += 1
            else:
                record.losses += 1
                if game.forfeit is not None:
                    record.forfeits += 1
    conditions: dict[str, object] = {
        "size": config.size,
        "komi": config.komi,
        "seconds_per_move": config.seconds_per_move,
        "move_timeout_s": config.genmove_timeout,
        "max_moves": config.move_limit,
        "alternate_colors": config.alternate_colors,
        "parallel": config.parallel,
        "referee": f"tenuki Board, {config.ko_rule} ko, no suicide",
        "scoring": "final_score if both agree, else GNU Go's, else the agreed winner, else Tromp-Taylor area",
        "engine_a": config.engine_a.command,
        "engine_b": config.engine_b.command,
        "sgf_dir": None if config.sgf_dir is None else str(config.sgf_dir),
        "openings": [" ".join(opening) for opening in config.openings],
        "opening_rule": ("none: every game from the empty board" if not config.openings else
                         "game index g (0-based) plays openings[(g // 2) mod n], colours swapped in odd g"
                         if config.alternate_colors else "game index g (0-based) plays openings[g mod n]"),
    }
    return MatchSummary(conditions, engines, list(games), wall_seconds)
