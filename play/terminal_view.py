"""How the terminal game looks: the board (rich colours or plain text) and the lines around it.

A board is built once as rows of ``(text, style)`` segments; ``Screen`` prints them through
rich (styles applied) or as plain text (styles dropped, ASCII glyphs). Coordinates are GTP's:
letters A.. without I from the left, lines 1.. from the bottom, on all four sides. The last move
is framed by brackets ``(X)`` and dead stones (end of game) are drawn as ``x`` / ``o`` in plain
text, as a cross in colour.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from tenuki.envs.go.board import Board
from tenuki.envs.go.coords import GTP_LETTERS
from tenuki.envs.go.layout import BLACK, WHITE

Segment = tuple[str, str]  # (text, rich style; "" = default)

BOARD_BG = "on #c09030"  # wood; maps to yellow on 16-colour terminals (white stones stay visible)
STYLES = {
    "black": f"bold #000000 {BOARD_BG}",
    "white": f"bold #ffffff {BOARD_BG}",
    "empty": f"#6b4f22 {BOARD_BG}",
    "dead_black": f"#303030 {BOARD_BG}",
    "dead_white": f"#f4f4f4 {BOARD_BG}",
    "last": f"bold #d00000 {BOARD_BG}",
    "grid": BOARD_BG,
    "coord": "bold",
}


@dataclass(frozen=True)
class Glyphs:
    """Characters of the board cells in one mode."""

    black: str
    white: str
    empty: str
    star: str
    dead_black: str
    dead_white: str


PLAIN_GLYPHS = Glyphs(black="X", white="O", empty=".", star="+", dead_black="x", dead_white="o")
RICH_GLYPHS = Glyphs(black="●", white="●", empty="·", star="+", dead_black="×", dead_white="×")
COLOR_NAMES = {BLACK: "black", WHITE: "white"}
STONE_LETTERS = {BLACK: "X", WHITE: "O"}


def star_points(n: int) -> set[tuple[int, int]]:
    """Hoshi as (row from the top, column): 4-4 points from 13x13, 3-3 points on 7..12, tengen
    on odd boards from 9x9; none below 7x7."""
    if n < 7:
        return set()
    edge = 3 if n >= 13 else 2
    lines = [edge, n - 1 - edge] + ([n // 2] if n % 2 == 1 and n >= 9 else [])
    return {(r, c) for r in lines for c in lines}


def board_rows(board: Board, glyphs: Glyphs, dead: Iterable[int] = (), mark_last: bool = True) -> list[list[Segment]]:
    """The board as rows of segments: a letter header, N lines from the top, a letter footer.

    ``dead``: actions of stones to draw as dead. The last move (not a pass) is framed by
    ``(`` and ``)`` in the gaps beside it."""
    n = board.size
    stones = board.stones()
    dead_set = {int(a) for a in dead}
    last = board.last_move if mark_last else None
    last_rc = divmod(last, n) if last is not None and last < n * n else None
    stars = star_points(n)
    letters = "   " + " " + " ".join(GTP_LETTERS[:n]) + " "
    rows: list[list[Segment]] = [[(letters, "coord")]]
    for r in range(n):
        line = n - r
        row: list[Segment] = [(f"{line:>2} ", "coord")]
        for c in range(n):
            gap = "(" if last_rc == (r, c) else ")" if last_rc == (r, c - 1) else " "
            row.append((gap, "last" if gap != " " else "grid"))
            row.append(_cell(int(stones[r, c]), r * n + c in dead_set, (r, c) in stars, glyphs))
        closing = ")" if last_rc == (r, n - 1) else " "
        row.append((closing, "last" if closing != " " else "grid"))
        row.append((f" {line}", "coord"))
        rows.append(row)
    rows.append([(letters, "coord")])
    return rows


def _cell(color: int, is_dead: bool, is_star: bool, glyphs: Glyphs) -> Segment:
    if color == BLACK:
        return (glyphs.dead_black, "dead_black") if is_dead else (glyphs.black, "black")
    if color == WHITE:
        return (glyphs.dead_white, "dead_white") if is_dead else (glyphs.white, "white")
    return (glyphs.star if is_star else glyphs.empty, "empty")


def status_line(board: Board, human: int, bot_name: str, letters: bool = True) -> str:
    """Who is who, captures, komi, move number and the side to move, in one line. ``letters``:
    name the plain-text stones (X, O) too."""
    caps = board.captures
    parts = []
    for color in (BLACK, WHITE):
        who = f"{STONE_LETTERS[color]}, " * letters + ("you" if color == human else bot_name)
        parts.append(f"{COLOR_NAMES[color].capitalize()} ({who}) captured {caps[color]}")
    last = board.last_move_gtp
    moved = f", last {COLOR_NAMES[3 - board.to_play]} {last}" if last else ""
    return (f"{'; '.join(parts)}. Komi {board.komi:g}, move {board.move_number}{moved}; "
            f"{COLOR_NAMES[board.to_play]} to play.")


class Screen:
    """Output in one of two modes: ``color`` (rich, to a terminal) or plain text.

    Plain text is what pipes, logs, ``--no-color``, ``NO_COLOR`` and ``TERM=dumb`` get."""

    def __init__(self, color: bool, stream: TextIO | None = None):
        self.stream = stream or sys.stdout
        self.color = color
        self.glyphs = RICH_GLYPHS if color else PLAIN_GLYPHS
        self.console = None
        if color:
            from rich.console import Console

            self.console = Console(file=self.stream, highlight=False, markup=False, emoji=False,
                                   force_terminal=True, soft_wrap=True)

    def say(self, text: str = "", style: str = "") -> None:
        """One or more lines; ``style`` (rich) only in colour mode."""
        if self.console is not None:
            self.console.print(text, style=style or None)
        else:
            print(text, file=self.stream, flush=True)

    def rows(self, rows: list[list[Segment]]) -> None:
        if self.console is not None:
            from rich.text import Text

            for row in rows:
                text = Text()
                for part, style in row:
                    text.append(part, STYLES.get(style, style) or None)
                self.console.print(text)
        else:
            print("\n".join("".join(part for part, _ in row).rstrip() for row in rows), file=self.stream,
                  flush=True)

    def board(self, board: Board, dead: Iterable[int] = (), mark_last: bool = True) -> None:
        self.rows(board_rows(board, self.glyphs, dead, mark_last))

    def table(self, headers: list[str], rows: list[list[str]]) -> None:
        """A small left-aligned table (the hint's candidate moves)."""
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
        line = "  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()
        self.say("  " + line, "bold")
        for r in rows:
            self.say("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())

    def prompt(self, text: str, readline_active: bool) -> str:
        """The prompt string for ``input()``: bold in colour mode (escapes wrapped in \\001 \\002
        so readline measures the width right)."""
        if not self.color:
            return text
        start, end = "\x1b[1m", "\x1b[0m"
        if readline_active:
            start, end = f"\001{start}\002", f"\001{end}\002"
        return f"{start}{text}{end}"
