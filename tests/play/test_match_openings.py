"""``tenuki match --openings``: which game plays which opening with which colours, openings checked before
any engine starts, the referee telling both engines the opening's moves, the count of distinct games,
the shipped 9x9 set (parses, legal, at least 25, no two the same under the board's symmetries) and the
time-per-move statistics."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import pytest

from tenuki.commands.match import (
    add_match_parser,
    format_summary,
    game_line,
    opening_set_names,
    read_openings,
    resolve_openings,
)
from tenuki.envs.go.coords import from_gtp
from tenuki.envs.go.layout import BLACK, WHITE
from tenuki.envs.go.sgf import load_sgf
from tenuki.play.match import EngineSpec, GameResult, MatchConfig, MatchConfigError, run_match
from tenuki.play.match_stats import distinct_games, percentile, summarize

# A GTP engine that appends every command it receives to the file named by its first argument and
# passes on genmove; its second argument "refuse-play" makes it answer every `play` with "?".
RECORDING_ENGINE = r"""
import sys
log = open(sys.argv[1], "a")
refuse_play = len(sys.argv) > 2 and sys.argv[2] == "refuse-play"
def answer(text="", ok=True):
    print(("= " if ok else "? ") + text + "\n", flush=True)
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    log.write(line.strip() + "\n")
    log.flush()
    name = words[0]
    if name == "quit":
        answer(); break
    elif name == "name":
        answer("Recorder")
    elif name == "play" and refuse_play:
        answer("illegal move", ok=False)
    elif name in ("version", "boardsize", "clear_board", "komi", "play"):
        answer("0.1" if name == "version" else "")
    elif name == "genmove":
        answer("pass")
    else:
        answer("unknown command", ok=False)
"""


def recorder(log: Path, *extra: str) -> str:
    """The recording engine's command line; ``{game}`` in ``log`` becomes the game's number."""
    return shlex.join([sys.executable, "-c", RECORDING_ENGINE, str(log), *extra])


def config(black: str = "x", white: str = "y", **options) -> MatchConfig:
    return MatchConfig(EngineSpec.parse("A", black), EngineSpec.parse("B", white), **options)


def canonical(opening: tuple[str, ...], size: int) -> tuple:
    """The smallest of the 8 rotations / reflections of an opening's points: one key per symmetry class."""
    last = size - 1
    points = [divmod(from_gtp(vertex, size), size) for vertex in opening]  # (row, col)
    transforms = [lambda r, c: (r, c), lambda r, c: (c, r)]
    images = []
    for swap in transforms:
        for flip_r in (False, True):
            for flip_c in (False, True):
                image = []
                for r, c in points:
                    rr, cc = swap(r, c)
                    image.append((last - rr if flip_r else rr, last - cc if flip_c else cc))
                images.append(tuple(image))
    return min(images)


# ---------------------------------------------------------------------------------- which opening, which colours


def test_games_map_to_openings_with_the_colours_swapped_in_pairs() -> None:
    openings = (("E5", "C4"), ("D4",), ("C3", "G7", "E5"))
    match = config(games=8, size=9, openings=openings)
    assert [match.opening_index(g) for g in range(8)] == [0, 0, 1, 1, 2, 2, 0, 0]
    for pair in range(4):  # the two games of an opening: engine A black, then engine B black
        assert [match.players(2 * pair + k)[0].label for k in (0, 1)] == ["A", "B"]
    fixed = config(games=5, size=9, openings=openings, alternate_colors=False)
    assert [fixed.opening_index(g) for g in range(5)] == [0, 1, 2, 0, 1]
    assert {fixed.players(g)[0].label for g in range(5)} == {"A"}
    assert config(games=4).opening_index(3) is None  # no openings: the empty board
    assert config(openings=[["e5", "c4"]]).openings == (("E5", "C4"),)  # lists and lower case accepted


@pytest.mark.parametrize(("opening", "size", "message"), [
    (("E5", "E5"), 9, r"opening 2 \(E5 E5\), move 2 \(white E5\): illegal on the 9x9 board"),
    (("E5", "Z9"), 9, r"opening 2 \(E5 Z9\), move 2: 'Z9' is not a vertex"),
    (("K10",), 9, r"opening 2 \(K10\), move 1: 'K10' is not a vertex of a 9x9 board"),
    (("D4", "pass"), 9, r"opening 2 \(D4 PASS\), move 2: .*pass is not allowed"),
    ((), 9, r"opening 2 \(empty\): an opening needs at least one move"),
    (("A2", "J9", "B1", "A1"), 9, r"opening 2 \(A2 J9 B1 A1\), move 4 \(white A1\): illegal"),  # suicide
    (("F6",), 5, r"opening 2 \(F6\), move 1: 'F6' is not a vertex of a 5x5 board"),
])
def test_an_illegal_opening_is_an_error_before_any_engine_starts(opening: tuple[str, ...], size: int,
                                                                 message: str) -> None:
    with pytest.raises(MatchConfigError, match=message):  # the engines' programs do not exist: never started
        config("no-such-engine-here", "nor-this-one", size=size, openings=(("C3", "D4"), opening))


def test_an_opening_too_long_for_max_moves_is_an_error() -> None:
    with pytest.raises(MatchConfigError, match=r"opening 1 \(E5 C4 D4\): 3 moves is too long for max moves 3"):
        config(size=9, max_moves=3, openings=(("E5", "C4", "D4"),))
    assert config(size=9, max_moves=4, openings=(("E5", "C4", "D4"),)).openings == (("E5", "C4", "D4"),)


# ---------------------------------------------------------------------------------- distinct games


def test_distinct_games_counts_move_sequences_with_their_colours() -> None:
    game = ["B E5", "W C4", "B pass", "W pass"]
    assert distinct_games([]) == 0
    assert distinct_games([game, list(game), game[:3], game]) == 2
    assert distinct_games([["B E5"], ["W E5"], ["B E5", "W pass"]]) == 3  # the colour is part of a move
    assert distinct_games([[], []]) == 1  # two games without a move are the same game


def result(index: int, sequence: list[str], black: str = "A", times: dict[str, list[float]] | None = None,
           opening: int | None = None) -> GameResult:
    times = times or {}
    return GameResult(index=index, black=black, white="B" if black == "A" else "A", winner="A", result="B+1",
                      end="score", moves=len(sequence), seconds=1.0, sequence=sequence, opening=opening,
                      genmove_seconds={k: sum(v) for k, v in times.items()},
                      genmoves={k: len(v) for k, v in times.items()}, genmove_times=times)


def test_the_summary_counts_a_game_replayed_with_the_seats_swapped_once() -> None:
    """Engine A and B the same deterministic program: the game with the colours swapped is the same game."""
    same = ["B E5", "W C4", "B D4"]
    games = [result(0, same, "A"), result(1, list(same), "B"), result(2, ["B E5", "W D4"], "A")]
    summary = summarize(config(games=3), games, 3.0)
    assert summary.distinct_games == 2 and summary.to_dict()["distinct_games"] == 2
    assert "distinct games: 2 of 3" in format_summary(summary)


# ---------------------------------------------------------------------------------- time per move


def test_percentile_is_the_nearest_rank() -> None:
    times = [float(t) for t in range(100, 0, -1)]  # 1..100 s, unsorted
    assert percentile(times, 99) == 99.0 and percentile(times, 100) == 100.0 and percentile(times, 50) == 50.0
    assert percentile(times, 0.5) == 1.0
    assert percentile([0.3, 2.0, 0.1], 99) == 2.0  # fewer than 100 moves: the longest
    assert percentile([], 99) == 0.0
    with pytest.raises(ValueError):
        percentile(times, 0)


def test_time_per_move_statistics_per_engine() -> None:
    a_times = [[0.5] * 60, [0.5] * 39 + [4.0]]  # 100 moves: one slow (a network loading)
    games = [result(0, ["B E5"], times={"A": a_times[0], "B": [0.2, 0.4]}),
             result(1, ["B D4"], times={"A": a_times[1], "B": [0.6]})]
    summary = summarize(config(games=2), games, 2.0)
    a, b = summary.to_dict()["engines"]["A"], summary.to_dict()["engines"]["B"]
    assert a["genmoves"] == 100 and a["seconds_per_move"] == pytest.approx((99 * 0.5 + 4.0) / 100)
    assert a["p99_seconds_per_move"] == 0.5 and a["max_seconds_per_move"] == 4.0
    assert b["seconds_per_move"] == pytest.approx(0.4) and b["p99_seconds_per_move"] == b["max_seconds_per_move"] == 0.6
    assert "genmove_times" not in a  # the lists stay out of the JSON; their statistics go in
    text = format_summary(summary)
    assert "A mean 0.535 s, p99 0.500 s, max 4.000 s (100 moves)" in text
    assert "B mean 0.400 s, p99 0.600 s, max 0.600 s (3 moves)" in text
    assert games[1].to_dict()["genmove_max_seconds"] == {"A": 4.0, "B": 0.6}
    json.dumps(summary.to_dict(), allow_nan=False)


# ---------------------------------------------------------------------------------- games from openings


def test_a_match_from_two_openings(tmp_path: Path) -> None:
    openings = (("E5", "C4"), ("D4", "F6", "C3"))
    logs = tmp_path / "logs"
    logs.mkdir()
    match = config(recorder(logs / "A-{game}.log"), recorder(logs / "B-{game}.log"), games=4, size=9,
                   komi=7.0, sgf_dir=tmp_path / "sgf", openings=openings)
    summary = run_match(match)
    assert [(g.opening, g.black) for g in summary.games] == [(0, "A"), (0, "B"), (1, "A"), (1, "B")]
    assert not summary.forfeits
    for game in summary.games:
        opening = openings[game.opening]
        colours = ("B", "W", "B")
        expected = [f"{colours[i]} {v}" for i, v in enumerate(opening)]
        assert game.opening_moves == list(opening) and game.sequence[: len(opening)] == expected
        assert game.moves == len(opening) + 2  # then both engines pass
        record = load_sgf(game.sgf_path, check=True)
        colour = {"B": BLACK, "W": WHITE}
        assert record.moves[: len(opening)] == [(colour[c], from_gtp(v, 9)) for c, v in zip(colours, opening)]
        assert len(record.moves) == game.moves
        assert f"opening {game.opening + 1} of 2: {' '.join(opening)}" in record.extra["C"][0]
        for label in "AB":  # both engines were told every move of the opening before the first genmove
            commands = (logs / f"{label}-{game.index + 1}.log").read_text().splitlines()
            first_genmove = next(i for i, c in enumerate(commands) if c.startswith("genmove"))
            plays = [c for c in commands[:first_genmove] if c.startswith("play")]
            names = ("black", "white", "black")
            assert plays[: len(opening)] == [f"play {names[i]} {v}" for i, v in enumerate(opening)]
        assert opening[-1] in game_line(game, 4) and f"opening {game.opening + 1}" in game_line(game, 4)
    # both games of an opening pass at once: the same game twice, for each of the two openings
    assert summary.distinct_games == 2 and summary.openings_played == 2
    assert summary.conditions["openings"] == ["E5 C4", "D4 F6 C3"]
    assert "distinct games: 2 of 4; openings: 2 of 2 played" in format_summary(summary)


@pytest.mark.gnugo
def test_gnugo_plays_on_from_the_shipped_openings(tmp_path: Path, gnugo_path: str) -> None:
    gnugo = shlex.join([gnugo_path, "--mode", "gtp", "--level", "0"])
    openings = resolve_openings("9x9")
    summary = run_match(config(gnugo, gnugo, games=4, size=9, komi=7.0, parallel=2, sgf_dir=tmp_path,
                               openings=openings))
    assert not summary.forfeits and [g.opening for g in summary.games] == [0, 0, 1, 1]
    sequences = []
    for game in summary.games:
        record = load_sgf(game.sgf_path, check=True)  # legal move by move from the empty board
        black, white = openings[game.opening]
        assert record.moves[:2] == [(BLACK, from_gtp(black, 9)), (WHITE, from_gtp(white, 9))]
        assert len(record.moves) == game.moves > 2 and game.end == "score"
        sequences.append(tuple(record.moves))
    assert summary.distinct_games == len(set(sequences)) >= 2  # two openings: at least two games


def test_an_engine_that_refuses_an_opening_move_forfeits(tmp_path: Path) -> None:
    match = config(recorder(tmp_path / "a.log"), recorder(tmp_path / "b.log", "refuse-play"), games=2, size=9,
                   openings=(("E5", "C4"),))
    summary = run_match(match)
    assert [g.winner for g in summary.games] == ["A", "A"]
    assert [f["reason"] for f in summary.forfeits] == ["rejected move"] * 2
    assert summary.forfeits[0]["detail"].startswith("opening 1, move 1: play black E5: ?")


# ---------------------------------------------------------------------------------- the shipped set and the CLI


def test_the_shipped_9x9_openings_are_legal_balanced_and_distinct() -> None:
    assert "9x9" in opening_set_names()
    openings = resolve_openings("9x9")
    assert len(openings) >= 25 and all(len(o) == 2 for o in openings)
    classes = {canonical(o, 9) for o in openings}
    assert len(classes) == len(openings), "two openings are mirror images or rotations of each other"
    config(size=9, komi=7.0, openings=openings)  # all legal on 9x9 (MatchConfigError otherwise)
    assert canonical(("E5", "E6"), 9) == canonical(("E5", "D5"), 9) != canonical(("E5", "F6"), 9)


def test_openings_option_names_files_and_sets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert resolve_openings("none") == ()
    path = tmp_path / "mine.txt"
    path.write_text("# two openings\n\nC3 C2   # a comment\n  B2\n")
    assert read_openings(path) == resolve_openings(str(path)) == (("C3", "C2"), ("B2",))
    with pytest.raises(MatchConfigError, match=r"--openings 'nosuchset': .*shipped: .*9x9"):
        resolve_openings("nosuchset")
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(MatchConfigError, match="holds no opening"):
        read_openings(tmp_path / "empty.txt")

    parser = argparse.ArgumentParser(prog="tenuki")
    add_match_parser(parser.add_subparsers(dest="command"))
    log = tmp_path / "engine.log"
    args = parser.parse_args(["match", "--black", recorder(log), "--white", recorder(log), "--games", "2",
                              "--size", "5", "--openings", str(path), "--fixed-colors", "--json", "-q"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["opening"] for r in out["results"]] == [0, 1] and out["distinct_games"] == 2
    assert out["results"][1]["sequence"] == ["B B2", "W pass", "B pass"]
    assert out["conditions"]["openings"] == ["C3 C2", "B2"]
    args = parser.parse_args(["match", "--black", "x", "--white", "y", "--openings", "nosuchset"])
    assert args.func(args) == 2 and "shipped: 9x9" in capsys.readouterr().err
    path.write_text("C3 C3\n")
    args = parser.parse_args(["match", "--black", "x", "--white", "y", "--size", "5", "--openings", str(path)])
    assert args.func(args) == 2 and "opening 1 (C3 C3), move 2 (white C3): illegal" in capsys.readouterr().err
