"""``tenuki gtp``: a Go Text Protocol version 2 engine on stdin / stdout.

Framing (GTP 2, section 2): control characters are removed, tabs become spaces, ``#`` starts a
comment, empty lines are ignored; a command is ``[id] name args``; answers are ``=id result`` or
``?id message`` followed by a blank line. The engine never crashes on input: an unknown command,
a syntax error or an illegal move is answered with ``?`` and leaves the board unchanged; EOF ends
cleanly. Extensions: printsgf, kgs-genmove_cleanup, kgs-time_settings, GNU Go's list_stones,
is_legal, all_legal, captures, and analysis for GUIs (Sabaki, Lizzie): ``lz-analyze``,
``lz-genmove_analyze`` (Leela Zero 0.17's lines) and ``kata-analyze``, ``kata-genmove_analyze``
(KataGo's, with scores and ``ownership true``); formats and fields in ``tenuki.play.gtp_analysis``.

Input is read by a thread into a queue of lines (from the raw descriptor, with no buffer of
Python's in between), so a command that arrives while ``lz-analyze`` runs -- GUIs write the next
command without waiting -- stops the analysis within one search slice (``SLICE_SECONDS``) and is
answered next. An analysis answers ``=id`` at once, then its report lines, then the blank line that
ends every GTP answer; genmove variants search with the engine's normal budget (``--visits``,
``--seconds-per-move`` or the GTP time control) and end with ``play MOVE``.

``version`` answers ``0.17 (tenuki X.Y.Z)``: Lizzie reads the number before the first blank as a
Leela Zero version and refuses analysis below 0.15; 0.17 is the Leela Zero whose analysis
dialect (with ``lcb``) this engine speaks. ``name`` stays ``tenuki``.
"""

from __future__ import annotations

import math
import os
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TextIO

from tenuki.envs.go.board import Board, GoError, fixed_handicap_actions, parse_color
from tenuki.envs.go.coords import CoordinateError, from_gtp, to_gtp
from tenuki.envs.go.layout import BLACK, WHITE
from tenuki.play import gtp_analysis
from tenuki.search.player import Player

PROTOCOL_VERSION = "2"
LEELA_ZERO_VERSION = "0.17"  # the Leela Zero analysis dialect spoken (Lizzie checks the version, module docstring)
# How much of a move's time limit is searched (``think_time``); the rest is the margin that keeps the
# answer, as the controller measures it, within the limit (tests/play/test_gtp_timing.py).
THINK_FRACTION = 0.95
ANSWER_RESERVE_S = 0.02
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class GTPFailure(Exception):
    """A command failed: answered with ``?`` and this message."""


class TimeControl:
    """Main time + Canadian byo-yomi (GTP ``time_settings``), updated by ``time_left``."""

    def __init__(self) -> None:
        self.main = 0.0
        self.byo_time = 0.0
        self.byo_stones = 0
        self.left = {BLACK: None, WHITE: None}  # (seconds, stones) from time_left

    def budget(self, color: int, board: Board, default: float | None) -> float | None:
        """The time this move may take on the clock, in seconds, or ``default`` when no time control is
        known: in byo-yomi the period shared among its stones; in main time an even share of it over the
        moves left (half the empty points, at least 10) plus a byo-yomi stone's share. The engine thinks
        for less (``think_time``): the answer must reach the controller within it."""
        left = self.left[color]
        if left is None:
            if self.main <= 0 and self.byo_time <= 0:
                return default
            seconds, stones = self.main, 0
        else:
            seconds, stones = left
        if stones > 0:  # in byo-yomi: share the period among its stones
            return seconds / stones
        if seconds <= 0:
            return default if self.byo_time <= 0 else self.byo_time / max(self.byo_stones, 1)
        empties = int((board.stones() == 0).sum())
        moves_left = max(10, empties // 2)
        return seconds / moves_left + (self.byo_time / self.byo_stones if self.byo_stones else 0.0)


def think_time(limit: float) -> float:
    """Seconds of search for a move that may take ``limit`` seconds from the command's arrival to the
    answer: 95% of it less 20 ms, kept for the last batch, choosing the move and writing the answer
    (never under 10 ms)."""
    return max(0.01, THINK_FRACTION * limit - ANSWER_RESERVE_S)


class GTPEngine:
    """The engine state: a board, a player, time control. ``handle(line) -> response text``.
    ``player_factory(size)`` makes the player afresh for a new board size, game or position."""

    def __init__(self, player_factory: Callable[[int], Player], name: str = "tenuki", version: str = "0",
                 size: int = 19, komi: float = 7.5, seconds_per_move: float | None = None,
                 visits: int | None = None, out: TextIO | None = None, inp: TextIO | None = None):
        self.player_factory = player_factory
        self.name = name
        self.version = version
        self.komi = komi
        self.seconds_per_move = seconds_per_move
        self.visits = visits
        self.out = out or sys.stdout
        self.inp = inp or sys.stdin
        self.time = TimeControl()
        self.board = Board(size, komi=komi)
        self.player: Player = player_factory(size)
        self.setup: tuple[list[int], list[int]] = ([], [])
        self.quit = False
        self._lines: LineQueue | None = None  # the input, while ``run`` reads it
        self._cid = ""  # the id of the command being answered
        self._received = 0.0  # time.perf_counter() when the command being answered arrived
        self._dead_cache: tuple[tuple, list[int]] | None = None  # (position key, dead stones): _dead
        self._after: list[Callable[[], None]] = []  # work left for after the answer is written
        self.commands: dict[str, Callable[[list[str]], str]] = {
            name[4:].replace("__", "-"): getattr(self, name) for name in dir(self) if name.startswith("cmd_")
        }

    # ------------------------------------------------------------------ framing

    def run(self) -> None:
        """Answer commands from ``inp`` until ``quit`` or EOF. A reader thread queues the input lines,
        so a long command (analysis) sees the next one arrive."""
        self._lines = LineQueue()
        threading.Thread(target=self._lines.read_from, args=(self.inp,), name="gtp-input", daemon=True).start()
        try:
            while (raw := self._lines.get()) is not None:
                response = self.handle(raw, received=self._lines.received)
                if response is not None:
                    self.out.write(response)
                    self.out.flush()
                self._finish()
                if self.quit:
                    break
        finally:
            self._lines = None

    def _pending(self, timeout: float | None = 0.0) -> bool:
        """True when a line (a command, or a bare newline) waits to be read, after waiting up to ``timeout``
        seconds for one (None: until one comes). Without ``run`` reading (``handle`` called directly) there
        is no more input to wait for: True."""
        lines = self._lines
        return True if lines is None else lines.wait(timeout)

    def handle(self, raw: str, received: float | None = None) -> str | None:
        """The answer to one input line (None for an empty line or a streaming command, which wrote its
        own). ``received``: when the line arrived (``time.perf_counter()``; default now): a move's time is
        counted from it. Called directly (not from ``run``), the work left for after the answer (tree
        reuse) is done before returning."""
        self._received = time.perf_counter() if received is None else received
        try:
            return self._handle(raw)
        finally:
            if self._lines is None:
                self._finish()

    def _finish(self) -> None:
        """Do the work left for after an answer (``self._after``), once the controller has it."""
        while self._after:
            self._after.pop(0)()

    def _handle(self, raw: str) -> str | None:
        line = _CONTROL.sub("", raw.replace("\t", " ")).split("#", 1)[0].strip()
        if not line:
            return None
        parts = line.split()
        cid = ""
        if parts[0].isdigit():
            cid = parts.pop(0)
            if not parts:
                return f"?{cid} missing command\n\n"
        command, args = parts[0], parts[1:]
        self._cid = cid
        handler = self.commands.get(command)
        if handler is None:
            return f"?{cid} unknown command\n\n"
        try:
            result = handler(args)
        except GTPFailure as failure:
            return f"?{cid} {failure}\n\n"
        except (GoError, ValueError) as error:
            return f"?{cid} {error}\n\n"
        except Exception as error:  # noqa: BLE001 - the engine must answer, whatever went wrong
            print(f"tenuki gtp: internal error on {line!r}: {error!r}", file=sys.stderr)
            return f"?{cid} internal error: {error}\n\n"
        if result is None:  # a streaming command already wrote its answer
            return None
        if result.startswith("\n"):  # a multi-line answer (showboard, printsgf)
            return f"={cid}{result}\n\n"
        return f"={cid} {result}\n\n"

    # ------------------------------------------------------------------ helpers

    def _color(self, text: str) -> int:
        try:
            return parse_color(text)
        except GoError:
            raise GTPFailure("invalid color") from None

    def _vertex(self, text: str) -> int:
        try:
            return from_gtp(text, self.board.size)
        except CoordinateError:
            raise GTPFailure("invalid vertex") from None

    def _args(self, args: list[str], count: int) -> list[str]:
        if len(args) < count:
            raise GTPFailure("syntax error")
        return args

    def _new_board(self, size: int) -> None:
        self.board = Board(size, komi=self.komi)
        self.setup = ([], [])

    def _budget(self, color: int) -> tuple[int | None, float | None]:
        """(visits, seconds) for this move: --visits, else a time limit -- --seconds-per-move, else the
        GTP time control (time_settings / time_left) -- of which the search gets ``think_time`` less what
        has passed since the command arrived, else the player's default."""
        if self.visits is not None:
            return self.visits, None
        limit = self.seconds_per_move if self.seconds_per_move is not None else \
            self.time.budget(color, self.board, None)
        if limit is None:
            return None, None
        return None, max(0.005, think_time(limit) - (time.perf_counter() - self._received))

    def _genmove(self, color: int, play: bool, cleanup: bool = False) -> str:
        if self.board.to_play != color:
            self.board.set_to_play(color)
        visits, seconds = self._budget(color)
        move = self.player.genmove(self.board, visits=visits, seconds=seconds)
        if move.resigned:
            return "resign"
        action = move.action
        if cleanup and action == self.board.size**2:
            action = self._cleanup_move(color, action)
        if play:
            self.board.play(action, color)
            self._after.append(lambda: self._notify(action))  # tree reuse, once the answer is out
        return to_gtp(action, self.board.size)

    def _notify(self, action: int) -> None:
        self.player.notify_played(action)

    def _cleanup_move(self, color: int, default: int) -> int:
        """kgs-genmove_cleanup: rather than pass, capture dead opponent stones. Light playouts here (0.04 s
        on 19x19, not the rollout policy's 0.76 s): this runs on the move's clock, and a stone wrongly
        called dead costs one move next to it."""
        from tenuki.play.dead_stones import dead_stones

        stones = self.board.stones().reshape(-1)
        dead = [a for a in dead_stones(self.board, policy="light") if stones[a] == 3 - color]
        if not dead:
            return default
        n = self.board.size
        for a in dead:
            r, c = divmod(a, n)
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= rr < n and 0 <= cc < n and stones[rr * n + cc] == 0 and self.board.is_legal(rr * n + cc, color):
                    return rr * n + cc
        return default

    def _vertices(self, actions) -> str:
        return " ".join(to_gtp(int(a), self.board.size) for a in actions)

    # ------------------------------------------------------------------ administrative

    def cmd_protocol_version(self, args: list[str]) -> str:
        return PROTOCOL_VERSION

    def cmd_name(self, args: list[str]) -> str:
        return self.name

    def cmd_version(self, args: list[str]) -> str:
        return f"{LEELA_ZERO_VERSION} (tenuki {self.version})"

    def cmd_known_command(self, args: list[str]) -> str:
        self._args(args, 1)
        return "true" if args[0] in self.commands else "false"

    def cmd_list_commands(self, args: list[str]) -> str:
        return "\n".join(sorted(self.commands))

    def cmd_quit(self, args: list[str]) -> str:
        self.quit = True
        return ""

    # ------------------------------------------------------------------ setup

    def cmd_boardsize(self, args: list[str]) -> str:
        self._args(args, 1)
        if not args[0].isdigit():
            raise GTPFailure("syntax error")
        size = int(args[0])
        if not 2 <= size <= 19:
            raise GTPFailure("unacceptable size")
        self._new_board(size)
        self.player = self.player_factory(size)
        return ""

    def cmd_query_boardsize(self, args: list[str]) -> str:
        """GNU Go's extension: the current board size."""
        self._args(args, 0)
        return str(self.board.size)

    def cmd_clear_board(self, args: list[str]) -> str:
        self._new_board(self.board.size)
        self.player = self.player_factory(self.board.size)
        return ""

    def cmd_komi(self, args: list[str]) -> str:
        self._args(args, 1)
        try:
            komi = float(args[0])
        except ValueError:
            raise GTPFailure("syntax error") from None
        if not math.isfinite(komi):  # nan / inf would reach the score and the SGF
            raise GTPFailure("syntax error")
        self.komi = komi
        self.board.komi = self.komi
        return ""

    def _handicap_board_check(self) -> None:
        if self.board.stones().any() or self.board.move_number:
            raise GTPFailure("board not empty")

    def cmd_fixed_handicap(self, args: list[str]) -> str:
        self._args(args, 1)
        if not args[0].isdigit():
            raise GTPFailure("syntax error")
        self._handicap_board_check()
        try:
            actions = fixed_handicap_actions(self.board.size, int(args[0]))
        except GoError:
            raise GTPFailure("invalid number of stones") from None
        self.board.place_fixed_handicap(int(args[0]))
        self.setup = (actions, [])
        return self._vertices(actions)

    def cmd_place_free_handicap(self, args: list[str]) -> str:
        self._args(args, 1)
        if not args[0].isdigit():
            raise GTPFailure("syntax error")
        stones = int(args[0])
        self._handicap_board_check()
        n = self.board.size
        if not 2 <= stones < n * n:
            raise GTPFailure("invalid number of stones")
        try:
            actions = fixed_handicap_actions(n, min(stones, 9))
        except GoError:
            actions = []
        extra = [a for a in _spread_points(n) if a not in actions]
        actions = (actions + extra)[:stones]
        return self._place_handicap(actions)

    def cmd_set_free_handicap(self, args: list[str]) -> str:
        self._handicap_board_check()
        actions = [self._vertex(v) for v in args]
        n = self.board.size
        if len(actions) < 2 or len(set(actions)) != len(actions) or n * n in actions:
            raise GTPFailure("bad vertex list")
        self._place_handicap(actions)
        return ""

    def _place_handicap(self, actions: list[int]) -> str:
        try:
            self.board.set_stones(black=actions)
        except GoError:
            raise GTPFailure("bad vertex list") from None
        self.board.set_to_play(WHITE)
        self.setup = (actions, [])
        return self._vertices(actions)

    def cmd_loadsgf(self, args: list[str]) -> str:
        from tenuki.envs.go.sgf import SGFError, load_sgf

        self._args(args, 1)
        move_number = None
        if len(args) > 1:
            if not args[1].isdigit():
                raise GTPFailure("syntax error")
            move_number = int(args[1])
        try:
            record = load_sgf(args[0])
        except OSError as error:
            reason = (error.strerror or str(error)).lower()
            raise GTPFailure(f"cannot load file {args[0]}: {reason}") from None
        except SGFError as error:
            reason = " ".join(str(error).split())  # one line
            reason = reason.removeprefix(f"{args[0]}: ")  # the message names the file too
            raise GTPFailure(f"cannot load file {args[0]}: {reason}") from None
        if move_number is not None:
            record.moves = record.moves[: max(move_number - 1, 0)]
        try:
            board = record.replay()
        except GoError:
            board = record.replay(ko_rule="simple")
            board.set_ko_rule("positional")
        self.board = board
        self.komi = board.komi
        self.setup = (list(record.setup_black), list(record.setup_white))
        self.player = self.player_factory(board.size)
        return "black" if board.to_play == BLACK else "white"  # as GNU Go answers

    # ------------------------------------------------------------------ moves

    def cmd_play(self, args: list[str]) -> str:
        self._args(args, 2)
        color = self._color(args[0])
        action = self._vertex(args[1])
        try:
            self.board.play(action, color)
        except GoError:
            raise GTPFailure("illegal move") from None
        self._notify(action)
        return ""

    def cmd_genmove(self, args: list[str]) -> str:
        self._args(args, 1)
        return self._genmove(self._color(args[0]), play=True)

    def cmd_reg_genmove(self, args: list[str]) -> str:
        self._args(args, 1)
        color = self._color(args[0])
        saved = self.board.copy()
        try:
            return self._genmove(color, play=False)
        finally:
            self.board = saved

    def cmd_kgs__genmove_cleanup(self, args: list[str]) -> str:
        self._args(args, 1)
        return self._genmove(self._color(args[0]), play=True, cleanup=True)

    def cmd_undo(self, args: list[str]) -> str:
        try:
            self.board.undo()
        except GoError:
            raise GTPFailure("cannot undo") from None
        self.player = self.player_factory(self.board.size)  # drop any reused search tree
        return ""

    # ------------------------------------------------------------------ time

    def cmd_time_settings(self, args: list[str]) -> str:
        self._args(args, 3)
        try:
            main, byo, stones = float(args[0]), float(args[1]), int(args[2])
        except ValueError:
            raise GTPFailure("syntax error") from None
        self.time.main, self.time.byo_time, self.time.byo_stones = main, byo, stones
        self.time.left = {BLACK: None, WHITE: None}
        return ""

    def cmd_kgs__time_settings(self, args: list[str]) -> str:
        self._args(args, 1)
        kind = args[0]
        try:
            if kind == "none":
                return self.cmd_time_settings(["0", "0", "0"])
            if kind == "absolute":
                return self.cmd_time_settings([args[1], "0", "0"])
            if kind == "byoyomi":  # main, period time, periods: treat one period as byo-yomi of 1 stone
                return self.cmd_time_settings([args[1], args[2], "1"])
            if kind == "canadian":
                return self.cmd_time_settings([args[1], args[2], args[3]])
        except IndexError:
            raise GTPFailure("syntax error") from None
        raise GTPFailure("syntax error")

    def cmd_time_left(self, args: list[str]) -> str:
        self._args(args, 3)
        color = self._color(args[0])
        try:
            self.time.left[color] = (float(args[1]), int(args[2]))
        except ValueError:
            raise GTPFailure("syntax error") from None
        return ""

    # ------------------------------------------------------------------ scoring and queries

    def _dead(self) -> list[int]:
        """The dead stones of the current position (the rollout policy on 19x19: 0.76 s), kept for the next
        final_score / final_status_list of the same position."""
        from tenuki.play.dead_stones import dead_stones

        key = (self.board.size, self.board.komi, self.board.state.tobytes())
        if self._dead_cache is None or self._dead_cache[0] != key:
            self._dead_cache = (key, dead_stones(self.board))
        return list(self._dead_cache[1])

    def cmd_final_score(self, args: list[str]) -> str:
        return self.board.score("area", dead=self._dead()).result

    def cmd_final_status_list(self, args: list[str]) -> str:
        self._args(args, 1)
        status = args[0]
        if status not in ("alive", "dead", "seki"):
            raise GTPFailure("syntax error")
        if status == "seki":
            return ""
        dead = set(self._dead())
        stones = self.board.stones().reshape(-1)
        chosen = [a for a in range(stones.shape[0]) if stones[a] and ((a in dead) == (status == "dead"))]
        return self._vertices(chosen)

    def cmd_showboard(self, args: list[str]) -> str:
        from tenuki.envs.go.render import render_board

        return "\n" + render_board(self.board)

    def cmd_printsgf(self, args: list[str]) -> str:
        from tenuki.envs.go.sgf import record_from_board, write_sgf

        text = write_sgf(record_from_board(self.board))
        if args:
            try:
                with open(args[0], "w", encoding="utf-8") as handle:
                    handle.write(text)
            except OSError as error:
                raise GTPFailure(f"cannot write file: {error}") from None
            return ""
        return "\n" + text.strip()

    def cmd_list_stones(self, args: list[str]) -> str:
        self._args(args, 1)
        color = self._color(args[0])
        stones = self.board.stones().reshape(-1)
        return self._vertices(a for a in range(stones.shape[0]) if stones[a] == color)

    def cmd_is_legal(self, args: list[str]) -> str:
        self._args(args, 2)
        color = self._color(args[0])
        return "1" if self.board.is_legal(self._vertex(args[1]), color) else "0"

    def cmd_all_legal(self, args: list[str]) -> str:
        self._args(args, 1)
        color = self._color(args[0])
        return self._vertices(a for a in self.board.legal_moves(color)[:-1])

    def cmd_captures(self, args: list[str]) -> str:
        self._args(args, 1)
        return str(self.board.captures[self._color(args[0])])

    # ------------------------------------------------------------------ analysis (Leela Zero, KataGo)

    def _analyse(self, args: list[str], dialect: str, genmove: bool) -> None:
        """``lz-analyze`` / ``kata-analyze`` (``genmove`` False) or their genmove variants: ``=id`` at once,
        report lines while the search grows (``gtp_analysis.stream``), ``play MOVE`` for a genmove, the
        blank line. Analysing the side not to move searches a copy of the board with that side to move:
        the game is left as it was."""
        request = gtp_analysis.parse_request(args, dialect)
        color = self.board.to_play if request.color is None else request.color
        if genmove and self.board.to_play != color:
            self.board.set_to_play(color)
        keep = color == self.board.to_play  # the game's position: the player's kept tree may serve
        board = self.board.copy()
        if not keep:
            board.set_to_play(color)
        self._write(f"={self._cid}\n")
        move = gtp_analysis.stream(self.player, board, request, dialect, self._write, self._pending, keep=keep,
                                   budget=self._budget(color) if genmove else None)
        if move is not None:
            if move.resigned:
                self._write("play resign\n")
            else:
                self.board.play(move.action, color)
                self._write(f"play {to_gtp(move.action, self.board.size)}\n")
                self._after.append(lambda: self._notify(move.action))  # tree reuse, once the answer is out
        self._write("\n")

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def cmd_lz__analyze(self, args: list[str]) -> None:
        self._analyse(args, "lz", genmove=False)

    def cmd_lz__genmove_analyze(self, args: list[str]) -> None:
        self._analyse(args, "lz", genmove=True)

    def cmd_kata__analyze(self, args: list[str]) -> None:
        self._analyse(args, "kata", genmove=False)

    def cmd_kata__genmove_analyze(self, args: list[str]) -> None:
        self._analyse(args, "kata", genmove=True)


class LineQueue:
    """Input lines handed from a reader thread to the engine: ``get`` blocks for the next line (None at
    EOF), ``wait(timeout)`` says whether one is waiting without taking it."""

    def __init__(self) -> None:
        self._lines: deque[tuple[str | None, float]] = deque()
        self._ready = threading.Condition()
        self.received = 0.0  # when the line ``get`` returned last arrived (time.perf_counter())

    def put(self, line: str | None) -> None:
        with self._ready:
            self._lines.append((line, time.perf_counter()))
            self._ready.notify_all()

    def get(self) -> str | None:
        with self._ready:
            self._ready.wait_for(lambda: self._lines)
            line, self.received = self._lines.popleft()
            return line

    def wait(self, timeout: float | None) -> bool:
        with self._ready:
            return bool(self._ready.wait_for(lambda: self._lines, timeout))

    def read_from(self, stream: TextIO) -> None:
        """Queue every line of ``stream`` then None. A real file is read with ``os.read`` on its descriptor
        (no buffered reader whose lock a daemon thread could hold at interpreter exit); anything else
        (``io.StringIO``) line by line."""
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            fd = None
        try:
            if fd is None:
                for line in stream:
                    self.put(line)
                return
            pending = b""
            while chunk := os.read(fd, 65536):
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for raw in complete:
                    self.put(raw.decode("utf-8", errors="replace") + "\n")
            if pending:
                self.put(pending.decode("utf-8", errors="replace"))
        except OSError:
            pass  # a closed descriptor is the end of the input
        finally:
            self.put(None)


def _spread_points(n: int) -> list[int]:
    """Points for free handicap beyond the fixed ones: star-like points, then the rest."""
    edge = 3 if n >= 13 else 2
    lines = sorted({edge, n // 2, n - 1 - edge, max(edge - 1, 0), min(n - edge, n - 1)})
    first = [r * n + c for r in lines for c in lines]
    return first + [a for a in range(n * n) if a not in first]


def main_loop(engine: GTPEngine) -> int:
    try:
        engine.run()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os._exit(0)
    return 0
