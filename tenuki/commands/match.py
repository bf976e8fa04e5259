"""``tenuki match``: the command-line front end of ``tenuki.play.match`` (options, progress, the summary).

``add_parser(subparsers)`` adds the ``match`` sub-command to the ``tenuki`` parser;
``cmd_match(args)`` runs it and returns the exit status (0 played, 2 bad options, 130 Ctrl-C).

``--openings`` takes a shipped set by name (``9x9`` is the package data ``tenuki/configs/openings/9x9.txt``,
found from any folder, as ``tenuki.common.config_files`` finds the YAML configs) or a file of the same
format: one opening a line, GTP vertices black first separated by spaces, ``#`` starting a comment,
blank lines ignored (``resolve_openings``, ``read_openings``). The moves are checked by ``MatchConfig``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib import resources
from pathlib import Path

from tenuki.commands import options as shared
from tenuki.common.config_files import CONFIG_PACKAGE
from tenuki.play.match import (
    DEFAULT_MOVE_TIMEOUT_S,
    DEFAULT_STARTUP_TIMEOUT_S,
    EngineSpec,
    GameResult,
    MatchConfig,
    MatchConfigError,
    run_match,
)
from tenuki.play.match_stats import MatchSummary

EXAMPLE = """example:
  tenuki match --black "tenuki gtp --player mcts --visits 800" \\
               --white "gnugo --mode gtp --level 10 --chinese-rules" --games 20 --size 9 --sgf-dir games/

Engine A (--black) plays black in games 1, 3, 5, ... and white in the others; results are per
engine. Visit limits belong in an engine's own command line; --seconds-per-move is sent to both
engines as GTP time_settings (0 main time, S seconds byo-yomi per move) and time_left. The budget
rule of every tenuki command holds: an engine started with --visits searches that many simulations
whatever the time settings (the time then only sets the forfeit timeout). --komi is sent to both
engines (default: 7.0 on boards up to 9x9, 7.5 on larger ones).

Deterministic engines repeat games move for move; the summary says how many games were distinct.
--openings 9x9 starts the games from the shipped balanced 9x9 openings: games 1 and 2 play opening 1
(the engines' colours swapped), games 3 and 4 opening 2, ..., cycling through the list (with
--fixed-colors game k plays opening k). The referee plays the opening's moves and sends them to both
engines as `play`; they are part of the game and its SGF."""

OPENINGS_KIND = "openings"  # the folder of tenuki.configs with the shipped opening sets
OPENINGS_SUFFIX = ".txt"
NO_OPENINGS = "none"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``match`` to the ``tenuki`` sub-commands; returns its parser."""
    parser = subparsers.add_parser(
        "match", help="play two GTP engines against each other (win rate, 95%% CI, Elo, SGFs)",
        description="An arena for two GTP engines given as command lines.", epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--black", "--engine-a", dest="engine_a", required=True, metavar="COMMAND",
                        help="engine A's command line (black in the first game), e.g. \"gnugo --mode gtp\"; "
                             "{game} in it becomes the game's number, e.g. \"--seed {game}\"")
    parser.add_argument("--white", "--engine-b", dest="engine_b", required=True, metavar="COMMAND",
                        help="engine B's command line (white in the first game)")
    parser.add_argument("--games", type=int, default=2, help="number of games (default 2)")
    parser.add_argument("--size", type=int, default=9, help="board size 2..19 (default 9)")
    shared.add_komi(parser, extra=", sent to both engines")
    parser.add_argument("--seconds-per-move", type=float, default=None, metavar="S",
                        help="time limit per move sent as time_settings 0 S 1 (default: none); "
                             f"{shared.BUDGET_RULE} in an engine given --visits")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds an engine may take for one move before it forfeits "
                             f"(default 3 * seconds-per-move + 10, or {DEFAULT_MOVE_TIMEOUT_S:g})")
    parser.add_argument("--startup-timeout", type=float, default=DEFAULT_STARTUP_TIMEOUT_S, metavar="S",
                        help=f"seconds for each set-up command and for an engine's first genmove of a "
                             f"game when longer than --timeout (engines load networks lazily; default "
                             f"{DEFAULT_STARTUP_TIMEOUT_S:g})")
    parser.add_argument("--max-moves", type=int, default=None,
                        help="adjudicate by the count after this many moves (default 2*N*N + 20)")
    parser.add_argument("--parallel", type=int, default=1, metavar="K",
                        help="games played at once, each with its own two engine processes (default 1)")
    parser.add_argument("--sgf-dir", type=Path, default=None, help="write one SGF per game into this folder")
    parser.add_argument("--fixed-colors", action="store_true", help="engine A plays black in every game")
    parser.add_argument("--openings", default=NO_OPENINGS, metavar="NAME_OR_FILE",
                        help="start the games from fixed openings: a shipped set by name "
                             f"({', '.join(opening_set_names()) or 'none shipped'}) or a file, one opening a line "
                             "(GTP vertices, black first; # comments); games 2k-1 and 2k play opening k with "
                             "the colours swapped (--fixed-colors: game k plays opening k), cycling through the "
                             "list; 'none' (default): every game from the empty board")
    parser.add_argument("--ko-rule", choices=("positional", "situational", "simple"), default="positional",
                        help="the referee's ko rule (default positional superko)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no line per finished game on stderr (and log at WARNING, as tenuki -q)")
    parser.set_defaults(func=cmd_match)
    return parser


add_match_parser = add_parser  # the name tests/play/test_match.py imports


def _openings_folder() -> Path:
    """The folder of the shipped opening sets (a real folder: wheels are installed unpacked)."""
    return Path(str(resources.files(CONFIG_PACKAGE).joinpath(OPENINGS_KIND)))


def opening_set_names() -> list[str]:
    """The names of the shipped opening sets (``["9x9"]``), sorted."""
    folder = _openings_folder()
    if not folder.is_dir():
        return []
    return sorted(path.stem for path in folder.iterdir() if path.suffix == OPENINGS_SUFFIX)


def read_openings(path: str | os.PathLike) -> tuple[tuple[str, ...], ...]:
    """The openings of a file: one a line, vertices separated by spaces, ``#`` comments and blank lines skipped.

    The vertices are not checked here (``MatchConfig`` does, for its board size); MatchConfigError when
    the file cannot be read or holds no opening."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MatchConfigError(f"cannot read the openings file {os.fspath(path)!r}: {e}") from e
    openings = []
    for line in text.splitlines():
        moves = line.split("#", 1)[0].split()
        if moves:
            openings.append(tuple(moves))
    if not openings:
        raise MatchConfigError(f"the openings file {os.fspath(path)!r} holds no opening "
                               "(one a line: GTP vertices, black first)")
    return tuple(openings)


def resolve_openings(value: str) -> tuple[tuple[str, ...], ...]:
    """The openings ``--openings`` names: ``none`` -> (), a path (an existing file, a value with a folder
    separator or ending in ``.txt``) read as it is, else the shipped set of that name.

    MatchConfigError for a name that is not shipped, listing the names that are."""
    if value == NO_OPENINGS:
        return ()
    if Path(value).is_file() or os.sep in value or (os.altsep and os.altsep in value) or value.endswith(OPENINGS_SUFFIX):
        return read_openings(value)
    path = _openings_folder() / f"{value}{OPENINGS_SUFFIX}"
    if not path.is_file():
        known = ", ".join(opening_set_names()) or "none shipped"
        raise MatchConfigError(f"--openings {value!r}: no such file nor shipped opening set "
                               f"(shipped: {known}; or {NO_OPENINGS!r})")
    return read_openings(path)


def config_from_args(args: argparse.Namespace) -> MatchConfig:
    """The MatchConfig the options describe; MatchConfigError names a bad option."""
    return MatchConfig(
        engine_a=EngineSpec.parse("A", args.engine_a),
        engine_b=EngineSpec.parse("B", args.engine_b),
        games=args.games, size=args.size, komi=shared.resolve_komi(args.komi, args.size),
        seconds_per_move=args.seconds_per_move,
        move_timeout=args.timeout, startup_timeout=args.startup_timeout, max_moves=args.max_moves,
        parallel=args.parallel, sgf_dir=args.sgf_dir, alternate_colors=not args.fixed_colors,
        ko_rule=args.ko_rule, openings=resolve_openings(args.openings),
    )


def cmd_match(args: argparse.Namespace) -> int:
    """Play the match the options describe and print its summary."""
    try:
        config = config_from_args(args)
    except MatchConfigError as e:
        print(f"tenuki match: {e}", file=sys.stderr)
        return 2

    def progress(game: GameResult) -> None:
        if not args.quiet:
            print(game_line(game, config.games), file=sys.stderr, flush=True)

    try:
        summary = run_match(config, on_game=progress)
    except MatchConfigError as e:
        print(f"tenuki match: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tenuki match: interrupted", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(format_summary(summary))
    return 0


def game_line(game: GameResult, games: int) -> str:
    """One line per finished game, e.g. ``game 3/10: B (black) vs A (white): B+4.5 (score, 61 moves)``."""
    winner = "draw" if game.winner is None else f"{game.winner} wins"
    how = game.end if game.forfeit is None else f"forfeit: {game.forfeit.reason}"
    opening = "" if game.opening is None else f", opening {game.opening + 1}: {' '.join(game.opening_moves)}"
    line = (f"game {game.index + 1}/{games}: {game.black} (black) vs {game.white} (white): {game.result} "
            f"- {winner} ({how}, {game.moves} moves, {game.seconds:.1f} s{opening})")
    if game.forfeit is not None:
        line += f"\n    {game.forfeit.detail}"
    return line


def format_summary(summary: MatchSummary) -> str:
    """The summary as a readable table."""
    c = summary.conditions
    time_limit = "no time limit" if c["seconds_per_move"] is None else f"{c['seconds_per_move']:g} s/move"
    lines = [
        (f"tenuki match: {len(summary.games)} games on {c['size']}x{c['size']}, komi {c['komi']:g}, {time_limit} "
        f"(timeout {c['move_timeout_s']:g} s), adjudicated after {c['max_moves']} moves"),
        f"referee: {c['referee']}; scoring: {c['scoring']}",
        "",
        f"{'':3}{'engine':<34}{'wins':>6}{'losses':>8}{'draws':>7}{'as B/W':>8}{'forfeits':>10}{'s/move':>9}",
    ]
    for label, e in summary.engines.items():
        name = (e.name or "?")[:33]
        lines.append(f"{label:<3}{name:<34}{e.wins:>6}{e.losses:>8}{e.draws:>7}"
                     f"{f'{e.wins_as_black}/{e.wins_as_white}':>8}{e.forfeits:>10}{e.seconds_per_move:>9.3f}")
    for label, e in summary.engines.items():
        lines.append(f"   {label}: {e.command}")
    stats = summary.statistics
    low, high = stats["score_ci95"]
    elo_low, elo_high = stats["elo_ci95"]
    cap = f" (|Elo| capped at {stats['elo_cap']:g})" if max(abs(elo_low), abs(elo_high)) >= stats["elo_cap"] else ""
    lines += [
        "",
        f"A win rate: {100 * stats['score']:.1f}%  95% CI [{100 * low:.1f}%, {100 * high:.1f}%] (Wilson)",
        f"Elo A - B: {stats['elo']:+.0f}  95% CI [{elo_low:+.0f}, {elo_high:+.0f}]{cap}",
        f"average game length: {summary.average_moves:.1f} moves; wall time {summary.wall_seconds:.1f} s",
        f"distinct games: {summary.distinct_games} of {len(summary.games)}" + (
            f"; openings: {summary.openings_played} of {len(c['openings'])} played" if c["openings"] else
            "; no openings (every game from the empty board)"),
        "time per genmove (referee's clock): " + "; ".join(
            f"{label} mean {e.seconds_per_move:.3f} s, p99 {e.p99_seconds_per_move:.3f} s, "
            f"max {e.max_seconds_per_move:.3f} s ({e.genmoves} moves)" for label, e in summary.engines.items()),
    ]
    if summary.forfeits:
        lines.append(f"forfeits ({len(summary.forfeits)}):")
        for f in summary.forfeits:
            lines.append(f"  game {f['game']}: engine {f['engine']} ({f['color']}) {f['reason']}: {f['detail']}")
    return "\n".join(lines)
