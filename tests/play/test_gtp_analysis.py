"""GTP analysis driven the way GUIs drive it: a subprocess, several commands in one write, no waiting.

The reports are read by a parser written here from the two formats' documentation (Leela Zero's
``lz-analyze`` and KataGo's docs/GTP_Extensions.md), not by the engine's formatter: ``info`` starts
each move, key-value pairs follow, ``pv`` takes the rest of the move's tokens; KataGo's ``ownership``
takes the rest of the line. One engine (``az-mcts`` with the shipped 9x9 net, ``--visits 100``)
serves every subprocess test; it is warmed (torch, numba) before anything is timed.
"""

from __future__ import annotations

import io
import itertools
import math
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tenuki.envs.go.coords import to_gtp
from tenuki.play.gtp_analysis import parse_request, report_line, t_quantile, value_lcb
from tenuki.play.gtp_engine import GTPEngine
from tenuki.play.registry import make

ROOT = Path(__file__).resolve().parents[2]
VISITS = 100  # the engine's --visits: the budget every genmove variant must use
VERTEX = re.compile(r"^(pass|[A-HJ][1-9])$")  # 9x9
STOP_WITHIN = 0.5  # seconds from the analysis' first output to the next command's answer


# ---------------------------------------------------------------------------------- a parser from the docs


def parse_report(line: str) -> tuple[list[dict], list[float] | None]:
    """One report line -> (moves as {key: token, "pv": [vertices]}, ownership floats or None)."""
    tokens = line.split()
    moves, ownership, i = [], None, 0
    while i < len(tokens):
        if tokens[i] == "ownership":
            ownership = [float(x) for x in tokens[i + 1 :]]
            break
        assert tokens[i] == "info", line
        i += 1
        fields: dict = {}
        while tokens[i] != "pv":
            fields[tokens[i]] = tokens[i + 1]
            i += 2
        i += 1
        pv = []
        while i < len(tokens) and tokens[i] not in ("info", "ownership"):
            pv.append(tokens[i])
            i += 1
        fields["pv"] = pv
        moves.append(fields)
    return moves, ownership


def check_lz(line: str) -> list[dict]:
    """Leela Zero 0.17: winrate, prior and lcb are integers in [0, 10000]."""
    moves, ownership = parse_report(line)
    assert moves and ownership is None
    for rank, move in enumerate(moves):
        assert VERTEX.match(move["move"]) and move["pv"][0] == move["move"]
        assert all(VERTEX.match(v) for v in move["pv"])
        visits, winrate, prior, lcb = (int(move[k]) for k in ("visits", "winrate", "prior", "lcb"))
        assert visits >= 1 and all(0 <= x <= 10000 for x in (winrate, prior, lcb))
        assert lcb <= winrate and int(move["order"]) == rank
    return moves


def check_kata(line: str, size: int = 9) -> tuple[list[dict], list[float] | None]:
    """KataGo: winrate, prior, lcb are floats in [0, 1] (with a decimal point: Sabaki tells the formats apart
    by it), utility in [-1, 1] for this engine, scores in points."""
    moves, ownership = parse_report(line)
    assert moves
    for rank, move in enumerate(moves):
        assert VERTEX.match(move["move"]) and move["pv"][0] == move["move"]
        for key in ("winrate", "prior", "lcb", "utility", "utilityLcb"):
            assert "." in move[key], (key, move[key])
        winrate, prior, lcb = (float(move[k]) for k in ("winrate", "prior", "lcb"))
        utility, utility_lcb = float(move["utility"]), float(move["utilityLcb"])
        assert 0 <= lcb <= winrate <= 1 and 0 <= prior <= 1 and -1 <= utility_lcb <= utility <= 1
        assert winrate == pytest.approx((utility + 1) / 2, abs=1e-5)
        assert float(move["scoreLead"]) == float(move["scoreMean"]) == float(move["scoreSelfplay"])
        assert abs(float(move["scoreLead"])) <= size * size + 10
        assert int(move["visits"]) >= 1 and int(move["order"]) == rank
    if ownership is not None:
        assert len(ownership) == size * size and all(-1.0 <= x <= 1.0 for x in ownership)
    return moves, ownership


# ---------------------------------------------------------------------------------- the engine, as a GUI sees it


class Engine:
    """``tenuki gtp`` in a subprocess; a thread timestamps every line it writes."""

    def __init__(self, *args: str):
        cmd = [sys.executable, "-m", "tenuki", "gtp", *args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                                     bufsize=1)
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put((time.perf_counter(), line.rstrip("\n")))
        self.lines.put((time.perf_counter(), None))

    def send(self, text: str) -> float:
        self.proc.stdin.write(text)
        self.proc.stdin.flush()
        return time.perf_counter()

    def line(self, timeout: float = 120.0) -> tuple[float, str]:
        stamp, line = self.lines.get(timeout=timeout)
        assert line is not None, "the engine ended"
        return stamp, line

    def answer(self, timeout: float = 120.0) -> list[tuple[float, str]]:
        """The lines of one answer, up to (without) the blank line that ends it."""
        out = []
        while (item := self.line(timeout))[1] != "":
            out.append(item)
        return out

    def ask(self, command: str) -> str:
        self.send(command + "\n")
        return "\n".join(line for _, line in self.answer())

    def reports(self, count: int) -> list[str]:
        """Wait for ``count`` report lines of a running analysis."""
        return [self.line()[1] for _ in range(count)]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def engine():
    e = Engine("--player", "az-mcts", "--size", "9", "--visits", str(VISITS))
    e.send("1 reg_genmove b\n")  # warm: torch, the numba kernels (compiled when their cache is stale: minutes)
    assert e.line(timeout=900)[1].startswith("=1 ") and e.line()[1] == ""
    e.send("2 lz-analyze 5\n")  # and the analysis path
    e.reports(2)
    e.send("3 name\n")
    while e.line()[1] != "=3 tenuki":
        pass
    e.line()
    yield e
    e.close()


def test_a_command_in_the_same_write_stops_the_analysis_at_once(engine):
    assert engine.ask("clear_board") == "= "
    engine.send("12 lz-analyze 10\n13 name\n")
    first_stamp, first = engine.line()
    assert first == "=12"
    rest = engine.answer()
    for _, line in rest:
        check_lz(line)
    stamp, answer = engine.line()
    assert answer == "=13 tenuki"
    assert stamp - first_stamp < STOP_WITHIN, f"the next answer came {stamp - first_stamp:.2f} s after =12"
    assert engine.line()[1] == ""


def test_a_running_analysis_stops_on_the_next_command_or_a_bare_newline(engine):
    assert engine.ask("clear_board") == "= "
    engine.send("14 lz-analyze 10\n")
    assert engine.line()[1] == "=14"
    for line in engine.reports(3):
        check_lz(line)
    sent = engine.send("15 version\n")
    while (item := engine.line())[1] != "":
        check_lz(item[1])
    stamp, answer = engine.line()
    assert answer.startswith("=15 ") and stamp - sent < STOP_WITHIN
    assert engine.line()[1] == ""
    engine.send("16 lz-analyze 10\n")
    assert engine.line()[1] == "=16"
    engine.reports(1)
    sent = engine.send("\n")  # KataGo's documented stop: a raw newline
    while (item := engine.line())[1] != "":
        pass
    assert item[0] - sent < STOP_WITHIN
    assert engine.ask("17 name") == "=17 tenuki"


def test_one_search_grows_between_reports(engine):
    assert engine.ask("clear_board") == "= "
    engine.send("18 lz-analyze 5\n")
    assert engine.line()[1] == "=18"
    reports = [check_lz(line) for line in engine.reports(8)]
    engine.send("19 name\n")
    engine.answer()
    assert [line for _, line in engine.answer()] == ["=19 tenuki"]
    totals = [sum(int(m["visits"]) for m in moves) for moves in reports]
    assert all(b >= a for a, b in itertools.pairwise(totals)), totals  # never restarts
    assert totals[-1] > totals[0], totals
    for before, after in itertools.pairwise(reports):
        now = {m["move"]: int(m["visits"]) for m in after}
        assert all(now.get(m["move"], 0) >= int(m["visits"]) for m in before)


def test_kata_analyze_reports_scores_and_ownership(engine):
    assert engine.ask("clear_board") == "= "
    assert engine.ask("komi 7") == "= "
    engine.send("20 kata-analyze 10 ownership true\n")
    assert engine.line()[1] == "=20"
    lines = engine.reports(3)
    engine.send("21 name\n")
    engine.answer()
    assert engine.answer()[0][1] == "=21 tenuki"
    for line in lines:
        moves, ownership = check_kata(line)
        assert ownership is not None
    # the empty 9x9 board at komi 7 is close to even: no move is a big win or loss in points or winrate
    best = moves[0]
    assert abs(float(best["scoreLead"])) < 15 and 0.2 < float(best["winrate"]) < 0.8


def test_analysis_for_the_side_not_to_move_changes_nothing_in_the_game(engine):
    assert engine.ask("clear_board") == "= "
    assert engine.ask("play b E5") == "= "
    board = engine.ask("showboard")
    assert board.endswith("white to play")
    engine.send("22 lz-analyze b 10\n")
    assert engine.line()[1] == "=22"
    moves = check_lz(engine.reports(2)[-1])
    assert "E5" not in {m["move"] for m in moves}
    engine.send("23 name\n")
    engine.answer()
    engine.answer()
    assert engine.ask("showboard") == board
    engine.send("24 kata-analyze w 10\n")  # the side to move, after the other side's analysis: still fine
    assert engine.line()[1] == "=24"
    check_kata(engine.reports(1)[0])
    engine.send("25 name\n")
    engine.answer()
    engine.answer()
    assert engine.ask("showboard") == board


def test_genmove_analyze_uses_the_engine_budget_and_plays(engine):
    assert engine.ask("clear_board") == "= "
    engine.send("26 lz-genmove_analyze b 5\n")
    lines = [line for _, line in engine.answer()]
    assert lines[0] == "=26" and lines[-1].startswith("play ")
    move = lines[-1].split()[1]
    reports = [check_lz(line) for line in lines[1:-1]]
    total = sum(int(m["visits"]) for m in reports[-1])
    assert VISITS - 1 <= total <= VISITS + 16, total  # the --visits budget, not a fixed 64
    assert reports[-1][0]["move"] == move
    assert engine.ask("list_stones black") == f"= {move}"
    engine.send("27 kata-genmove_analyze w 5\n")
    lines = [line for _, line in engine.answer()]
    assert lines[0] == "=27" and re.match(r"^play ([A-HJ][1-9]|pass|resign)$", lines[-1])
    for line in lines[1:-1]:
        check_kata(line)
    assert engine.ask("list_stones white") == f"= {lines[-1].split()[1]}"


def test_version_is_one_lizzie_accepts_and_loadsgf_names_the_missing_file(engine, tmp_path):
    answer = engine.ask("28 version")
    # Lizzie (Leelaz.java): params = line.split(" "); minor = Integer.parseInt(params[1].split("\\.")[1]) >= 15
    minor = int(answer.split(" ")[1].split(".")[1])
    assert answer.startswith("=28 ") and minor >= 15 and "tenuki" in answer
    assert engine.ask("29 name") == "=29 tenuki"
    missing = tmp_path / "nope.sgf"
    answer = engine.ask(f"30 loadsgf {missing}")
    assert answer.startswith("?30 ") and str(missing) in answer and "\n" not in answer and "Errno" not in answer


# ---------------------------------------------------------------------------------- without a subprocess


def test_analysis_driven_by_handle_reports_once_with_the_id():
    out = io.StringIO()
    e = GTPEngine(lambda n: make("mcts", n, visits=64), size=7, komi=7.5, out=out, visits=64)
    assert e.handle("5 lz-analyze 10\n") is None
    lines = out.getvalue().split("\n")
    assert lines[0] == "=5" and out.getvalue().endswith("\n\n")
    check_lz(lines[1])  # mcts cannot grow a search: one genmove's statistics, reported once
    assert e.handle("6 lz-analyze ownership true\n") == "?6 unknown analysis key 'ownership' (allowed: interval, " \
                                                      "minmoves, maxmoves)\n\n"


def test_analysis_arguments():
    request = parse_request(["W", "25", "minmoves", "3", "ownership", "true"], "kata")
    assert (request.color, request.interval, request.min_moves, request.ownership) == (2, 0.25, 3, True)
    assert parse_request(["interval", "50"], "lz").interval == 0.5
    for bad in (["maxmoves", "x"], ["avoid", "b", "D4", "1"], ["interval"], ["ownership", "maybe"]):
        with pytest.raises(ValueError):
            parse_request(bad, "kata")


def test_t_quantile_and_lcb():
    """The Student t quantiles of Leela Zero's bound (closed forms and tabulated values at alpha 1e-5)."""
    assert t_quantile(1) == pytest.approx(math.tan(math.pi * (0.5 - 1e-5)))
    known = {3: 47.9277, 5: 15.5469, 10: 7.5270, 100: 4.4784, 1000: 4.2854}
    for dof, value in known.items():
        assert t_quantile(dof) == pytest.approx(value, abs=2e-4), dof
    assert t_quantile(50_000) == t_quantile(1000)
    assert value_lcb(0.2, 0.04, 1) == -1.0
    assert value_lcb(0.2, 0.04, 101) == pytest.approx(0.2 - t_quantile(100) * np.sqrt(0.04 / 101))
    try:
        from scipy.stats import t as student
    except ImportError:
        return
    for dof in (2, 4, 7, 33, 256, 999):
        assert t_quantile(dof) == pytest.approx(student.isf(1e-5, dof), rel=1e-7)


@pytest.mark.parametrize("dialect", ["lz", "kata"])
def test_order_0_is_the_move_genmove_plays_when_visits_tie(dialect):
    """Two moves with the same visits, the later one with the higher prior: genmove plays the first
    (SearchResult.best_action), so the report lists it first (it once listed the higher prior first)."""
    from tenuki.search.mcts import SearchResult

    result = SearchResult(actions=np.array([10, 20, 30]), visits=np.array([7, 7, 2]), q=np.array([0.1, 0.2, 0.0]),
                          prior=np.array([0.2, 0.5, 0.3]), root_value=0.0, size=9)
    first = report_line(result, dialect).split(" info ")[0]
    played = result.best_action
    assert played == 10 and f"move {to_gtp(played, 9)} " in first
