"""Ratings of a tournament: one Bradley-Terry fit of all games, the standings, ``tournament.json`` and ``elo.png``.

**The model** (Bradley & Terry 1952; Elo's logistic scale): engine i beats engine j with probability
``sigma(r_i - r_j)``, ``sigma(x) = 1 / (1 + e^-x)``, ``r`` the strengths in nats. Every game counts: a
draw is half a win each way, a forfeit a loss of the engine that forfeited (the match records it that
way). With ``W[i, j]`` i's score against j (wins + draws / 2) and ``N = W + W^T`` the games, the fit
minimises the negative log posterior

    f(r) = sum_ij W[i, j] * log(1 + e^-(r_i - r_j))  +  (lambda / 2) * sum_i r_i^2

with ``scipy.optimize.minimize`` (``trust-exact``, the analytic gradient ``N sigma(r_i - r_j) - W`` summed
over j, plus ``lambda r``, and the Hessian below). f is strictly convex, so the minimum is unique.

**The prior** (the ridge term): each strength has a Gaussian prior of mean 0 and standard deviation
``PRIOR_SD_ELO`` = 1000 Elo (5.76 nats, ``lambda = 1 / 5.76^2 = 0.030``). It is what keeps an undefeated
engine finite (10 wins of 10 against one opponent: +851 Elo, interval [-293, +1996], instead of infinity)
and fixes the free shift of the strengths. Elsewhere it shrinks differences by a factor of about
``1 / (1 + lambda / (2 n p (1 - p)))`` for n games at a score p (two engines): 0.7% (1 Elo) at 7 wins of 10,
0.4% (1.6 Elo) at 4 of 40, 1.6% (6 Elo) at 9 of 10; always under 2% of the closed form
``400 log10(w / (n - w))`` for 1..n-1 wins (tests/play/test_tournament.py checks it), far inside the interval.

**The 95% interval** of an engine's Elo is the Wald interval of its difference to the anchor from the
observed Fisher information: ``H = L + lambda I`` with ``L`` the Laplacian of the weights
``N[i, j] sigma(d) (1 - sigma(d))`` at the fit, ``C = H^-1``, ``var(r_i - r_a) = C_ii + C_aa - 2 C_ia``,
``elo +- 1.96 * (400 / ln 10) * sqrt(var)``. The anchor's own interval is its stated Elo. It is
symmetric, so at a score of 0 or 100% it is wide and says little more than "beyond the prior".

**Elo** = ``400 / ln 10 * r`` (173.7 per nat), shifted so the anchor has its stated Elo (AlphaGo's Fig. 4
puts GNU Go at 431). An engine with no path of games to the anchor has no Elo (``null``). Each pairing
also gets the match's Wilson interval of its score and the Elo difference it maps to
(``tenuki.play.match_stats.match_statistics``), which needs no model.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tenuki.common.atomic import atomic_write
from tenuki.play.match_stats import Z_95, match_statistics
from tenuki.play.tournament import GAMES_FILE, SGF_FOLDER, Plan

log = logging.getLogger(__name__)

ELO_PER_NAT = 400.0 / math.log(10.0)  # 173.72: Elo points per unit of Bradley-Terry strength
PRIOR_SD_ELO = 1000.0  # standard deviation of the Gaussian prior of each strength (the ridge)
FIT_GRADIENT_TOLERANCE = 1e-4  # games of score: a fit whose gradient is below this is converged
REPORT_FILE = "tournament.json"
CHART_FILE = "elo.png"
METHOD = ("Bradley-Terry maximum a posteriori fit of all games (scipy.optimize.minimize, trust-exact); a draw is "
          "half a win each way, a forfeit a loss")
PRIOR = (f"Gaussian prior N(0, {PRIOR_SD_ELO:g} Elo) on each strength (ridge lambda = "
         f"{(ELO_PER_NAT / PRIOR_SD_ELO) ** 2:.4f} per nat^2): keeps an undefeated engine finite")
INTERVAL = "95% Wald interval of the Elo difference to the anchor, from the observed Fisher information (Hessian)"


@dataclass
class RatingFit:
    """The fitted strengths of ``names`` (nats) and their covariance (the inverse Hessian of f)."""

    names: list[str]
    strength: np.ndarray  # [E] nats, about mean 0
    covariance: np.ndarray  # [E, E]
    games: np.ndarray  # [E, E] games between i and j

    def connected(self, anchor: str) -> set[str]:
        """The engines with a path of games to ``anchor`` (the anchor included)."""
        from scipy.sparse.csgraph import connected_components

        _, component = connected_components(self.games > 0, directed=False)
        a = self.names.index(anchor)
        return {name for i, name in enumerate(self.names) if component[i] == component[a]}

    def elo(self, anchor: str, anchor_elo: float = 0.0) -> dict[str, tuple[float, float, float] | None]:
        """Name -> (Elo, low, high of the 95% interval), shifted so ``anchor`` has ``anchor_elo``; None for an
        engine with no path of games to the anchor."""
        a = self.names.index(anchor)
        reachable = self.connected(anchor)
        out: dict[str, tuple[float, float, float] | None] = {}
        for i, name in enumerate(self.names):
            if name not in reachable:
                out[name] = None
                continue
            elo = anchor_elo + ELO_PER_NAT * (self.strength[i] - self.strength[a])
            variance = self.covariance[i, i] + self.covariance[a, a] - 2.0 * self.covariance[i, a]
            half = Z_95 * ELO_PER_NAT * math.sqrt(max(variance, 0.0))
            out[name] = (elo, elo - half, elo + half)
        return out


def fit_bradley_terry(names: Sequence[str], outcomes: Iterable[tuple[str, str, float]],
                      prior_sd_elo: float = PRIOR_SD_ELO) -> RatingFit:
    """Fit the strengths of ``names`` to ``outcomes``: ``(engine a, engine b, a's score)`` per game, the score
    1, 0.5 (draw) or 0."""
    from scipy.optimize import minimize
    from scipy.special import expit

    names = list(names)
    index = {name: i for i, name in enumerate(names)}
    wins = np.zeros((len(names), len(names)))  # [E, E] i's score against j
    for a, b, score in outcomes:
        wins[index[a], index[b]] += score
        wins[index[b], index[a]] += 1.0 - score
    games = wins + wins.T
    ridge = (ELO_PER_NAT / prior_sd_elo) ** 2

    def objective(r: np.ndarray) -> float:
        d = r[:, None] - r[None, :]
        return float(np.sum(wins * np.logaddexp(0.0, -d)) + 0.5 * ridge * r @ r)

    def gradient(r: np.ndarray) -> np.ndarray:
        p = expit(r[:, None] - r[None, :])
        return (games * p - wins).sum(axis=1) + ridge * r

    def hessian(r: np.ndarray) -> np.ndarray:
        p = expit(r[:, None] - r[None, :])
        weight = games * p * (1.0 - p)
        return np.diag(weight.sum(axis=1) + ridge) - weight

    result = minimize(objective, np.zeros(len(names)), jac=gradient, hess=hessian, method="trust-exact",
                      options={"gtol": 1e-6})
    # trust-exact can stop with "a bad approximation" when f no longer changes in double precision; the
    # gradient (in games of score) then tells whether the fit is there
    if not result.success and np.abs(gradient(result.x)).max() > FIT_GRADIENT_TOLERANCE:
        log.warning("the Bradley-Terry fit did not converge: %s", result.message)
    return RatingFit(names, result.x, np.linalg.inv(hessian(result.x)), games)


def score_of_a(record: dict) -> float:
    """Engine A's score in a recorded game: 1 win, 0.5 draw, 0 loss (a forfeit is a loss of the forfeiter)."""
    if record["winner"] is None:
        return 0.5
    return 1.0 if record["winner"] == record["engine_a"] else 0.0


def standings(plan: Plan, records: list[dict], fit: RatingFit) -> list[dict]:
    """One row per engine, strongest first (engines without an Elo last): games, wins, draws, losses,
    forfeits (games lost by forfeit), score, Elo and its interval, command and the name it answered."""
    config = plan.config
    elo = fit.elo(config.anchor_engine, config.anchor.elo)
    rows = {name: {"engine": name, "command": command, "gtp_name": "", "games": 0, "wins": 0, "draws": 0,
                   "losses": 0, "forfeits": 0}
            for name, command in config.commands.items()}
    for record in records:
        for name in (record["engine_a"], record["engine_b"]):
            row = rows[name]
            row["games"] += 1
            row["gtp_name"] = row["gtp_name"] or record.get("names", {}).get(name, "")
            if record["winner"] is None:
                row["draws"] += 1
            elif record["winner"] == name:
                row["wins"] += 1
            else:
                row["losses"] += 1
                forfeit = record.get("forfeit")
                row["forfeits"] += int(forfeit is not None and forfeit.get("engine") == name)
    for name, row in rows.items():
        row["score"] = (row["wins"] + 0.5 * row["draws"]) / row["games"] if row["games"] else None
        rated = elo[name] if row["games"] else None
        row["elo"] = None if rated is None else rated[0]
        row["elo_ci95"] = None if rated is None else [rated[1], rated[2]]
        row["anchor"] = name == config.anchor_engine
    ordered = sorted(rows.values(), key=lambda r: (r["elo"] is None, -(r["elo"] or 0.0)))
    for rank, row in enumerate(ordered, start=1):
        row["rank"] = rank if row["elo"] is not None else None
    return ordered


def pairing_results(plan: Plan, records: list[dict]) -> list[dict]:
    """Per pairing: games, A's wins, B's wins, draws, forfeits, and A's score with its Wilson interval and
    the Elo difference (``match_statistics``)."""
    out = []
    for pairing in plan.pairings:
        games = [r for r in records if r["pairing"] == pairing.id]
        a_wins = sum(r["winner"] == pairing.engine_a for r in games)
        b_wins = sum(r["winner"] == pairing.engine_b for r in games)
        draws = sum(r["winner"] is None for r in games)
        stats = match_statistics(a_wins, draws, len(games))
        out.append({"pairing": pairing.id, "engine_a": pairing.engine_a, "engine_b": pairing.engine_b,
                    "games": len(games), "games_scheduled": pairing.match.games, "a_wins": a_wins,
                    "b_wins": b_wins, "draws": draws, "forfeits": sum(r.get("forfeit") is not None for r in games),
                    "a_score": stats["score"], "a_score_ci95": stats["score_ci95"],
                    "elo_a_minus_b": stats["elo"], "elo_ci95": stats["elo_ci95"], "elo_cap": stats["elo_cap"]})
    return out


def build_report(plan: Plan, records: list[dict]) -> dict[str, Any]:
    """Everything ``tournament.json`` holds: the config, the conditions, ratings, pairings and every game."""
    config = plan.config
    fit = fit_bradley_terry(config.engine_names, ((r["engine_a"], r["engine_b"], score_of_a(r)) for r in records))
    openings = plan.pairings[0].match.openings
    return {
        "name": config.name,
        "format": config.format,
        "out_dir": str(plan.out_dir),
        "games_played": len(records),
        "games_scheduled": len(plan.schedule),
        "complete": len(records) == len(plan.schedule),
        "config": dataclasses.asdict(config),
        "conditions": {**plan.conditions, "openings": [" ".join(o) for o in openings],
                       "referee": f"tenuki Board, {config.ko_rule} ko, no suicide (tenuki.play.match)"},
        "anchor": {"engine": config.anchor_engine, "elo": config.anchor.elo},
        "ratings": {"method": METHOD, "prior": PRIOR, "interval": INTERVAL,
                    "engines": standings(plan, records, fit)},
        "pairings": pairing_results(plan, records),
        "files": {"games": GAMES_FILE, "sgf": SGF_FOLDER, "chart": CHART_FILE},
        "games": records,
    }


def plot_elo(report: dict[str, Any], path: Path) -> Path:
    """A bar chart of the engines' Elo in the style of AlphaGo's Fig. 4a: strongest on the left, the 95%
    interval as error bars, the anchor hatched. Agg canvas, no pyplot (no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [row for row in report["ratings"]["engines"] if row["elo"] is not None]
    elos = [row["elo"] for row in rows]
    low = [row["elo"] - row["elo_ci95"][0] for row in rows]
    high = [row["elo_ci95"][1] - row["elo"] for row in rows]
    figure = Figure(figsize=(max(5.0, 1.1 * len(rows) + 2.0), 4.8), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colors = ["#c0504d" if row["anchor"] else "#4f81bd" for row in rows]
    # bars rise from a floor below every interval (Fig. 4's bars rise from the axis), so the anchor's shows
    floor = 100.0 * math.floor(min([0.0, *(row["elo_ci95"][0] for row in rows)]) / 100.0) - 100.0
    bars = axes.bar(range(len(rows)), [elo - floor for elo in elos], bottom=floor, color=colors, edgecolor="black",
                    linewidth=0.6, yerr=[low, high], capsize=4, error_kw={"elinewidth": 1.0})
    for bar, row in zip(bars, rows, strict=True):
        if row["anchor"]:
            bar.set_hatch("//")
        axes.annotate(f"{row['elo']:+.0f}", (bar.get_x() + bar.get_width() / 2, row["elo_ci95"][1]),
                      xytext=(0, 3), textcoords="offset points", ha="center", va="bottom", fontsize=8)
    anchor = report["anchor"]
    axes.axhline(anchor["elo"], color="#c0504d", linewidth=0.8, linestyle="--")
    axes.set_ylim(bottom=floor)
    labels = [f"{row['engine']}\n(anchor)" if row["anchor"] else row["engine"] for row in rows]
    axes.set_xticks(range(len(rows)), labels, rotation=30, ha="right", fontsize=8)
    axes.set_ylabel("Elo rating")
    axes.set_title(f"{report['name']}: {report['games_played']} games, {report['conditions']['size']}x"
                   f"{report['conditions']['size']}; {anchor['engine']} = {anchor['elo']:g} Elo; "
                   "bars: 95% interval", fontsize=9)
    unrated = [row["engine"] for row in report["ratings"]["engines"] if row["elo"] is None]
    if unrated:
        axes.text(0.99, 0.98, "no games linking to the anchor: " + ", ".join(unrated), transform=axes.transAxes,
                  ha="right", va="top", fontsize=7)
    figure.savefig(path, dpi=120)
    return path


def write_report(plan: Plan, records: list[dict]) -> dict[str, Any]:
    """Write ``OUT/tournament.json`` (atomically) and ``OUT/elo.png``; returns the report."""
    report = build_report(plan, records)
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(plan.out_dir / REPORT_FILE, lambda s: s.write(json.dumps(report, indent=1).encode()))
    plot_elo(report, plan.out_dir / CHART_FILE)
    return report
