"""``tenuki tournament``: the command-line front end of ``tenuki.play.tournament`` (config, progress, the table).

``add_parser(subparsers)`` adds the ``tournament`` sub-command to the ``tenuki`` parser; ``cmd_tournament(args)``
runs it and returns the exit status (0 played, 2 a config or a run folder that cannot work, 130 Ctrl-C).
``--config`` takes a shipped config by name (``tenuki.configs/tournament/NAME.yaml``: alphago19, smoke) or a
YAML file; ``--set KEY=VALUE`` overrides a key before it is checked; the ``openings`` key is resolved like
``tenuki match --openings`` (a shipped set by name or a file).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from tenuki.commands import options as shared
from tenuki.commands.match import resolve_openings
from tenuki.common.config_files import config_names, resolve_config
from tenuki.common.yaml_config import ConfigError
from tenuki.play.match import MatchConfigError
from tenuki.play.tournament import (
    GAMES_FILE,
    SGF_FOLDER,
    Plan,
    TournamentError,
    build_plan,
    load_tournament_config,
    prepare_run,
    read_games,
    run_tournament,
)

log = logging.getLogger(__name__)
KIND = "tournament"  # the folder of tenuki.configs with the shipped tournament configs

EXAMPLE = """example:
  tenuki tournament --config smoke                       # 3 fast engines on 9x9, a round robin
  tenuki tournament --config alphago19 --set games_per_pairing=4 --set parallel=2
  tenuki tournament --config my.yaml --resume            # finish the games a killed run did not
  tenuki tournament --config my.yaml --report            # rate the games recorded so far, play nothing

Every pairing plays games_per_pairing games on the match arena (tenuki match: the same referee, forfeits,
count and SGFs), the engines' colours swapped from one game to the next. Each finished game is appended to
OUT/games.jsonl (OUT: out_dir, default runs/tournament-NAME) with its SGF under OUT/sgf/; run the command
again (or with --resume) and only the missing games are played; the config may change only by adding games.
The ratings are one Bradley-Terry fit of all games (Elo, 95% intervals, the anchor at its stated Elo),
written to OUT/tournament.json with a bar chart OUT/elo.png."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``tournament`` to the ``tenuki`` sub-commands; returns its parser."""
    parser = subparsers.add_parser(
        "tournament", help="a round robin or gauntlet of GTP engines: resumable, Bradley-Terry Elo with 95%% "
                           "intervals, a bar chart",
        description="A tournament of GTP engines given as command lines in a YAML config.", epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", required=True, metavar="NAME_OR_YAML",
                        help=f"a shipped tournament config by name ({', '.join(config_names(KIND)) or 'none'}) "
                             "or a YAML file")
    shared.add_set(parser)
    parser.add_argument("--resume", action="store_true",
                        help="the run folder must hold a tournament already (an error otherwise); without it a "
                             "folder that holds one is resumed too")
    parser.add_argument("--report", action="store_true",
                        help="play nothing: rate the games recorded so far (checked against the config as a resume "
                             "would be), write tournament.json and elo.png, print the table -- e.g. while another "
                             "process plays the rest")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.set_defaults(func=cmd_tournament)
    return parser


def load_plan(args: argparse.Namespace) -> Plan:
    """The plan of the config the options name; ConfigError names the key at fault."""
    path = resolve_config(args.config, KIND)
    config = load_tournament_config(path, args.set)
    try:
        openings = resolve_openings(config.openings)
    except MatchConfigError as e:
        raise ConfigError(f"{path}: openings: {str(e).removeprefix('--openings ')}") from e
    return build_plan(config, openings)


def cmd_tournament(args: argparse.Namespace) -> int:
    """Play the tournament's missing games, then rate every game and print the table."""
    from tenuki.play.tournament_ratings import write_report

    try:
        plan = load_plan(args)
    except ConfigError as error:
        print(f"tenuki tournament: {error}", file=sys.stderr)
        return 2
    try:
        if args.report:
            records, _ = prepare_run(plan, resume=True)
        else:
            records = run_tournament(plan, resume=args.resume, on_game=progress)
    except (ConfigError, MatchConfigError, TournamentError) as error:
        print(f"tenuki tournament: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        records = read_games(plan.games_path)
        if records:
            write_report(plan, records)
        print(f"tenuki tournament: interrupted; {len(records)} of {len(plan.schedule)} games recorded in "
              f"{plan.games_path} (run the command again to play the rest)", file=sys.stderr)
        return 130
    report = write_report(plan, records)
    if args.json:
        summary = {key: value for key, value in report.items() if key != "games"}
        print(json.dumps(summary, indent=1))
    else:
        print(format_report(report))
    return 0


def progress(record: dict, done: int, total: int) -> None:
    """One line a recorded game (INFO: ``-q`` hides it)."""
    winner = "draw" if record["winner"] is None else f"{record['winner']} wins"
    how = record["end"] if record.get("forfeit") is None else f"forfeit: {record['forfeit']['reason']}"
    log.info("[%d/%d] %s: %s (black) vs %s (white): %s - %s (%s, %d moves, %.1f s)", done, total, record["id"],
             record["black"], record["white"], record["result"], winner, how, record["moves"], record["seconds"])


def _elo(value: float | None) -> str:
    return "-" if value is None else f"{value:+.0f}"


def format_report(report: dict) -> str:
    """The standings and the pairings as a text table."""
    c = report["conditions"]
    time_limit = "no time limit" if c["seconds_per_move"] is None else f"{c['seconds_per_move']:g} s/move"
    anchor = report["anchor"]
    lines = [
        (f"tenuki tournament {report['name']}: {report['format'].replace('_', ' ')}, "
         f"{len(report['ratings']['engines'])} engines, {report['games_played']} of {report['games_scheduled']} "
         f"games on {c['size']}x{c['size']}, komi {c['komi']:g}, {time_limit}"),
        "",
        (f"{'rank':>4}  {'engine':<20}{'Elo':>7}  {'95% interval':<16}{'games':>6}{'wins':>6}{'draws':>6}"
         f"{'losses':>7}{'forfeits':>9}{'score':>8}"),
    ]
    for row in report["ratings"]["engines"]:
        interval = "(anchor)" if row["anchor"] else (
            "-" if row["elo_ci95"] is None else f"[{_elo(row['elo_ci95'][0])}, {_elo(row['elo_ci95'][1])}]")
        score = "-" if row["score"] is None else f"{100 * row['score']:.1f}%"
        lines.append(f"{row['rank'] or '-':>4}  {row['engine'][:19]:<20}{_elo(row['elo']):>7}  {interval:<16}"
                     f"{row['games']:>6}{row['wins']:>6}{row['draws']:>6}{row['losses']:>7}{row['forfeits']:>9}"
                     f"{score:>8}")
    lines += [
        "",
        f"Elo: {report['ratings']['method']}; anchor {anchor['engine']} = {anchor['elo']:g} Elo",
        f"prior: {report['ratings']['prior']}",
        f"interval: {report['ratings']['interval']}",
        "",
        "pairings (A vs B: A's wins - draws - B's wins; A's score, 95% Wilson interval; Elo A - B from it):",
    ]
    for p in report["pairings"]:
        low, high = p["a_score_ci95"]
        lines.append(f"  {p['pairing']:<34} {p['a_wins']}-{p['draws']}-{p['b_wins']} of {p['games']:<3} "
                     f"{100 * p['a_score']:5.1f}% [{100 * low:.1f}%, {100 * high:.1f}%]  Elo {_elo(p['elo_a_minus_b'])} "
                     f"[{_elo(p['elo_ci95'][0])}, {_elo(p['elo_ci95'][1])}]")
    out = report["out_dir"]
    lines += ["", (f"written: {out}/tournament.json, {out}/{report['files']['chart']}, {out}/{GAMES_FILE}, "
                   f"{out}/{SGF_FOLDER}/")]
    return "\n".join(lines)
