"""A tournament of GTP engines: every pairing's games on the match arena, resumable, rated by one Bradley-Terry fit.

    config = load_tournament_config("configs/tournament/smoke.yaml", overrides=["games_per_pairing=4"])
    plan = build_plan(config, openings=())       # pairings, the schedule of games, the output folder
    records = run_tournament(plan)              # plays what games.jsonl does not hold yet
    report = tournament_ratings.write_report(plan, records)   # the fit; tournament.json, elo.png

**The YAML** (``configs/tournament/*.yaml``; every key but ``engines`` has a default)::

    name: smoke                  # default: the file's name; out_dir defaults to runs/tournament-NAME
    format: round_robin          # round_robin: every pair of engines; gauntlet: each player vs each opponent
    engines:                     # GTP command lines, {game} becomes the game's number within its pairing
      - {name: random, command: "tenuki gtp --player random --seed {game}"}
      - {name: gnugo-10, command: "/usr/games/gnugo --mode gtp --level 10 --chinese-rules"}
    opponents: [gnugo-10]        # gauntlet only: the field (required there)
    players: []                  # gauntlet only: who plays the field (default: every engine not an opponent)
    games_per_pairing: 10
    size: 19
    komi: null                   # null: the registry's default komi (7.0 up to 9x9, 7.5 above), as tenuki match
    seconds_per_move: 2          # null: no time limit sent (visit-limited engines)
    move_timeout: null           # null: 3 * seconds_per_move + 10 s, else 60 s (tenuki.play.match)
    startup_timeout: 60
    max_moves: null              # null: 2 N^2 + 20
    ko_rule: positional
    openings: none               # a shipped opening set (9x9) or a file, as tenuki match --openings
    parallel: 1                  # games at once, each with its own two engine processes
    out_dir: ""                  # "": runs/tournament-NAME (relative to the current folder)
    anchor: {engine: gnugo-10, elo: 0}   # default: the first opponent (gauntlet) or the first engine, at 0

**The schedule.** A pairing ``A_vs_B`` (A the earlier of the two in ``engines``; in a gauntlet A is the
player) plays ``games_per_pairing`` games with ``tenuki.play.match.play_game`` on a ``MatchConfig`` of
its own, so the referee, the forfeits, the count and the SGFs are the match's: A is black in the
pairing's games 1, 3, 5, ... and white in 2, 4, ...; with openings games 2k-1 and 2k play the same opening
with the colours swapped. Games run round by round (game 1 of every pairing, then game 2, ...), so a
tournament stopped half-way has played every pairing about equally. A game's id is ``A_vs_B/003``.

**Resuming.** Each finished game is one JSON line appended to ``OUT/games.jsonl`` (written, flushed and
fsynced before the next game is recorded) and its SGF is ``OUT/sgf/A_vs_B/game-003.sgf`` (written
before the line: a game without its line is played again and its SGF overwritten). Starting again on
the same ``OUT`` reads the lines back and plays only the games that are missing; a last line cut short
by a kill is dropped with a warning (the file is truncated to the last whole line). The config may
change only by adding games (more games per pairing, more engines or pairings): every recorded game
must still be scheduled, between engines with the same command lines, under the same size, komi, time,
move limit, ko rule and opening; anything else is a ``TournamentError`` naming what changed (use
another ``out_dir``). Ctrl-C stops the running games at their next move, closes their engines and
records nothing after the interrupt.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import shlex
import threading
import time
import typing
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tenuki.common.atomic import atomic_write
from tenuki.common.yaml_config import (
    CommandLineValue,
    ConfigError,
    check_ranges,
    coerce_value,
    dump_yaml_config,
    load_yaml_config,
    parse_section,
)
from tenuki.envs.go.board import MAX_SIZE, MIN_SIZE, Board
from tenuki.play.match import EngineSpec, GameResult, MatchConfig, MatchConfigError, play_game

log = logging.getLogger(__name__)

FORMATS = ("round_robin", "gauntlet")
KO_RULES = ("positional", "situational", "simple")
GAMES_FILE = "games.jsonl"
CONFIG_FILE = "config.yaml"
SGF_FOLDER = "sgf"
ENGINE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*")  # a folder name and part of a game id; no "_vs_"


class TournamentError(ValueError):
    """A tournament that cannot go on as asked (a run folder that does not match the config, nothing to
    resume); the message says what differs and what to do."""


@dataclass
class EngineEntry:
    name: str = ""
    command: str = ""


@dataclass
class AnchorConfig:
    engine: str = ""  # "": the first opponent (gauntlet) or the first engine (round robin)
    elo: float = 0.0


@dataclass
class TournamentConfig:
    name: str = ""
    format: str = "round_robin"
    engines: list[EngineEntry] = field(default_factory=list)
    players: list[str] = field(default_factory=list)
    opponents: list[str] = field(default_factory=list)
    games_per_pairing: int = 2
    size: int = 9
    komi: float | None = None
    seconds_per_move: float | None = None
    move_timeout: float | None = None
    startup_timeout: float = 60.0
    max_moves: int | None = None
    ko_rule: str = "positional"
    openings: str = "none"
    parallel: int = 1
    out_dir: str = ""
    anchor: AnchorConfig = field(default_factory=AnchorConfig)

    @property
    def engine_names(self) -> list[str]:
        return [engine.name for engine in self.engines]

    @property
    def commands(self) -> dict[str, str]:
        """Engine name -> its command line, normalised (``shlex.join`` of its words)."""
        return {engine.name: shlex.join(shlex.split(engine.command)) for engine in self.engines}

    @property
    def anchor_engine(self) -> str:
        if self.anchor.engine:
            return self.anchor.engine
        return self.opponents[0] if self.format == "gauntlet" and self.opponents else self.engines[0].name

    def pairings(self) -> list[tuple[str, str]]:
        """(A, B) of every pairing: each pair of engines in ``engines`` order (round robin), or each
        player against each opponent in the order they are listed (gauntlet)."""
        names = self.engine_names
        if self.format == "round_robin":
            return [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
        players = self.players or [name for name in names if name not in self.opponents]
        return [(player, opponent) for player in players for opponent in self.opponents]


# ---------------------------------------------------------------------------------- the config


RANGES = {
    "format": (lambda v: v in FORMATS, f"one of {', '.join(FORMATS)}"),
    "games_per_pairing": (lambda v: v >= 1, "an integer >= 1"),
    "size": (lambda v: MIN_SIZE <= v <= MAX_SIZE, f"an integer in {MIN_SIZE}..{MAX_SIZE}"),
    "komi": (lambda v: v is None or math.isfinite(v), "a finite number or null (the default komi)"),
    "seconds_per_move": (lambda v: v is None or v > 0, "a number > 0 or null (no time limit)"),
    "move_timeout": (lambda v: v is None or v > 0, "a number > 0 or null (the match's default)"),
    "startup_timeout": (lambda v: v > 0, "a number > 0"),
    "max_moves": (lambda v: v is None or v >= 1, "an integer >= 1 or null (2 N^2 + 20)"),
    "ko_rule": (lambda v: v in KO_RULES, f"one of {', '.join(KO_RULES)}"),
    "parallel": (lambda v: v >= 1, "an integer >= 1"),
    "anchor.elo": (lambda v: math.isfinite(v), "a finite number"),
}


def _read_text_value(value: Any) -> Any:
    """A ``--set`` value read as YAML (``[a, b]``, ``null``); anything else as it is."""
    if isinstance(value, CommandLineValue):
        try:
            return yaml.safe_load(str(value))
        except yaml.YAMLError:
            return str(value)
    return value


def _names_list(value: Any, key: str) -> list[str]:
    value = _read_text_value(value)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{key}: expected a list of engine names, e.g. [gnugo-10], got {value!r}")
    return list(value)


def _engines_list(value: Any, key: str) -> list[EngineEntry]:
    value = _read_text_value(value)
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list of engines, each {{name: NAME, command: GTP COMMAND LINE}}, "
                          f"got {value!r}")
    entries = [parse_section(EngineEntry, item, f"{key}[{i}]", ConfigError) for i, item in enumerate(value)]
    for i, entry in enumerate(entries):
        if not ENGINE_NAME.fullmatch(entry.name) or "_vs_" in entry.name:
            raise ConfigError(f"{key}[{i}].name: expected letters, digits, '.', '+' or '-' (a folder name), "
                              f"got {entry.name!r}")
        if entry.name in [e.name for e in entries[:i]]:
            raise ConfigError(f"{key}[{i}].name: {entry.name!r} is already the name of another engine")
        try:
            EngineSpec.parse(entry.name, entry.command)
        except MatchConfigError as e:
            raise ConfigError(f"{key}[{i}].command: {e}") from e
    return entries


def config_from_dict(data: Any) -> TournamentConfig:
    """The TournamentConfig of a YAML mapping (``--set`` overrides already written in); ConfigError names
    the dotted key at fault and what is allowed."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"the config: expected a mapping of keys, got {type(data).__name__}")
    hints = typing.get_type_hints(TournamentConfig)
    known = [f.name for f in dataclasses.fields(TournamentConfig)]
    for key in data:
        if key not in known:
            shown = f"--set {key}" if key in getattr(data, "set_keys", ()) else str(key)
            raise ConfigError(f"{shown}: unknown key (allowed: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for key, value in data.items():
        kind = hints[key]
        shown = f"--set {key}" if isinstance(value, CommandLineValue) else key
        if key == "engines":
            values[key] = _engines_list(value, shown)
        elif key in ("players", "opponents"):
            values[key] = _names_list(value, shown)
        elif key == "anchor":
            if isinstance(value, CommandLineValue):
                raise ConfigError(f"--set {key}: {key} is a section, give one of its keys (--set anchor.engine=NAME)")
            values[key] = parse_section(AnchorConfig, value, key, ConfigError)
        elif isinstance(kind, type(int | None)):  # an optional number: null keeps the default rule
            value = _read_text_value(value) if isinstance(value, CommandLineValue) else value
            base = next(arg for arg in typing.get_args(kind) if arg is not type(None))
            values[key] = None if value is None else coerce_value(value, base, shown, ConfigError)
        else:
            values[key] = coerce_value(value, kind, key, ConfigError)  # names "--set KEY" itself
    config = TournamentConfig(**values)
    check_config(config)
    return config


def check_config(config: TournamentConfig) -> None:
    """ConfigError for the first key that cannot work (ranges, engine names, pairings, anchor)."""
    check_ranges(config, RANGES, ConfigError)
    names = config.engine_names
    if len(names) < 2:
        raise ConfigError(f"engines: a tournament needs at least 2 engines, got {len(names)}")
    for key in ("players", "opponents"):
        for name in getattr(config, key):
            if name not in names:
                raise ConfigError(f"{key}: {name!r} is not one of the engines ({', '.join(names)})")
        if len(set(getattr(config, key))) != len(getattr(config, key)):
            raise ConfigError(f"{key}: an engine is listed twice")
    if config.format == "round_robin":
        for key in ("players", "opponents"):
            if getattr(config, key):
                raise ConfigError(f"{key}: only with format: gauntlet (a round robin pairs every engine)")
    else:
        if not config.opponents:
            raise ConfigError("opponents: format gauntlet needs the field, e.g. opponents: [gnugo-10]")
        both = sorted(set(config.players) & set(config.opponents))
        if both:
            raise ConfigError(f"players: {both[0]!r} is also an opponent (an engine cannot play itself)")
        if not config.pairings():
            raise ConfigError("players: no engine is left to play the opponents")
    if config.anchor.engine and config.anchor.engine not in names:
        raise ConfigError(f"anchor.engine: {config.anchor.engine!r} is not one of the engines ({', '.join(names)})")


def load_tournament_config(path: str | os.PathLike, overrides: list[str] | None = None) -> TournamentConfig:
    """Read a tournament YAML with ``--set KEY=VALUE`` ``overrides``; ``name`` defaults to the file's name."""
    config = load_yaml_config(path, config_from_dict, ConfigError, overrides=overrides)
    if not config.name:
        config.name = Path(path).stem
    return config


# ---------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Pairing:
    """Two engines and the MatchConfig their games are played with (engine labels are the engines' names)."""

    engine_a: str
    engine_b: str
    match: MatchConfig

    @property
    def id(self) -> str:
        return f"{self.engine_a}_vs_{self.engine_b}"


@dataclass(frozen=True)
class ScheduledGame:
    pairing: Pairing
    index: int  # 0-based within the pairing: play_game(pairing.match, index)

    @property
    def id(self) -> str:
        return f"{self.pairing.id}/{self.index + 1:03d}"


@dataclass
class Plan:
    """What a tournament plays and where it writes: built from the config before any engine starts."""

    config: TournamentConfig
    out_dir: Path
    pairings: list[Pairing]
    schedule: list[ScheduledGame]  # round by round
    conditions: dict[str, Any]  # GAME_CONDITIONS with the defaults applied, and the openings

    @property
    def games_path(self) -> Path:
        return self.out_dir / GAMES_FILE


def build_plan(config: TournamentConfig, openings: tuple[tuple[str, ...], ...] = ()) -> Plan:
    """The pairings and the schedule of ``config`` with the resolved ``openings`` (GTP vertices, black first;
    ``tenuki.commands.match.resolve_openings`` reads ``config.openings``). ConfigError for openings that do
    not fit the board."""
    out_dir = Path(config.out_dir or f"runs/tournament-{config.name}")
    specs = {name: EngineSpec.parse(name, command) for name, command in config.commands.items()}
    pairings = []
    for a, b in config.pairings():
        try:
            match = MatchConfig(
                engine_a=specs[a], engine_b=specs[b], games=config.games_per_pairing, size=config.size,
                komi=config.komi, seconds_per_move=config.seconds_per_move, move_timeout=config.move_timeout,
                startup_timeout=config.startup_timeout, max_moves=config.max_moves, parallel=1,
                sgf_dir=out_dir / SGF_FOLDER / f"{a}_vs_{b}", alternate_colors=True, ko_rule=config.ko_rule,
                openings=openings)
        except MatchConfigError as e:
            raise ConfigError(f"openings: {e}" if "opening" in str(e) else str(e)) from e
        pairings.append(Pairing(a, b, match))
    schedule = [ScheduledGame(pairing, index) for index in range(config.games_per_pairing) for pairing in pairings]
    first = pairings[0].match  # what a recorded game must share with a config that resumes it
    conditions = {"size": first.size, "komi": first.komi, "seconds_per_move": first.seconds_per_move,
                  "max_moves": first.move_limit, "ko_rule": first.ko_rule}
    return Plan(config, out_dir, pairings, schedule, conditions)


# ---------------------------------------------------------------------------------- games.jsonl


def read_games(path: Path) -> list[dict]:
    """The game records of ``games.jsonl``, in the order written. A last line cut short (no newline and not
    JSON: the process was killed while writing it) is dropped with a warning and cut from the file; a
    broken line before the last one is a TournamentError."""
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise TournamentError(f"{path}: line {number} is not a game record ({e}); fix or remove it") from e
    if tail.strip():
        try:
            records.append(json.loads(tail))
            with path.open("ab") as stream:  # a whole record whose newline the kill cut off
                stream.write(b"\n")
        except json.JSONDecodeError:
            log.warning("%s: the last line is cut short (%d bytes, the run was killed while writing it); "
                        "dropped, that game is played again", path, len(tail))
            with path.open("r+b") as stream:
                stream.truncate(len(data) - len(tail))
    return records


class GameLog:
    """``games.jsonl`` opened for appending: one JSON object a line, each written, flushed and fsynced."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._stream = path.open("a", encoding="utf-8")

    def append(self, record: dict) -> None:
        self._stream.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._stream.flush()
        os.fsync(self._stream.fileno())

    def close(self) -> None:
        self._stream.close()


def check_recorded(plan: Plan, records: list[dict]) -> dict[str, dict]:
    """The recorded games by id, once each; TournamentError when the config no longer schedules one of them
    as it was played (the config may only add games)."""
    scheduled = {game.id: game for game in plan.schedule}
    commands = plan.config.commands
    by_id: dict[str, dict] = {}
    advice = f"a tournament may only add games; give another out_dir (now {plan.out_dir})"
    for record in records:
        game_id = record.get("id")
        if game_id in by_id:
            log.warning("%s: game %s is recorded twice; the first record counts", plan.games_path, game_id)
            continue
        if game_id not in scheduled:
            raise TournamentError(f"{plan.games_path} holds game {game_id}, which the config no longer schedules "
                                  f"(fewer games per pairing, or an engine or pairing removed): {advice}")
        for name, command in record.get("commands", {}).items():
            if commands.get(name) != command:
                raise TournamentError(f"engines: {name}'s command changed since game {game_id} was played "
                                      f"(was {command!r}, now {commands.get(name)!r}): {advice}")
        for key, value in plan.conditions.items():
            was = record.get("conditions", {}).get(key)
            if was != value:
                raise TournamentError(f"{key}: {was!r} in the recorded game {game_id}, "
                                      f"{value!r} now: {advice}")
        game = scheduled[game_id]
        opening = game.pairing.match.opening_index(game.index)
        expected = list(game.pairing.match.openings[opening]) if opening is not None else []
        if record.get("opening_moves", []) != expected:
            raise TournamentError(f"openings: game {game_id} was played from {record.get('opening_moves')}, "
                                  f"the config now starts it from {expected}: {advice}")
        by_id[game_id] = record
    return by_id


def game_record(plan: Plan, game: ScheduledGame, result: GameResult) -> dict:
    """The line of games.jsonl for a finished game: the match's GameResult (engines named by the engines'
    names) with the tournament's id, pairing, commands and conditions, and the SGF's path under OUT."""
    record = {"id": game.id, "pairing": game.pairing.id, "game": game.index + 1,
              "engine_a": game.pairing.engine_a, "engine_b": game.pairing.engine_b}
    record.update(result.to_dict())
    commands = plan.config.commands
    record["commands"] = {name: commands[name] for name in (game.pairing.engine_a, game.pairing.engine_b)}
    record["conditions"] = dict(plan.conditions)
    if result.sgf_path is not None:
        record["sgf_path"] = os.path.relpath(result.sgf_path, plan.out_dir)
    record["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return record


# ---------------------------------------------------------------------------------- running it


def prepare_run(plan: Plan, resume: bool = False) -> tuple[list[dict], list[ScheduledGame]]:
    """(the recorded games in schedule order, the games still to play).

    ``resume``: OUT must hold a tournament already (TournamentError otherwise); without it an OUT that
    holds one is resumed as well. TournamentError when the config does not fit the recorded games."""
    if resume and not plan.games_path.is_file():
        raise TournamentError(f"--resume: {plan.games_path} does not exist (no tournament to resume there)")
    recorded = check_recorded(plan, read_games(plan.games_path))
    order = {game.id: i for i, game in enumerate(plan.schedule)}
    records = sorted(recorded.values(), key=lambda r: order[r["id"]])
    missing = [game for game in plan.schedule if game.id not in recorded]
    return records, missing


def run_tournament(plan: Plan, resume: bool = False,
                   on_game: typing.Callable[[dict, int, int], None] | None = None) -> list[dict]:
    """Play the games ``games.jsonl`` does not hold yet, ``parallel`` at a time; every record, in schedule order.

    ``on_game(record, done, total)`` is called on this thread after each game is recorded. MatchConfigError
    when an engine's program is not found and TournamentError as ``prepare_run``, both before anything is
    written; then the config as it was read goes to ``OUT/config.yaml``. On Ctrl-C
    the running games stop at their next move, their engines are closed, nothing more is recorded and
    KeyboardInterrupt is raised again."""
    records, missing = prepare_run(plan, resume)
    total = len(plan.schedule)
    if records:
        log.info("%s: %d of %d games recorded, %d to play", plan.out_dir, len(records), total, len(missing))
    if not missing:
        return records
    playing = {name for pairing in plan.pairings for name in (pairing.engine_a, pairing.engine_b)}
    resolved = {name: EngineSpec.parse(name, command).resolved()
                for name, command in plan.config.commands.items() if name in playing}
    atomic_write(plan.out_dir / CONFIG_FILE, lambda s: s.write(dump_yaml_config(plan.config).encode()))
    matches = {p.id: dataclasses.replace(p.match, engine_a=resolved[p.engine_a], engine_b=resolved[p.engine_b])
               for p in plan.pairings}
    for match in matches.values():
        Path(match.sgf_dir).mkdir(parents=True, exist_ok=True)
    Board(plan.config.size, komi=plan.conditions["komi"], ko_rule=plan.config.ko_rule)  # load the kernels here
    stop = threading.Event()
    games = GameLog(plan.games_path)
    pool = ThreadPoolExecutor(max_workers=plan.config.parallel, thread_name_prefix="tournament-game")
    futures: dict[Future, ScheduledGame] = {}
    try:
        for game in missing:
            futures[pool.submit(play_game, matches[game.pairing.id], game.index, stop)] = game
        for future in as_completed(futures):
            game = futures[future]
            record = game_record(plan, game, future.result())
            games.append(record)
            records.append(record)
            if on_game is not None:
                on_game(record, len(records), total)
    except BaseException:
        stop.set()
        for future in futures:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True)
        games.close()
    order = {game.id: i for i, game in enumerate(plan.schedule)}
    return sorted(records, key=lambda r: order[r["id"]])
