"""GTP analysis: the arguments of ``lz-analyze`` / ``kata-analyze`` and the lines they report.

Two dialects, one search (``tenuki.play.gtp_engine`` runs it; ``tenuki.search.players.GrowingSearch``
grows it). Both report one line per interval, every candidate move as ``info`` followed by key-value
pairs, the principal variation last; values are from the side to move of the analysed position.

Leela Zero 0.17 (``lz-analyze``, ``lz-genmove_analyze``)::

    info move D4 visits 120 winrate 5321 prior 1843 lcb 5011 order 0 pv D4 F5 ...

KataGo's GTP extension (``kata-analyze``, ``kata-genmove_analyze``; KataGo docs/GTP_Extensions.md)::

    info move D4 visits 120 utility 0.0642 winrate 0.532100 scoreMean 1.25 scoreLead 1.25 scoreSelfplay 1.25
         prior 0.184300 lcb 0.501100 utilityLcb 0.0022 order 0 pv D4 F5 ... [ownership 0.91 0.88 ... (N*N)]

What each field means here:

- ``visits``: simulations through the move in this search (a continued tree counts its earlier ones).
- ``winrate``: (Q + 1) / 2, Q the mean backed-up value of the move (the value head at evaluated leaves,
  the exact result at finished games); Leela Zero's dialect in 1/10000 as an integer, KataGo's as a
  float in [0, 1]. A move without visits (only listed when ``minmoves`` asks for it) gets its
  parent's evaluation.
- ``prior``: the policy head's probability of the move (1/10000 in lz, [0, 1] in kata).
- ``lcb``: Leela Zero's lower confidence bound of the winrate (leela-zero issue 2282):
  ``winrate - t * sqrt(var / visits)``, var the sample variance of the move's backed-up winrates and t
  the upper 1e-5 quantile of Student's t with visits - 1 degrees of freedom (dof above 1000 use
  1000's, as Leela Zero's table does); 0 below 2 visits; clipped to [0, 1].
- ``utility``, ``utilityLcb`` (kata): the same mean and bound on the search's own scale, Q in [-1, 1].
- ``scoreLead``, ``scoreMean``, ``scoreSelfplay`` (kata, only with a network that has an ownership
  head): one number, the mean over the move's simulations of the leaves' score estimates: the sum of
  the ownership head's predictions (the expected final Tromp-Taylor area difference, own minus
  opponent's) minus komi for black, plus komi for white; exact at finished games
  (``tenuki.search.mcts``). It is what KataGo calls scoreSelfplay (the expected final margin of a
  self-play game: the ownership target is the end of self-play games); this engine has no separate
  estimate of scoreLead (the points that would make the game even), so the three fields carry the
  same number. ``scoreStdev`` is not sent: nothing here predicts the spread of the score.
- ``order``: 0 for the most visited move (the one ``genmove`` would play, ties included), then by visits.
- ``pv``: the most visited line after the move.
- ``ownership`` (kata, with ``ownership true`` and a network that has an ownership head; otherwise
  left out): N*N floats in [-1, 1], +1 owned by the side to move, row-major from the top-left point
  (A19 on 19x19, A9 on 9x9): the mean, over the simulations of this search that ended in a network
  evaluation, of the ownership head's prediction at that leaf -- an average over the tree, like the
  root's value, not the raw evaluation of the root alone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from tenuki.envs.go.board import Board, parse_color
from tenuki.envs.go.coords import to_gtp
from tenuki.search.mcts import SearchResult
from tenuki.search.player import AnalysingPlayer, Move, Player

DEFAULT_INTERVAL = 1.0  # seconds between reports when the command gives no interval
CI_ALPHA = 1e-5  # Leela Zero's cfg_ci_alpha: the one-sided error of its lower confidence bound
T_TABLE_MAX_DOF = 1000  # Leela Zero tabulates the t quantile up to here and uses the last entry beyond
PV_MOVES = 400  # principal variations asked of the search for a report (more than any board's legal moves)
_KEYS = {"lz": ("interval", "minmoves", "maxmoves"), "kata": ("interval", "minmoves", "maxmoves", "ownership")}


@dataclass
class AnalysisRequest:
    """What ``[player] [interval] KEY VALUE ...`` asked: ``color`` None for the side to move, ``interval``
    in seconds (<= 0: no periodic report), ``min_moves`` / ``max_moves`` how many moves a report lists
    (0: no maximum), ``ownership`` (kata only)."""

    color: int | None = None
    interval: float = DEFAULT_INTERVAL
    min_moves: int = 0
    max_moves: int = 0
    ownership: bool = False


def parse_request(args: list[str], dialect: str) -> AnalysisRequest:
    """The arguments of ``lz-*`` (``dialect`` "lz") or ``kata-*`` ("kata") analysis commands, as KataGo
    reads them: an optional colour, an optional interval in centiseconds, then key-value pairs.
    ``ValueError`` names what was wrong and what is allowed."""
    request = AnalysisRequest()
    rest = list(args)
    if rest and rest[0].lower() in ("b", "w", "black", "white"):
        request.color = parse_color(rest.pop(0))
    if rest and _is_number(rest[0]):
        request.interval = float(rest.pop(0)) / 100.0
    allowed = _KEYS[dialect]
    while rest:
        key = rest.pop(0)
        if key not in allowed:
            raise ValueError(f"unknown analysis key {key!r} (allowed: {', '.join(allowed)})")
        if not rest:
            raise ValueError(f"analysis key {key!r} needs a value")
        value = rest.pop(0)
        if key == "ownership":
            if value.lower() not in ("true", "false"):
                raise ValueError(f"ownership must be true or false, got {value!r}")
            request.ownership = value.lower() == "true"
        elif key == "interval":
            if not _is_number(value):
                raise ValueError(f"interval is in centiseconds, got {value!r}")
            request.interval = float(value) / 100.0
        else:
            if not value.isdigit():
                raise ValueError(f"{key} must be an integer >= 0, got {value!r}")
            setattr(request, "min_moves" if key == "minmoves" else "max_moves", int(value))
    return request


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def report_line(result: SearchResult, dialect: str, min_moves: int = 0, max_moves: int = 0,
                ownership: bool = False) -> str:
    """One report of ``result`` (root statistics, side to move) in Leela Zero's ("lz") or KataGo's ("kata")
    dialect: every visited move (fewer with ``max_moves``; unvisited ones by prior up to ``min_moves``),
    then KataGo's ``ownership`` when asked and known. Empty when nothing is listed."""
    size = result.size
    # most visits first; equal visits in the order genmove breaks the tie (``SearchResult.best_action``: the
    # first of them), so that order 0 is always the move genmove plays; unvisited moves by prior
    order = sorted(range(result.actions.shape[0]),
                   key=lambda i: (-int(result.visits[i]), i if result.visits[i] > 0 else -float(result.prior[i])))
    listed = [i for i in order if result.visits[i] > 0]
    if len(listed) < min_moves:
        listed += [i for i in order if result.visits[i] == 0][: min_moves - len(listed)]
    if max_moves > 0:
        listed = listed[:max_moves]
    parts = []
    for rank, i in enumerate(listed):
        visits = int(result.visits[i])
        q = float(result.q[i]) if visits > 0 else float(result.root_value)
        variance = float(result.q_variance[i]) if result.q_variance is not None else math.nan
        utility_lcb = value_lcb(q, variance, visits)
        action = int(result.actions[i])
        pv = " ".join(to_gtp(a, size) for a in result.move_pvs.get(action, [action]))
        move = to_gtp(action, size)
        winrate, prior, lcb = (q + 1.0) / 2.0, float(result.prior[i]), (utility_lcb + 1.0) / 2.0
        if dialect == "lz":
            parts.append(f"info move {move} visits {visits} winrate {_ten_thousandths(winrate)} "
                         f"prior {_ten_thousandths(prior)} lcb {_ten_thousandths(lcb)} order {rank} pv {pv}")
            continue
        fields = [f"info move {move} visits {visits} utility {q:.6f} winrate {winrate:.6f}"]
        if result.score is not None and visits > 0 and math.isfinite(result.score[i]):
            score = float(result.score[i])
            fields.append(f"scoreMean {score:.3f} scoreLead {score:.3f} scoreSelfplay {score:.3f}")
        fields.append(f"prior {prior:.6f} lcb {lcb:.6f} utilityLcb {utility_lcb:.6f} order {rank} pv {pv}")
        parts.append(" ".join(fields))
    line = " ".join(parts)
    if line and ownership and dialect == "kata" and result.ownership is not None:
        line += " ownership " + " ".join(f"{float(x):.4f}" for x in np.clip(result.ownership, -1.0, 1.0))
    return line


def _ten_thousandths(rate: float) -> int:
    return int(min(max(round(rate * 10000), 0), 10000))


def value_lcb(mean: float, variance: float, visits: int) -> float:
    """Leela Zero's lower confidence bound of a mean value in [-1, 1] over ``visits`` samples of sample
    ``variance``: ``mean - t_quantile(visits - 1) * sqrt(variance / visits)``, -1 below 2 visits, clipped
    to [-1, 1] (the winrate's bound is (this + 1) / 2)."""
    if visits < 2 or not math.isfinite(variance):
        return -1.0
    bound = mean - t_quantile(visits - 1) * math.sqrt(max(variance, 0.0) / visits)
    return min(max(bound, -1.0), 1.0)


@cache
def t_quantile(dof: int, alpha: float = CI_ALPHA) -> float:
    """The upper ``alpha`` quantile of Student's t with ``dof`` >= 1 degrees of freedom (at most
    ``T_TABLE_MAX_DOF``: larger ones use its value), by bisection on the exact distribution function
    for integer dof (Abramowitz & Stegun 26.7.3, 26.7.4)."""
    dof = min(max(int(dof), 1), T_TABLE_MAX_DOF)
    if dof == 1:
        return math.tan(math.pi * (0.5 - alpha))
    if dof == 2:
        p = 1.0 - alpha
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    target = 1.0 - 2.0 * alpha  # P(|T| < t)
    low, high = 0.0, 1.0
    while _t_central(high, dof) < target:
        high *= 2.0
    for _ in range(100):
        mid = 0.5 * (low + high)
        if _t_central(mid, dof) < target:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def _t_central(t: float, dof: int) -> float:
    """P(|T| < t) for Student's t with integer ``dof`` >= 2 (Abramowitz & Stegun 26.7.3 / 26.7.4)."""
    theta = math.atan(t / math.sqrt(dof))
    c2 = math.cos(theta) ** 2
    if dof % 2 == 0:  # sin(theta) * (1 + 1/2 c^2 + 1*3/(2*4) c^4 + ... up to c^(dof-2))
        j = np.arange(1, (dof - 2) // 2 + 1)
        terms = np.cumprod((2 * j - 1) / (2 * j) * c2)
        return math.sin(theta) * (1.0 + float(terms.sum()))
    # odd: 2/pi * (theta + sin(theta) cos(theta) (1 + 2/3 c^2 + 2*4/(3*5) c^4 + ... up to c^(dof-3)))
    j = np.arange(1, (dof - 3) // 2 + 1)
    terms = np.cumprod((2 * j) / (2 * j + 1) * c2)
    return 2.0 / math.pi * (theta + math.sin(theta) * math.cos(theta) * (1.0 + float(terms.sum())))


# ---------------------------------------------------------------------------------- the search loop

SLICE_SECONDS = 0.05  # longest stretch of search between two looks at the input: how fast a command stops it
STALLED_SLICES = 20  # slices in a row that add nothing (a finished position, a full tree): the search is over


def stream(player: Player, board: Board, request: AnalysisRequest, dialect: str, write: Callable[[str], None],
           pending: Callable[[float | None], bool], keep: bool = True,
           budget: tuple[int | None, float | None] | None = None) -> Move | None:
    """Search ``board`` for its side to move and ``write`` a report line every ``request.interval``.

    Analysis (``budget`` None): until ``pending(timeout)`` says a command (or a bare newline) arrived;
    at least one slice is searched first, and a last report is written when the statistics moved
    since the previous one. Genmove (``budget`` = (visits, seconds), the engine's normal budget; both
    None: the player's default visits): until the budget is spent, whatever arrives meanwhile; returns
    the move ``genmove`` would choose from the statistics. ``keep``: ``board`` is the game's position
    (``AnalysingPlayer.analyse``).

    A player that is an ``AnalysingPlayer`` grows ONE search, ``SLICE_SECONDS`` at a time, so the
    visits of successive reports never decrease. Any other player answers one ``genmove`` with the
    engine's budget: its statistics are reported once, then an analysis waits for the next command."""
    genmove = budget is not None
    if not isinstance(player, AnalysingPlayer):
        visits, seconds = budget if genmove else (None, None)
        move = player.genmove(board, visits=visits, seconds=seconds)
        if move.result is not None:
            _report(move.result, request, dialect, write)
        if not genmove:
            pending(None)
            return None
        return move
    visits, seconds = budget if genmove else (None, None)
    if genmove and visits is None and seconds is None:
        visits = getattr(player, "visits", 800)
    analysis = player.analyse(board, keep=keep)
    start = time.perf_counter()
    interval = request.interval if request.interval > 0 else math.inf
    next_report = start + interval
    reported = -1  # ``analysis.simulations`` at the last report
    stalled = 0
    searched = False  # one slice at least, even when the next command is already waiting
    try:
        while True:
            now = time.perf_counter()
            if genmove and ((visits is not None and analysis.simulations >= visits)
                            or (seconds is not None and now - start >= seconds)):
                break
            if not genmove and searched and pending(0.0):
                break
            if now >= next_report:
                _report(analysis.result(PV_MOVES), request, dialect, write)
                reported = analysis.simulations
                next_report = max(next_report + interval, now + 0.5 * interval)
            if analysis.full or stalled >= STALLED_SLICES:
                if genmove:
                    break
                pending(None if next_report == math.inf else max(next_report - now, 0.0))
                continue
            slice_seconds = min(SLICE_SECONDS, max(next_report - now, 0.005))
            if seconds is not None:
                slice_seconds = min(slice_seconds, max(seconds - (now - start), 0.005))
            added = analysis.grow(slice_seconds, None if visits is None else visits - analysis.simulations)
            searched = True
            stalled = stalled + 1 if added == 0 else 0
        if analysis.simulations != reported:
            _report(analysis.result(PV_MOVES), request, dialect, write)
        if genmove:
            return player.choose(board, analysis.result(), time.perf_counter() - start)
        return None
    finally:
        analysis.close()


def _report(result: SearchResult, request: AnalysisRequest, dialect: str, write: Callable[[str], None]) -> None:
    """Write one report line of ``result`` (nothing when it lists no move)."""
    line = report_line(result, dialect, request.min_moves, request.max_moves, request.ownership)
    if line:
        write(line + "\n")
