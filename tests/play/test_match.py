"""``tenuki match``: statistics in closed form, the count rule, GNU Go vs GNU Go with SGFs, and
forfeits by scripted fake engines (illegal move, crash, timeout, ``?``) that must lose while the
match goes on."""

from __future__ import annotations

import argparse
import json
import math
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tenuki.commands.match import add_match_parser, format_summary
from tenuki.envs.go.layout import BLACK, WHITE
from tenuki.envs.go.sgf import load_sgf
from tenuki.play.match import EngineSpec, MatchConfig, MatchConfigError, default_max_moves, run_match
from tenuki.play.match_scoring import adjudicate, format_result, parse_result
from tenuki.play.match_stats import ELO_CAP, elo_difference, match_statistics, score_from_elo, wilson_interval

REPO_ROOT = Path(__file__).resolve().parents[2]

# A tiny GTP engine. Its first argument is the behaviour on genmove:
#   pass     always passes              illegal  answers A1 every time (occupied from its 2nd move)
#   crash    exits                      sleep    sleeps 30 s (past any test timeout)
#   refuse   answers "? no move"        resign   resigns
#   slowstart  sleeps 3 s on its first genmove (a network loading), then passes at once
# An optional second argument is its final_score answer (default: "? cannot score").
FAKE_ENGINE = r"""
import sys, time
mode = sys.argv[1]
score = sys.argv[2] if len(sys.argv) > 2 else None
started = False
def answer(text="", ok=True):
    print(("= " if ok else "? ") + text + "\n", flush=True)
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    name = words[0]
    if name == "quit":
        answer(); break
    elif name == "name":
        answer("Fake " + mode)
    elif name == "version":
        answer("0.1")
    elif name in ("boardsize", "clear_board", "komi", "play", "time_settings", "time_left"):
        answer()
    elif name == "known_command":
        answer("false")
    elif name == "final_score":
        answer(score) if score else answer("cannot score", ok=False)
    elif name == "genmove":
        if mode == "crash":
            sys.exit(3)
        if mode == "sleep":
            time.sleep(30)
        if mode == "slowstart":
            if not started:
                time.sleep(3)
            started = True
        if mode == "refuse":
            answer("no move", ok=False)
        else:
            answer({"pass": "pass", "illegal": "A1", "resign": "resign", "slowstart": "pass"}[mode])
    else:
        answer("unknown command", ok=False)
"""


def fake(mode: str, score: str | None = None) -> str:
    """The command line of the fake engine (a string, as --black / --white take it)."""
    return shlex.join([sys.executable, "-c", FAKE_ENGINE, mode] + ([score] if score else []))


def config(black: str, white: str, **options) -> MatchConfig:
    return MatchConfig(EngineSpec.parse("A", black), EngineSpec.parse("B", white), **options)


# ---------------------------------------------------------------------------------- statistics


def test_wilson_interval_closed_forms() -> None:
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.403832, abs=1e-6) and high == pytest.approx(0.596168, abs=1e-6)
    z2 = 1.959963984540054 ** 2
    assert wilson_interval(0, 10) == pytest.approx((0.0, z2 / (10 + z2)))  # upper = z^2 / (n + z^2)
    assert wilson_interval(10, 10) == pytest.approx((10 / (10 + z2), 1.0))
    low, high = wilson_interval(7, 10)  # symmetric: 7 of 10 mirrors 3 of 10
    assert (1 - high, 1 - low) == pytest.approx(wilson_interval(3, 10))
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_elo_closed_forms() -> None:
    assert elo_difference(0.5) == 0.0 and math.copysign(1, elo_difference(0.5)) == 1
    assert elo_difference(0.75) == pytest.approx(190.8485, abs=1e-3)  # 400 log10(3)
    assert elo_difference(0.25) == pytest.approx(-190.8485, abs=1e-3)
    assert elo_difference(10 / 11) == pytest.approx(400.0)  # odds 10:1 = 400 Elo
    assert elo_difference(1.0) == ELO_CAP and elo_difference(0.0) == -ELO_CAP
    assert elo_difference(1.0, cap=None) == math.inf and elo_difference(0.0, cap=None) == -math.inf
    for elo in (-700.0, -35.5, 0.0, 123.0, 999.0):
        assert elo_difference(score_from_elo(elo)) == pytest.approx(elo)


def test_match_statistics_maps_the_interval_through_elo() -> None:
    stats = match_statistics(wins=6, draws=2, games=10)  # score 0.7
    assert stats["score"] == pytest.approx(0.7)
    low, high = wilson_interval(7, 10)
    assert stats["score_ci95"] == pytest.approx([low, high])
    assert stats["elo_ci95"] == pytest.approx([elo_difference(low), elo_difference(high)])
    sweep = match_statistics(wins=5, draws=0, games=5)
    assert sweep["elo"] == ELO_CAP and sweep["elo_ci95"][1] == ELO_CAP and sweep["elo_ci95"][0] < ELO_CAP
    json.dumps(sweep, allow_nan=False)  # finite: valid JSON


# ---------------------------------------------------------------------------------- the count


def test_parse_and_format_results() -> None:
    assert parse_result("B+3.5") == 3.5 and parse_result("w+12.0") == -12.0 and parse_result("0") == 0.0
    assert parse_result("W+R") is None and parse_result("") is None and parse_result(None) is None
    assert format_result(3.5) == "B+3.5" and format_result(-16.0) == "W+16" and format_result(0.0) == "0"


def test_adjudicate_order() -> None:
    assert adjudicate("B+3.5", "B+3.5", (), -7.0) == (3.5, "engines agree")
    assert adjudicate("B+3.5", "W+0.5", (WHITE,), 9.0) == (-0.5, "GNU Go final_score")
    assert adjudicate(None, "W+0.5", (BLACK,), 9.0) == (9.0, "Tromp-Taylor area")  # GNU Go gave none
    assert adjudicate("B+2", None, (BLACK,), -9.0) == (2.0, "GNU Go final_score")
    assert adjudicate("B+5", "B+2", (), -9.0) == (2.0, "engines agree on the winner (smaller margin)")
    assert adjudicate("B+5", "W+2", (), -9.0) == (-9.0, "Tromp-Taylor area")
    assert adjudicate(None, None, (BLACK, WHITE), 0.0) == (0.0, "Tromp-Taylor area")


def test_config_errors_name_the_option() -> None:
    with pytest.raises(MatchConfigError, match="empty"):
        EngineSpec.parse("A", "   ")
    with pytest.raises(MatchConfigError, match="board size 25"):
        config("x", "y", size=25)
    with pytest.raises(MatchConfigError, match="parallel"):
        config("x", "y", parallel=0)
    assert config("x", "y", seconds_per_move=2.0).genmove_timeout == 16.0
    assert config("x", "y", seconds_per_move=2.0, move_timeout=5.0).genmove_timeout == 5.0
    assert config("x", "y", size=9).move_limit == default_max_moves(9) == 182


def test_game_placeholder_gives_each_game_its_number() -> None:
    match = config("gnugo --mode gtp --seed {game}", "tenuki gtp --seed={game}", games=3)
    black, white = match.players(0)
    assert black.argv[-1] == "1" and white.argv[-1] == "--seed=1"
    black, white = match.players(1)  # colours alternate: engine B is black in game 2
    assert black.argv[-1] == "--seed=2" and white.argv[-1] == "2"
    assert "{game}" in match.engine_a.command  # the summary shows the command as given


# ---------------------------------------------------------------------------------- games


def test_passing_engines_draw_by_tromp_taylor_and_colours_alternate(tmp_path: Path) -> None:
    summary = run_match(config(fake("pass"), fake("pass"), games=3, size=5, komi=0.0, sgf_dir=tmp_path))
    assert [(g.black, g.white) for g in summary.games] == [("A", "B"), ("B", "A"), ("A", "B")]
    assert all(g.result == "0" and g.winner is None and g.scoring == "Tromp-Taylor area" for g in summary.games)
    assert summary.engines["A"].draws == 3 and summary.statistics["score"] == 0.5
    assert load_sgf(tmp_path / "game-002.sgf").result == "0"


def test_agreed_final_score_and_resignation() -> None:
    summary = run_match(config(fake("pass", "W+2.5"), fake("pass", "W+2.5"), games=2, size=5))
    assert [g.winner for g in summary.games] == ["B", "A"]  # white wins both: B, then A
    assert {g.scoring for g in summary.games} == {"engines agree"}
    summary = run_match(config(fake("resign"), fake("pass"), games=2, size=5))
    assert [g.result for g in summary.games] == ["W+R", "B+R"]
    assert summary.engines["B"].wins == 2 and not summary.forfeits


def gnugo_command(gnugo_path: str) -> str:
    """GNU Go at level 0 (fast) as an engine command line; ``gnugo_path`` from the conftest fixture."""
    return shlex.join([gnugo_path, "--mode", "gtp", "--level", "0"])


@pytest.mark.gnugo
def test_gnugo_vs_gnugo_summary_and_sgfs(tmp_path: Path, gnugo_path: str) -> None:
    gnugo = gnugo_command(gnugo_path)
    summary = run_match(config(gnugo, gnugo, games=2, size=9, komi=7.0, seconds_per_move=1.0,
                               parallel=2, sgf_dir=tmp_path))
    assert len(summary.games) == 2 and not summary.forfeits
    a, b = summary.engines["A"], summary.engines["B"]
    assert a.wins + a.losses + a.draws == 2 and (a.wins, a.losses, a.draws) == (b.losses, b.wins, b.draws)
    assert a.name.startswith("GNU Go")
    stats = summary.statistics
    assert stats["score_ci95"][0] <= stats["score"] <= stats["score_ci95"][1]
    assert 0 < summary.average_moves <= default_max_moves(9)
    for game in summary.games:
        assert game.end == "score" and game.scoring == "engines agree"
        record = load_sgf(game.sgf_path, check=True)  # re-readable and legal move by move
        assert record.size == 9 and record.komi == 7.0 and record.result == game.result
        assert record.black_name == record.white_name == a.name
        assert len(record.moves) == game.moves and "tenuki match" in record.extra["C"][0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["game-001.sgf", "game-002.sgf"]
    text = format_summary(summary)
    assert "A win rate" in text and "Elo A - B" in text
    json.dumps(summary.to_dict(), allow_nan=False)


@pytest.mark.gnugo
@pytest.mark.parametrize(("mode", "reason"), [
    ("illegal", "illegal move"), ("crash", "crash"), ("sleep", "timeout"), ("refuse", "genmove error"),
])
def test_a_failing_engine_forfeits_and_the_match_goes_on(tmp_path: Path, gnugo_path: str, mode: str,
                                                        reason: str) -> None:
    summary = run_match(config(fake(mode), gnugo_command(gnugo_path), games=2, size=9, move_timeout=1.0,
                               startup_timeout=2.0,
                               sgf_dir=tmp_path))
    assert [g.winner for g in summary.games] == ["B", "B"]  # the fake engine lost as black and as white
    assert [g.result for g in summary.games] == ["W+F", "B+F"]
    assert [(f["engine"], f["reason"]) for f in summary.forfeits] == [("A", reason)] * 2
    assert summary.engines["A"].forfeits == 2 and summary.engines["B"].wins == 2
    for game in summary.games:
        record = load_sgf(game.sgf_path, check=True)
        assert record.result == game.result and f"loses by {reason}" in record.extra["C"][0]


def test_an_engines_first_genmove_may_take_the_startup_timeout() -> None:
    # 3 s on the first move only: within the start-up timeout (10 s), past the move timeout (1 s).
    summary = run_match(config(fake("slowstart"), fake("pass"), games=2, size=5, move_timeout=1.0,
                               startup_timeout=10.0))
    assert summary.forfeits == [] and all(g.moves == 2 for g in summary.games)
    # With a start-up timeout shorter than the load, the first move is a timeout like any other.
    summary = run_match(config(fake("slowstart"), fake("pass"), games=1, size=5, move_timeout=1.0,
                               startup_timeout=1.5))
    assert [(f["engine"], f["reason"]) for f in summary.forfeits] == [("A", "timeout")]


def test_cli_json_and_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="tenuki")
    add_match_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["match", "--black", fake("pass"), "--white", fake("refuse"), "--games", "2",
                              "--size", "5", "--komi", "0.5", "--json", "--sgf-dir", str(tmp_path)])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    # B answers genmove with "?" at its first move, as white after A's pass and as black: it loses both.
    assert out["games"] == 2 and out["engines"]["A"]["wins"] == 2 and out["engines"]["B"]["forfeits"] == 2
    assert [f["reason"] for f in out["forfeits"]] == ["genmove error"] * 2
    assert out["conditions"]["size"] == 5 and len(list(tmp_path.glob("*.sgf"))) == 2
    args = parser.parse_args(["match", "--black", "x", "--white", "y", "--games", "0"])
    assert args.func(args) == 2
    assert "games must be at least 1" in capsys.readouterr().err
    args = parser.parse_args(["match", "--black", "no-such-engine-here --gtp", "--white", fake("pass")])
    assert args.func(args) == 2
    assert "engine A: program 'no-such-engine-here' not found" in capsys.readouterr().err


def _tenuki_gtp_works() -> bool:
    try:
        done = subprocess.run([sys.executable, "-m", "tenuki", "gtp"], input="name\nquit\n", text=True,
                              capture_output=True, timeout=60, cwd=REPO_ROOT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.startswith("=")


@pytest.mark.gnugo
def test_tenuki_mcts_vs_gnugo(tmp_path: Path, gnugo_path: str) -> None:
    assert _tenuki_gtp_works(), "`tenuki gtp` does not answer `name`"
    tenuki = shlex.join([sys.executable, "-m", "tenuki", "gtp", "--player", "mcts", "--visits", "50",
                          "--seed", "1"])
    summary = run_match(config(tenuki, gnugo_command(gnugo_path), games=2, size=9, sgf_dir=tmp_path))
    assert len(summary.games) == 2 and not summary.forfeits, summary.forfeits
    a, b = summary.engines["A"], summary.engines["B"]
    assert a.wins + a.losses + a.draws == 2 and a.wins == b.losses and b.name.startswith("GNU Go")
    for game in summary.games:
        assert load_sgf(game.sgf_path, check=True).result == game.result


def test_the_default_komi_follows_the_board_size() -> None:
    """The komi rule of every command (tenuki.play.registry.default_komi): 7.0 up to 9x9, 7.5 above."""
    a, b = EngineSpec("A", ("gnugo",)), EngineSpec("B", ("gnugo",))
    assert MatchConfig(a, b, size=9).komi == 7.0
    assert MatchConfig(a, b, size=13).komi == 7.5 and MatchConfig(a, b, size=19).komi == 7.5
    assert MatchConfig(a, b, size=19, komi=0.5).komi == 0.5
