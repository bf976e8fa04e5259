"""Play Go against a bot in the terminal (``tenuki play``): the game loop and its commands.

The person types a vertex (``D4``, ``d4``), ``pass``, ``resign``, ``undo`` (takes back the bot's
reply and your move), ``hint``, ``score``, ``save [file]``, ``load file``, ``board``, ``help`` or
``quit``; anything else gets a one-line explanation and the prompt again. The bot is any player
of ``tenuki.play.registry`` by name.

Rules: area scoring (stones + surrounded points, Chinese style) with komi, positional superko,
no suicide. Two passes in a row end the game; dead stones are then estimated by playouts (the
learned rollout policy on 19x19, light playouts on other sizes: ``tenuki.play.dead_stones``), shown, removed and the board is counted. The game is written as SGF when
it ends (with RE when it has a result), on ``quit`` and on end of input (Ctrl-D) or Ctrl-C.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tenuki.envs.go.board import Board, BoardSetupError, GoError
from tenuki.envs.go.coords import GTP_LETTERS, from_gtp, to_gtp
from tenuki.envs.go.layout import BLACK, WHITE
from tenuki.envs.go.sgf import load_sgf, record_from_board, write_sgf
from tenuki.play import registry
from tenuki.play.dead_stones import (
    DEFAULT_PLAYOUTS,
    dead_stones,
    estimate_ownership,
    playout_policy,
    split_by_color,
)
from tenuki.play.terminal_view import COLOR_NAMES, STONE_LETTERS, Screen, status_line
from tenuki.search.player import Player

HANDICAP_KOMI = 0.5  # the usual komi of a handicap game: white gets the half point that breaks ties
HINT_ROWS = 5
PV_MOVES = 6
COLOR_CHOICES = ("black", "white", "random")

HELP = """\
Commands (case does not matter):
  D4, d4        play there (letters A.. without I from the left, lines 1.. from the bottom)
  pass          pass; two passes in a row end the game and the board is counted
  resign        give up the game
  undo          take back the bot's reply and your last move
  hint          ask the bot for a move (its top candidates with visits and winrate)
  score         estimate the score now (playouts from this position)
  save [FILE]   write the game so far as SGF (default: the --sgf-out file)
  load FILE     continue a game from an SGF file
  board         show the board again
  help          this list
  quit          stop now (the game is saved without a result); Ctrl-D does the same"""

_ILLEGAL = {
    "occupied": "{v} is occupied",
    "suicide": "{v} would be suicide: your stones there would have no liberty left",
    "ko": "{v} retakes the ko at once; play elsewhere first (a ko threat), then you may retake",
    "superko": "{v} would repeat an earlier whole-board position (positional superko)",
}
_VERTEX = re.compile(r"^[a-z]\d+$", re.IGNORECASE)


class PlayOptionsError(ValueError):
    """An option of ``tenuki play`` outside its allowed values."""


class InputError(ValueError):
    """A line typed at the prompt that is not a legal move or a known command."""


@dataclass
class PlayOptions:
    """Options of one terminal game (the command-line flags of ``tenuki play``).

    ``komi`` None: ``registry.default_komi(size)`` (7.0 up to 9x9, 7.5 above), or 0.5 in a handicap game.
    ``handicap`` 0 or 1: none (1 = black plays first with komi 0.5, the traditional one-stone handicap);
    2..: fixed handicap stones (GTP placement). ``visits`` / ``seconds_per_move``: the bot's budget (visits
    win when both are set, as in ``tenuki gtp``; neither: the player's default). ``threads``: torch threads
    of a network bot. ``seed`` None: drawn at random and printed."""

    size: int = 9
    komi: float | None = None
    handicap: int = 0
    color: str = "black"
    player: str = "mcts"
    visits: int | None = None
    seconds_per_move: float | None = None
    seed: int | None = None
    sgf_out: str | Path | None = None
    weights: str | None = None
    value_weights: str | None = None
    resign_threshold: float | None = None
    threads: int | None = None
    dead_playouts: int = DEFAULT_PLAYOUTS
    color_output: bool = True

    def check(self) -> None:
        if self.color not in COLOR_CHOICES:
            raise PlayOptionsError(f"--color {self.color!r} is not allowed (allowed: {', '.join(COLOR_CHOICES)})")
        if self.komi is not None and not math.isfinite(self.komi):
            raise PlayOptionsError(f"--komi {self.komi} is not a finite number")
        if self.handicap < 0:
            raise PlayOptionsError(f"--handicap {self.handicap} is negative (allowed: 0, or 2.. stones)")
        if self.visits is not None and self.visits < 1:
            raise PlayOptionsError(f"--visits {self.visits} must be at least 1")
        if self.seconds_per_move is not None and not self.seconds_per_move > 0:
            raise PlayOptionsError(f"--seconds-per-move {self.seconds_per_move} must be positive")
        if self.dead_playouts < 1:
            raise PlayOptionsError(f"--dead-playouts {self.dead_playouts} must be at least 1")


def default_sgf_path(now: dt.datetime | None = None) -> Path:
    """``runs/games/tenuki-YYYYmmdd-HHMMSS.sgf`` under the current directory (every output goes under ./runs)."""
    now = now or dt.datetime.now()
    return Path("runs") / "games" / f"tenuki-{now:%Y%m%d-%H%M%S}.sgf"


def parse_vertex(text: str, size: int) -> int:
    """A typed vertex as an action; InputError naming what is allowed otherwise."""
    word = text.strip().upper()
    if word[:1] == "I" and word[1:].isdigit():
        raise InputError(f"{text.strip()}: there is no column I (Go letters skip it: "
                         f"A..{GTP_LETTERS[size - 1]} without I)")
    try:
        return from_gtp(word, size)
    except GoError as error:
        raise InputError(str(error)) from None


class TerminalGame:
    """One game between the person at the terminal and a bot.

    ``read_line(prompt) -> str`` reads a line (``input`` by default; EOFError ends the game)."""

    def __init__(self, options: PlayOptions, screen: Screen | None = None,
                 read_line: Callable[[str], str] | None = None, readline_active: bool = False):
        options.check()
        self.options = options
        self.screen = screen or Screen(options.color_output)
        self.read_line = read_line or input
        self.readline_active = readline_active
        self.seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1 << 31)
        self.rng = random.Random(self.seed)
        komi = options.komi
        if komi is None:
            komi = HANDICAP_KOMI if options.handicap >= 1 else registry.default_komi(options.size)
        try:
            self.board = Board(options.size, komi=komi)
            if options.handicap >= 2:
                self.board.place_fixed_handicap(options.handicap)
        except (BoardSetupError, GoError) as error:
            raise PlayOptionsError(str(error)) from None
        self.handicap = options.handicap if options.handicap >= 2 else 0
        color = options.color if options.color != "random" else self.rng.choice(("black", "white"))
        self.human = BLACK if color == "black" else WHITE
        self.bot_name = f"tenuki {options.player}"
        self._factory: Callable[[int], Player] | None = None
        self.bot = self._make_bot(options.size)
        self.bot_name = f"tenuki {self.bot.name}"  # auto -> what it resolved to
        self.sgf_path = Path(options.sgf_out) if options.sgf_out else default_sgf_path()
        self.result: str | None = None
        self.comment: str | None = None
        self.stopped = False  # quit, end of input or Ctrl-C
        self._show = True  # draw the board before the next prompt

    # ------------------------------------------------------------------ setup

    def _make_bot(self, size: int) -> Player:
        strength: dict[str, object] = {"seed": self.seed}
        if self.options.visits is not None:
            strength["visits"] = self.options.visits
        if self.options.resign_threshold is not None:
            strength["resign_threshold"] = self.options.resign_threshold
        try:
            if self._factory is None:  # networks loaded once per size, kernels warmed before the first move
                self._factory = registry.player_factory(self.options.player, weights=self.options.weights,
                                                        value_weights=self.options.value_weights,
                                                        threads=self.options.threads, **strength)
            return self._factory(size)
        except (ValueError, OSError) as error:
            raise PlayOptionsError(str(error)) from None

    def _seconds(self) -> float | None:
        """The time of a bot move: --seconds-per-move unless --visits is given (visits win, as in gtp)."""
        return None if self.options.visits is not None else self.options.seconds_per_move

    def _budget(self) -> str:
        if self.options.visits is not None:
            return f"{self.options.visits} visits a move"
        if self.options.seconds_per_move is not None:
            return f"{self.options.seconds_per_move:g} s a move"
        visits = getattr(self.bot, "visits", None)
        searches = self.bot.name not in ("random", "policy")
        return f"{visits} visits a move" if visits and searches else "no search"

    # ------------------------------------------------------------------ main loop

    def run(self) -> int:
        """Play until the game ends or the person stops; save the game. Returns the exit code."""
        b = self.board
        self.screen.say(f"tenuki play: {b.size}x{b.size}, komi {b.komi:g}"
                        f"{f', {self.handicap} handicap stones' if self.handicap else ''}; area scoring, "
                        f"positional superko. Seed {self.seed}.")
        letter = "" if self.screen.color else f" ({STONE_LETTERS[self.human]})"
        self.screen.say(f"You are {COLOR_NAMES[self.human]}{letter} against "
                        f"{self.bot_name} ({self._budget()}). Type a move like D4, or help.")
        try:
            while self.result is None and not self.stopped and not self.board.is_game_over:
                if self.board.to_play != self.human:
                    self.bot_move()
                    continue
                self.show_board_if_changed()
                line = self.read_command()
                if line is None:
                    break
                self.handle(line)
        except KeyboardInterrupt:
            self.screen.say("\nInterrupted.")
            self.stopped = True
        if self.board.is_game_over and self.result is None:
            self.count_game()
        self.save_final()
        return 0

    def read_command(self) -> str | None:
        """The next line, or None at end of input (Ctrl-D) or Ctrl-C."""
        prompt = f"[{self.board.move_number + 1}] {COLOR_NAMES[self.human]} to play> "
        try:
            return self.read_line(self.screen.prompt(prompt, self.readline_active))
        except (EOFError, KeyboardInterrupt):
            self.screen.say("")
            self.stopped = True
            return None

    def show_board_if_changed(self) -> None:
        if self._show:
            self.show_board()

    def show_board(self) -> None:
        self.screen.board(self.board)
        self.screen.say(status_line(self.board, self.human, self.bot_name, letters=not self.screen.color))
        self._show = False

    def handle(self, line: str) -> None:
        """Carry out one typed line; explain in one line what was wrong with a bad one."""
        words = line.strip().split(maxsplit=1)
        if not words:
            return
        command, argument = words[0].lower(), (words[1].strip() if len(words) > 1 else "")
        handlers = {"pass": self.human_pass, "resign": self.human_resign, "undo": self.undo, "hint": self.hint,
                    "score": self.score_estimate, "board": self.show_board, "help": self.help, "?": self.help,
                    "quit": self.quit, "exit": self.quit}
        try:
            if command in handlers:
                if argument:
                    raise InputError(f"{command} takes no argument (got {argument!r})")
                handlers[command]()
            elif command in ("save", "load"):
                (self.save_command if command == "save" else self.load_command)(argument)
            elif _VERTEX.match(command) and not argument:
                self.human_move(parse_vertex(command, self.board.size))
            else:
                raise InputError(f"{line.strip()!r} is not a move or a command (a move is like D4; type help)")
        except InputError as error:
            self.screen.say(f"? {error}", "yellow")

    # ------------------------------------------------------------------ moves

    def human_move(self, action: int) -> None:
        vertex = to_gtp(action, self.board.size)
        reason = self.board.legality(action)
        if reason is not None:
            raise InputError(f"illegal move: {_ILLEGAL[reason].format(v=vertex)}")
        self.board.play(action)
        self.bot.notify_played(action)  # the bot keeps the subtree of its search (tree reuse)
        self._show = True

    def human_pass(self) -> None:
        self.board.pass_move()
        self.bot.notify_played(self.board.size * self.board.size)
        self.screen.say("You pass.")
        self._show = True

    def human_resign(self) -> None:
        self.result = f"{'W' if self.human == BLACK else 'B'}+R"
        self.screen.say(f"You resign. {self.bot_name} ({COLOR_NAMES[3 - self.human]}) wins: {self.result}.", "bold")

    def bot_move(self) -> None:
        color = self.board.to_play
        who = f"{COLOR_NAMES[color].capitalize()} ({self.bot_name})"
        if self.options.player != "random":
            self.screen.say(f"{who} is thinking...", "dim")
        move = self.bot.genmove(self.board.copy(), visits=self.options.visits, seconds=self._seconds())
        if move.resigned:
            self.result = f"{'B' if self.human == BLACK else 'W'}+R"
            self.screen.say(f"{who} resigns. You win: {self.result}.", "bold green")
            return
        try:
            self.board.play(move.action)
        except GoError as error:  # a bot bug must not end the session without a saved game
            self.result = f"{'B' if self.human == BLACK else 'W'}+F"
            self.screen.say(f"{who} answered an illegal move ({error}); it forfeits: {self.result}.", "bold red")
            return
        self.bot.notify_played(move.action)
        details = ""
        if move.analysis:
            top = move.analysis[0]
            details = f" ({top['visits']} visits, its winrate {100 * top['winrate']:.0f}%, {move.seconds:.1f} s)"
        vertex = to_gtp(move.action, self.board.size)
        if vertex == "pass":
            tail = " Pass too to end the game and count, or play on." if not self.board.is_game_over else ""
            self.screen.say(f"{who} passes{details}.{tail}", "bold")
        else:
            self.screen.say(f"{who} plays {vertex}{details}.")
        self._show = True

    def undo(self) -> None:
        """Take back moves down to (and including) the person's last one."""
        moves = self.board.moves
        mine = [i for i, (color, _) in enumerate(moves) if color == self.human]
        if not mine:
            raise InputError("nothing to undo: there is no move of yours to take back")
        taken = []
        for _ in range(len(moves) - mine[-1]):
            color, action = self.board.undo()
            taken.append(f"{COLOR_NAMES[color]} {to_gtp(action, self.board.size)}")
        self.screen.say(f"Took back {', '.join(reversed(taken))}.")
        self._show = True

    # ------------------------------------------------------------------ analysis

    def hint(self) -> None:
        self.screen.say(f"Asking {self.bot_name} for a hint...", "dim")
        move = self.bot.genmove(self.board.copy(), visits=self.options.visits, seconds=self._seconds())
        rows = move.analysis[:HINT_ROWS]
        if not rows:
            suggestion = "resign" if move.resigned else to_gtp(move.action, self.board.size)
            self.screen.say(f"Hint: {suggestion} ({self.options.player} gives no analysis).", "cyan")
            return
        lost = " (it thinks you are lost: it would resign here)" if move.resigned else ""
        self.screen.say(f"Hint: {rows[0]['move']}{lost}. Top moves for you:", "cyan")
        self.screen.table(["move", "visits", "winrate", "sequence"],
                          [[r["move"], str(r["visits"]), f"{100 * r['winrate']:.1f}%",
                            " ".join(r.get("pv", [])[:PV_MOVES])] for r in rows])

    def score_estimate(self) -> None:
        estimate = estimate_ownership(self.board, self.options.dead_playouts, self.seed)
        dead = dead_stones(self.board, estimate)
        now = self.board.score("area", dead=dead)
        margin = estimate.expected_margin(self.board.komi)
        lead = "even" if abs(margin) < 0.05 else f"{'B' if margin > 0 else 'W'}+{abs(margin):.1f}"
        kind = "light random" if playout_policy(self.board.size) == "light" else "rollout-policy"
        self.screen.say(f"Estimate from {estimate.playouts} {kind} playouts: {lead} (komi {self.board.komi:g} "
                        f"included). Counting the board as it stands, with {len(dead)} stones judged dead: "
                        f"black {now.black:g}, white {now.white:g} -> {_result_text(now.result)}.")

    # ------------------------------------------------------------------ end of the game

    def count_game(self) -> None:
        """Two passes: remove the stones the playouts call dead, count the areas, set the result."""
        b = self.board
        estimate = estimate_ownership(b, self.options.dead_playouts, self.seed)
        dead = dead_stones(b, estimate)
        by_color = split_by_color(b, dead)
        score = b.score("area", dead=dead)
        self.result = score.result
        self.screen.say("Game over: both players passed.", "bold")
        removed = "; ".join(
            f"{COLOR_NAMES[c]} " + (f"{' '.join(to_gtp(a, b.size) for a in by_color[c])} ({len(by_color[c])})"
                                    if by_color[c] else "none")
            for c in (BLACK, WHITE))
        self.screen.say(f"Dead stones removed (judged by {estimate.playouts} playouts): {removed}.")
        self.screen.board(b, dead=dead, mark_last=False)
        self.screen.say(f"Count (area: stones + surrounded points): black {score.black:g}, "
                        f"white {score.white:g} + komi {score.komi:g} = {score.white + score.komi:g}.")
        winner = score.winner
        if winner == 0:
            verdict = "a draw (jigo)"
        else:
            who = "you win" if winner == self.human else f"{self.bot_name} wins"
            verdict = f"{who} by {abs(score.margin):g} points"
        self.screen.say(f"Result: {self.result} - {verdict}.", "bold")
        self.comment = (f"Dead stones (tenuki playout estimate): {removed}. Area: black {score.black:g}, "
                        f"white {score.white:g}, komi {score.komi:g}.")

    def record_text(self, final: bool) -> str:
        names = {self.human: "human", 3 - self.human: self.bot_name}
        extra = {"AP": ["tenuki"]}
        if final and self.comment:
            extra["C"] = [self.comment.replace("\\", "\\\\").replace("]", "\\]")]
        record = record_from_board(self.board, result=self.result if final else None, black_name=names[BLACK],
                                   white_name=names[WHITE], date=dt.date.today().isoformat(), rules="Chinese",
                                   handicap=self.handicap, extra=extra)
        return write_sgf(record)

    def write_record(self, path: Path, final: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.record_text(final), encoding="utf-8")

    def save_final(self) -> None:
        try:
            self.write_record(self.sgf_path, final=True)
        except OSError as error:
            self.screen.say(f"Could not save the game to {self.sgf_path}: {error}", "bold red")
            return
        state = f"result {self.result}" if self.result else "unfinished, no result"
        self.screen.say(f"Game saved to {self.sgf_path} ({state}).")

    # ------------------------------------------------------------------ files and the rest

    def save_command(self, argument: str) -> None:
        path = Path(argument).expanduser() if argument else self.sgf_path
        try:
            self.write_record(path, final=False)
        except OSError as error:
            raise InputError(f"cannot save to {path}: {error.strerror or error}") from None
        self.screen.say(f"Saved {self.board.move_number} moves to {path}.")

    def load_command(self, argument: str) -> None:
        if not argument:
            raise InputError("load needs a file name, e.g. load game.sgf")
        path = Path(argument).expanduser()
        try:
            record = load_sgf(path)
            board = record.replay()
        except OSError as error:
            raise InputError(f"cannot read {path}: {error.strerror or error}") from None
        except GoError as error:
            raise InputError(str(error)) from None
        try:
            self.bot = self._make_bot(board.size)  # a fresh bot: nothing of the last game's search is kept
        except PlayOptionsError as error:
            raise InputError(f"cannot play {board.size}x{board.size} with {self.bot_name}: {error}") from None
        self.board, self.handicap = board, record.handicap
        self.screen.say(f"Loaded {path}: {board.size}x{board.size}, komi {board.komi:g}, "
                        f"{len(record.moves)} moves; {COLOR_NAMES[board.to_play]} to play. "
                        f"You stay {COLOR_NAMES[self.human]}.")
        if board.is_game_over:
            self.screen.say("The game in that file had ended with two passes.")
        self._show = True

    def help(self) -> None:
        self.screen.say(HELP)

    def quit(self) -> None:
        self.stopped = True


def _result_text(result: str) -> str:
    return "jigo (a draw)" if result == "0" else result
