"""An arena for two GTP engines: N games with alternating colours, refereed on our own Board.

    config = MatchConfig(EngineSpec.parse("A", "gnugo --mode gtp --level 0"),
                         EngineSpec.parse("B", "tenuki gtp --player mcts --visits 800"), games=10, size=9)
    summary = run_match(config)          # MatchSummary: wins per engine, win rate, Elo, forfeits

Engine A plays black in even games (0, 2, ...) and white in odd ones; results are reported per
engine, never per colour. Every game starts both engines afresh (``--parallel K`` runs K games at
once on threads, each owning its two processes), so a crash costs one game only.

**Openings.** Deterministic engines replay the same game: GNU Go's seed varies its play little and
a network player without noise plays the same move in the same position, so 20 games can hold the
same game three times over. ``MatchConfig.openings`` (``tenuki match --openings 9x9``, the shipped
``configs/openings/9x9.txt``, or a file) gives each game a fixed start: a sequence of GTP vertices,
black first. Game ``g`` starts from opening ``(g // 2) mod n`` when the colours alternate, so games
``2k`` and ``2k + 1`` play the same opening with the engines' colours swapped (an opening that
favours one colour favours both engines once), and from opening ``g mod n`` with fixed colours.
The referee plays the opening's moves on its board and sends ``play <colour> <vertex>`` to both
engines before the first ``genmove``; they are moves of the game (in the SGF, counted in ``moves``
and towards ``max_moves``), and the game's SGF comment and ``GameResult.opening`` /
``opening_moves`` name the opening. The openings are checked when the config is made, before any
engine starts: each must be legal on an empty board of the match's size (no passes) and leave at
least one move under ``max_moves``. The summary counts the distinct games (``distinct_games``: full
move sequences, see ``tenuki.play.match_stats``).

**The game loop.** ``boardsize``, ``clear_board``, ``komi`` (and ``time_settings 0 S 1`` with a
time limit: no main time, S seconds byo-yomi per move; ``time_left <colour> S 1`` before every
``genmove`` when the engine knows the command) on both engines; the opening's moves, if any, as
``play`` on both; then ``genmove <colour>`` on the side to move and ``play <colour> <vertex>`` on the
other. A visit limit is the engine's own option: put it into its command line. The referee times
every answered ``genmove`` (the first of a game included: a network loading shows there), and the
summary reports each engine's mean, 99th percentile and longest move: the evidence that an engine
kept to its time per move.

**The referee** is ``tenuki.envs.go.board.Board`` (positional superko by default, suicide forbidden).
An engine loses the game, which goes on record as a forfeit (``B+F`` / ``W+F``), when it

- answers ``genmove`` with a move illegal on the referee's board or not a vertex (``illegal move``),
- answers ``genmove`` with ``?`` (``genmove error``),
- takes longer than the per-move timeout (``timeout``: ``3 * seconds_per_move + 10`` s with a
  time limit, else 60 s, or ``--timeout``; an engine's first ``genmove`` of a game may take the
  start-up timeout instead when that is longer: engines load networks and compiled kernels lazily),
- dies or breaks the protocol (``crash``), also while being told the opponent's move,
- refuses the opponent's move that the referee accepted (``rejected move``: the engines would
  play different games), also a move of the opening (the detail names the opening), or refuses
  ``boardsize`` / ``clear_board`` / ``komi`` (``setup failed``).

``resign`` loses (``B+R`` / ``W+R``). Two consecutive passes end the game; so does reaching
``max_moves`` (default ``2 N^2 + 20``), which is adjudicated by the same count.

**The count** (``tenuki.play.match_scoring.adjudicate``): the engines' ``final_score`` when they agree,
else GNU Go's when it plays, else the winner both name, else Tromp-Taylor area on the referee's
board (no dead-stone removal). A margin of 0 is a draw (jigo, RE[0]).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import math
import shlex
import shutil
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tenuki.envs.go.board import MAX_SIZE, MIN_SIZE, Board, IllegalMoveError
from tenuki.envs.go.coords import CoordinateError, from_gtp, to_gtp
from tenuki.envs.go.layout import BLACK, WHITE
from tenuki.envs.go.sgf import record_from_board, write_sgf
from tenuki.play.gtp_client import GTPClient, GTPEngineError, GTPError
from tenuki.play.match_scoring import adjudicate, format_result
from tenuki.play.match_stats import MatchSummary, summarize
from tenuki.play.registry import default_komi

log = logging.getLogger(__name__)

DEFAULT_MOVE_TIMEOUT_S = 60.0  # per genmove without a time limit (visit-limited engines)
DEFAULT_STARTUP_TIMEOUT_S = 60.0  # per setup command: the first answer may wait for a JIT warm-up
SCORE_TIMEOUT_S = 30.0  # at least this long for final_score
CLOSE_TIMEOUT_S = 2.0
FORFEIT_REASONS = ("illegal move", "genmove error", "timeout", "crash", "rejected move", "setup failed")
COLOR_NAMES = {BLACK: "black", WHITE: "white"}
LABELS = ("A", "B")


class MatchConfigError(ValueError):
    """A match option a user gave that cannot work; the message says what is allowed."""


class MatchInterrupted(Exception):
    """The match was stopped (Ctrl-C) while this game was running."""


def default_max_moves(size: int) -> int:
    """Moves after which a game is adjudicated by the count: twice the points plus 20."""
    return 2 * size * size + 20


GAME_PLACEHOLDER = "{game}"


@dataclass(frozen=True)
class EngineSpec:
    """One side of the match: ``label`` "A" or "B" and the engine's command line."""

    label: str
    argv: tuple[str, ...]

    @classmethod
    def parse(cls, label: str, command: str) -> EngineSpec:
        """Split a shell-like command line (``shlex``), e.g. ``"gnugo --mode gtp --level 0"``."""
        try:
            argv = tuple(shlex.split(command))
        except ValueError as e:
            raise MatchConfigError(f"engine {label}: cannot split the command {command!r}: {e}") from e
        if not argv:
            raise MatchConfigError(f"engine {label}: the command line is empty")
        return cls(label, argv)

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    def for_game(self, game_index: int) -> EngineSpec:
        """The spec with every ``{game}`` in its arguments replaced by the game's number (1-based),
        e.g. ``gnugo --mode gtp --seed {game}`` so that deterministic engines vary."""
        if not any(GAME_PLACEHOLDER in arg for arg in self.argv):
            return self
        number = str(game_index + 1)
        return EngineSpec(self.label, tuple(arg.replace(GAME_PLACEHOLDER, number) for arg in self.argv))

    def resolved(self) -> EngineSpec:
        """The spec with its program found on PATH; MatchConfigError when it is not there.

        ``tenuki`` not on PATH (a virtual environment used without activating it) is taken from
        the folder of the running Python, where ``pip install`` put it."""
        program = self.argv[0]
        found = shutil.which(program)
        if found is None and program == "tenuki":
            found = shutil.which("tenuki", path=str(Path(sys.executable).parent))
        if found is None:
            raise MatchConfigError(f"engine {self.label}: program {program!r} not found "
                                   f"(not an executable file, nor on PATH)")
        return self if found == program else EngineSpec(self.label, (found, *self.argv[1:]))


@dataclass(frozen=True)
class MatchConfig:
    """Everything that defines a match; it goes into the summary so that results can be compared."""

    engine_a: EngineSpec
    engine_b: EngineSpec
    games: int = 2
    size: int = 9
    komi: float | None = None  # None: registry.default_komi(size), 7.0 up to 9x9, 7.5 above
    seconds_per_move: float | None = None  # None: no time_settings sent
    move_timeout: float | None = None  # None: 3 * seconds_per_move + 10, or DEFAULT_MOVE_TIMEOUT_S
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT_S
    max_moves: int | None = None  # None: default_max_moves(size)
    parallel: int = 1
    sgf_dir: Path | None = None
    alternate_colors: bool = True  # False: engine A is black in every game
    ko_rule: str = "positional"
    openings: tuple[tuple[str, ...], ...] = ()  # GTP vertices, black first; () plays from the empty board

    def __post_init__(self) -> None:
        if self.komi is None:
            object.__setattr__(self, "komi", default_komi(self.size))
        object.__setattr__(self, "openings", tuple(tuple(str(v).strip().upper() for v in o) for o in self.openings))
        checks = [
            (self.games >= 1, f"games must be at least 1, got {self.games}"),
            (MIN_SIZE <= self.size <= MAX_SIZE, (f"board size {self.size} is not supported "
                                                f"(allowed {MIN_SIZE}..{MAX_SIZE})")),
            (math.isfinite(self.komi), f"komi must be a finite number, got {self.komi}"),
            (self.seconds_per_move is None or self.seconds_per_move > 0,
             f"seconds per move must be positive, got {self.seconds_per_move}"),
            (self.move_timeout is None or self.move_timeout > 0,
             f"the move timeout must be positive, got {self.move_timeout}"),
            (self.startup_timeout > 0, f"the start-up timeout must be positive, got {self.startup_timeout}"),
            (self.max_moves is None or self.max_moves >= 1, f"max moves must be at least 1, got {self.max_moves}"),
            (self.parallel >= 1, f"parallel games must be at least 1, got {self.parallel}"),
            (self.ko_rule in ("simple", "positional", "situational"),
             f"ko rule {self.ko_rule!r} is unknown (allowed: simple, positional, situational)"),
        ]
        for ok, message in checks:
            if not ok:
                raise MatchConfigError(message)
        for number, opening in enumerate(self.openings, start=1):
            self._check_opening(number, opening)

    def _check_opening(self, number: int, opening: tuple[str, ...]) -> None:
        """Opening ``number`` (1-based) plays legally on an empty board and leaves a move to play."""
        where = f"opening {number} ({' '.join(opening) or 'empty'})"
        if not opening:
            raise MatchConfigError(f"{where}: an opening needs at least one move")
        if len(opening) >= self.move_limit:
            raise MatchConfigError(f"{where}: {len(opening)} moves is too long for max moves {self.move_limit} "
                                   "(the engines must have a move left to play)")
        board = Board(self.size, komi=self.komi, ko_rule=self.ko_rule)
        for move, vertex in enumerate(opening, start=1):
            color = COLOR_NAMES[board.to_play]
            try:
                action = from_gtp(vertex, self.size)
            except CoordinateError as e:
                raise MatchConfigError(f"{where}, move {move}: {e}") from e
            if action == self.size * self.size:
                raise MatchConfigError(f"{where}, move {move}: an opening places stones, pass is not allowed")
            try:
                board.play(action)
            except IllegalMoveError as e:
                raise MatchConfigError(f"{where}, move {move} ({color} {vertex}): illegal on the "
                                       f"{self.size}x{self.size} board: {e}") from e

    def opening_index(self, game_index: int) -> int | None:
        """The opening (0-based index into ``openings``) game ``game_index`` starts from; None without openings.

        Alternating colours: ``(g // 2) mod n``, so games 2k and 2k+1 play the same opening with the
        engines' colours swapped; fixed colours: ``g mod n``."""
        if not self.openings:
            return None
        step = game_index // 2 if self.alternate_colors else game_index
        return step % len(self.openings)

    @property
    def genmove_timeout(self) -> float:
        """Seconds an engine may think about one move before it forfeits the game."""
        if self.move_timeout is not None:
            return self.move_timeout
        if self.seconds_per_move is not None:
            return 3.0 * self.seconds_per_move + 10.0
        return DEFAULT_MOVE_TIMEOUT_S

    @property
    def move_limit(self) -> int:
        return self.max_moves if self.max_moves is not None else default_max_moves(self.size)

    def players(self, game_index: int) -> tuple[EngineSpec, EngineSpec]:
        """(black, white) of a game: engine A is black in even games."""
        a, b = self.engine_a.for_game(game_index), self.engine_b.for_game(game_index)
        if self.alternate_colors and game_index % 2 == 1:
            return b, a
        return a, b


@dataclass
class Forfeit:
    """Why an engine lost a game without finishing it."""

    engine: str  # label, "A" or "B"
    color: str  # "black" or "white"
    reason: str  # one of FORFEIT_REASONS
    detail: str


@dataclass
class GameResult:
    """The outcome of one game; engines are named by label ("A" / "B")."""

    index: int  # 0-based
    black: str
    white: str
    winner: str | None  # label; None: draw
    result: str  # SGF RE: "B+3.5", "W+R", "B+F", "0"
    end: str  # "score", "resign", "forfeit" or "max moves"
    moves: int
    seconds: float
    scoring: str | None = None  # how a counted game was scored (see adjudicate)
    final_scores: dict[str, str | None] = field(default_factory=dict)  # label -> final_score answer
    forfeit: Forfeit | None = None
    names: dict[str, str] = field(default_factory=dict)  # label -> "name version"
    genmove_seconds: dict[str, float] = field(default_factory=dict)  # label -> total thinking time
    genmoves: dict[str, int] = field(default_factory=dict)  # label -> genmove answers
    genmove_times: dict[str, list[float]] = field(default_factory=dict)  # label -> seconds of each answered genmove
    opening: int | None = None  # 0-based index into MatchConfig.openings; None: from the empty board
    opening_moves: list[str] = field(default_factory=list)  # its GTP vertices, black first
    sequence: list[str] = field(default_factory=list)  # every move on the referee's board: "B E5", "W pass"
    sgf_path: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready; of the per-move times only each engine's longest move goes in (``genmove_max_seconds``)."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("forfeit", "genmove_times")}
        out["forfeit"] = None if self.forfeit is None else dict(self.forfeit.__dict__)
        out["genmove_max_seconds"] = {label: max(times, default=0.0) for label, times in self.genmove_times.items()}
        return out


# ---------------------------------------------------------------------------------- one game


class _ForfeitSignal(Exception):
    def __init__(self, forfeit: Forfeit):
        super().__init__(forfeit.detail)
        self.forfeit = forfeit


@dataclass
class _Seat:
    """One engine in one game."""

    spec: EngineSpec
    color: int
    client: GTPClient | None = None
    name: str = ""
    knows_time_left: bool = False
    genmove_seconds: float = 0.0
    genmoves: int = 0
    genmove_times: list[float] = field(default_factory=list)  # seconds of each answered genmove

    @property
    def color_name(self) -> str:
        return COLOR_NAMES[self.color]

    @property
    def is_gnugo(self) -> bool:
        return "gnu go" in self.name.lower()

    def forfeit(self, reason: str, detail: str) -> _ForfeitSignal:
        return _ForfeitSignal(Forfeit(self.spec.label, self.color_name, reason, detail))

    def send(self, command: str, *args: object, timeout: float) -> str:
        """Send a command; a dead or silent engine forfeits (GTPError passes through)."""
        if self.client is None:
            raise self.forfeit("crash", f"{command}: the engine is not running")
        started = time.perf_counter()
        try:
            return self.client.send(command, *args, timeout=timeout)
        except GTPEngineError as e:
            silent = "no response within" in e.problem or time.perf_counter() - started >= timeout
            tail = "\n".join(e.stderr_tail.splitlines()[-5:])
            detail = f"{e.command or command}: {e.problem}" + (f" [stderr: {tail}]" if tail else "")
            raise self.forfeit("timeout" if silent else "crash", detail) from e

    def start(self, config: MatchConfig) -> None:
        """Start the engine, ask its name, set up an empty board (and the time limit)."""
        wait = config.startup_timeout
        try:
            self.client = GTPClient(self.spec.argv, timeout=wait)
        except GTPEngineError as e:
            raise self.forfeit("crash", f"start: {e.problem}") from e
        parts = []
        for command in ("name", "version"):
            with contextlib.suppress(GTPError):
                parts.append(self.send(command, timeout=wait).strip())
        self.name = " ".join(p for p in parts if p) or Path(self.spec.argv[0]).name
        for command, args in (("boardsize", (config.size,)), ("clear_board", ()), ("komi", (config.komi,))):
            try:
                self.send(command, *args, timeout=wait)
            except GTPError as e:
                raise self.forfeit("setup failed", f"{e.command}: {e.message}") from e
        if config.seconds_per_move is not None:
            try:
                self.send("time_settings", 0, f"{config.seconds_per_move:g}", 1, timeout=wait)
            except GTPError as e:
                log.warning("engine %s (%s) refused time_settings: %s", self.spec.label, self.name, e.message)
            with contextlib.suppress(GTPError):
                self.knows_time_left = self.send("known_command", "time_left", timeout=wait) == "true"

    def genmove(self, config: MatchConfig) -> str:
        timeout = config.genmove_timeout
        if self.genmoves == 0:  # the engine may load its network / compiled kernels on its first move
            timeout = max(timeout, config.startup_timeout)
        if self.knows_time_left:
            with contextlib.suppress(GTPError):
                self.send("time_left", self.color_name, f"{config.seconds_per_move:g}", 1, timeout=timeout)
        started = time.perf_counter()
        try:
            answer = self.send("genmove", self.color_name, timeout=timeout)
        except GTPError as e:
            raise self.forfeit("genmove error", f"genmove {self.color_name}: ? {e.message}") from e
        elapsed = time.perf_counter() - started  # answered moves only
        self.genmove_seconds += elapsed
        self.genmove_times.append(elapsed)
        self.genmoves += 1
        return answer.strip()

    def final_score(self, timeout: float) -> str | None:
        """The engine's ``final_score`` answer, None when it fails (no forfeit: the game is over)."""
        if self.client is None or not self.client.alive:
            return None
        try:
            return self.client.send("final_score", timeout=timeout).strip()
        except (GTPError, GTPEngineError):
            return None

    def close(self) -> None:
        if self.client is not None:
            self.client.close(timeout=CLOSE_TIMEOUT_S)


def play_game(config: MatchConfig, index: int, stop: threading.Event | None = None) -> GameResult:
    """Play game ``index`` of the match with freshly started engines; write its SGF if asked.

    Raises MatchInterrupted when ``stop`` is set during the game (the engines are closed)."""
    black_spec, white_spec = config.players(index)
    seats = {BLACK: _Seat(black_spec, BLACK), WHITE: _Seat(white_spec, WHITE)}
    board = Board(config.size, komi=config.komi, ko_rule=config.ko_rule)
    started = time.perf_counter()
    forfeit: Forfeit | None = None
    scoring: str | None = None
    final_scores: dict[str, str | None] = {}
    resigned: int | None = None
    margin = 0.0
    opening = config.opening_index(index)
    opening_moves = config.openings[opening] if opening is not None else ()
    try:
        for seat in seats.values():
            seat.start(config)
        if opening is not None:
            _play_opening(config, opening, board, seats)
        while not board.is_game_over and board.move_number < config.move_limit:
            if stop is not None and stop.is_set():
                raise MatchInterrupted(f"game {index + 1} stopped")
            color = board.to_play
            mover, other = seats[color], seats[BLACK + WHITE - color]
            answer = mover.genmove(config)
            if answer.lower() == "resign":
                resigned = color
                break
            action = _referee(board, mover, answer)
            vertex = to_gtp(action, config.size)
            try:
                other.send("play", mover.color_name, vertex, timeout=config.genmove_timeout)
            except GTPError as e:
                raise other.forfeit("rejected move", f"play {mover.color_name} {vertex}: ? {e.message}") from e
        if resigned is None:
            wait = max(SCORE_TIMEOUT_S, config.genmove_timeout)
            final_scores = {seat.spec.label: seat.final_score(wait) for seat in seats.values()}
            gnugo = tuple(c for c, seat in seats.items() if seat.is_gnugo)
            margin, scoring = adjudicate(final_scores[black_spec.label], final_scores[white_spec.label],
                                         gnugo, board.score("area").margin)
    except _ForfeitSignal as signal:
        forfeit = signal.forfeit
    finally:
        for seat in seats.values():
            seat.close()

    labels = {BLACK: black_spec.label, WHITE: white_spec.label}
    if forfeit is not None:
        loser = BLACK if forfeit.color == "black" else WHITE
        winner: str | None = labels[BLACK + WHITE - loser]
        result, end = f"{'W' if loser == BLACK else 'B'}+F", "forfeit"
        log.info("game %d: engine %s (%s) forfeits: %s: %s", index + 1, forfeit.engine, forfeit.color,
                    forfeit.reason, forfeit.detail)
    elif resigned is not None:
        winner = labels[BLACK + WHITE - resigned]
        result, end = f"{'W' if resigned == BLACK else 'B'}+R", "resign"
    else:
        winner = None if margin == 0 else labels[BLACK] if margin > 0 else labels[WHITE]
        result = format_result(margin)
        end = "score" if board.is_game_over else "max moves"
    game = GameResult(
        index=index, black=black_spec.label, white=white_spec.label, winner=winner, result=result, end=end,
        moves=board.move_number, seconds=time.perf_counter() - started, scoring=scoring,
        final_scores=final_scores, forfeit=forfeit,
        names={seat.spec.label: seat.name for seat in seats.values()},
        genmove_seconds={seat.spec.label: seat.genmove_seconds for seat in seats.values()},
        genmoves={seat.spec.label: seat.genmoves for seat in seats.values()},
        genmove_times={seat.spec.label: seat.genmove_times for seat in seats.values()},
        opening=opening, opening_moves=list(opening_moves),
        sequence=[f"{'B' if color == BLACK else 'W'} {to_gtp(action, config.size)}" for color, action in board.moves],
    )
    if config.sgf_dir is not None:
        game.sgf_path = str(_write_game_sgf(config, game, board, seats))
    return game


def _play_opening(config: MatchConfig, opening: int, board: Board, seats: dict[int, _Seat]) -> None:
    """Play opening ``opening`` on the referee's board and tell both engines each move (black's engine first).

    The moves were checked legal when the config was made; an engine that refuses one loses by
    ``rejected move``, as it would for an opponent's move (the engines would play different games)."""
    for move, vertex in enumerate(config.openings[opening], start=1):
        color = board.to_play
        board.play(from_gtp(vertex, config.size), color)
        for seat in seats.values():
            try:
                seat.send("play", COLOR_NAMES[color], vertex, timeout=config.startup_timeout)
            except GTPError as e:
                raise seat.forfeit("rejected move", f"opening {opening + 1}, move {move}: play "
                                   f"{COLOR_NAMES[color]} {vertex}: ? {e.message}") from e


def _referee(board: Board, mover: _Seat, answer: str) -> int:
    """Play the engine's answer on the referee board; an illegal one forfeits the game."""
    try:
        action = from_gtp(answer, board.size)
        board.play(action, mover.color)
    except IllegalMoveError as e:
        raise mover.forfeit("illegal move", f"genmove {mover.color_name} -> {answer}: {e}") from e
    except CoordinateError as e:
        raise mover.forfeit("illegal move", f"genmove {mover.color_name} -> {answer!r}: not a move: {e}") from e
    return action


def _sgf_text(text: str) -> str:
    """Escape an SGF text value (``]`` and ``\\``) for GameRecord.extra, which holds raw values."""
    return text.replace("\\", "\\\\").replace("]", "\\]")


def _write_game_sgf(config: MatchConfig, game: GameResult, board: Board, seats: dict[int, _Seat]) -> Path:
    """One SGF per game: PB / PW from the engines' name and version, RE, KM, SZ and a comment
    saying how the game ended (with the forfeit's reason and detail)."""
    assert config.sgf_dir is not None
    lines = [(f"tenuki match, game {game.index + 1} of {config.games}: "
             f"black = engine {game.black}, white = engine {game.white}"),
             f"result {game.result} ({game.end}) after {game.moves} moves"]
    if game.opening is not None:
        lines.append(f"opening {game.opening + 1} of {len(config.openings)}: {' '.join(game.opening_moves)} "
                     "(played by the referee)")
    if game.scoring:
        answers = ", ".join(f"{label}: {answer or 'no answer'}" for label, answer in game.final_scores.items())
        lines.append(f"scored by {game.scoring} (final_score {answers})")
    if game.forfeit is not None:
        f = game.forfeit
        lines.append(f"forfeit: engine {f.engine} ({f.color}) loses by {f.reason}: {f.detail}")
    extra = {"C": [_sgf_text("\n".join(lines))], "GN": [_sgf_text(f"game {game.index + 1}")]}
    if config.seconds_per_move is not None:
        extra["TM"] = ["0"]
        extra["OT"] = [_sgf_text(f"1x{config.seconds_per_move:g} byo-yomi")]
    record = record_from_board(
        board, result=game.result, black_name=seats[BLACK].name or None, white_name=seats[WHITE].name or None,
        date=datetime.date.today().isoformat(), extra=extra,
    )
    path = Path(config.sgf_dir) / f"game-{game.index + 1:03d}.sgf"
    path.write_text(write_sgf(record), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------- the match


def run_match(config: MatchConfig, on_game: Callable[[GameResult], None] | None = None) -> MatchSummary:
    """Play every game of the match (``config.parallel`` at a time) and summarise.

    ``on_game`` is called (on the calling thread) with each game as it finishes. On Ctrl-C the
    running games stop at their next move, their engines are closed, and KeyboardInterrupt is
    raised again. MatchConfigError before any game when an engine's program is not found."""
    started = time.perf_counter()
    config = dataclasses.replace(config, engine_a=config.engine_a.resolved(), engine_b=config.engine_b.resolved())
    if config.sgf_dir is not None:
        Path(config.sgf_dir).mkdir(parents=True, exist_ok=True)
    Board(config.size, komi=config.komi, ko_rule=config.ko_rule)  # load the kernels once, on this thread
    stop = threading.Event()
    results: list[GameResult] = []
    with ThreadPoolExecutor(max_workers=config.parallel, thread_name_prefix="match-game") as pool:
        futures = [pool.submit(play_game, config, index, stop) for index in range(config.games)]
        try:
            for future in as_completed(futures):
                game = future.result()
                results.append(game)
                if on_game is not None:
                    on_game(game)
        except BaseException:
            stop.set()
            for future in futures:
                future.cancel()
            raise
    results.sort(key=lambda g: g.index)
    return summarize(config, results, time.perf_counter() - started)
