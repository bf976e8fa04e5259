"""SGF game records: read, write and replay them on the ``Board``; stream the Tom and KGS archives.

>>> record = read_sgf("(;SZ[9]KM[7]HA[2]AB[cc][gg];W[ee];B[])")
>>> board = record.replay()          # setup, then every move of the main line; SGFError if illegal
>>> write_sgf(record) == record.to_sgf()
True

Parsing uses sgfmill's grammar (``sgf_grammar``: tokens, escapes, variations) and its text
decoding; points are converted with ``coords.from_sgf`` into actions (``row * N + col`` from the
top-left, ``N * N`` = pass). Only the main line (the first child at each node) is read. A malformed
file raises ``SGFError`` naming the source, the property and the node / move number; nothing
half-loaded is ever returned.

Read leniently: passes as ``B[]`` or ``B[tt]`` (N <= 19; written back as ``B[]``), compressed point
lists (``AB[aa:cc]``), ``PL[1]`` / ``PL[2]`` (Cgoban 1), KM absent = 0. Rejected with SGFError: sizes
outside 2..19 or rectangular, GM other than 1, a node with both B and W, several values for one
move, points off the board, a pass as a setup stone, non-numeric KM / HA.

Not kept: comments, markup, timing (BL / WL) and every property of non-root nodes other than
B / W / AB / AW / AE / PL. Root properties we do not interpret (including a root C) are kept raw
in ``GameRecord.extra`` and written back as they were.

Ko rules: ``replay`` defaults to the Board's positional superko. Human games are played under
simple ko (KGS Japanese rules, the Tom server), and a few of them legally repeat a position
(triple ko, sending-two-returning-one): replay archives with ``ko_rule="simple"``.

Setup inside the game (AB / AW / AE in a node after the root) becomes a ``Setup`` applied with
``Board.set_stones`` before the next move. ``set_stones`` starts a new history: after it
``Board.moves``, ``undo`` and the superko history only see moves played since that setup.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sgfmill import sgf, sgf_grammar, sgf_properties

from tenuki.envs.go.board import MAX_SIZE, MIN_SIZE, Board, BoardSetupError, GoError, IllegalMoveError
from tenuki.envs.go.coords import CoordinateError, from_sgf, to_gtp, to_sgf
from tenuki.envs.go.layout import BLACK, WHITE

COLOR_LETTERS = {BLACK: "B", WHITE: "W"}
_LETTER_COLORS = {"B": BLACK, "W": WHITE}
_PL_VALUES = {"B": BLACK, "W": WHITE, "BLACK": BLACK, "WHITE": WHITE, "1": BLACK, "2": WHITE}
# Root properties GameRecord interprets; any other root property goes to ``extra`` unchanged.
_HANDLED = frozenset({"GM", "FF", "CA", "SZ", "KM", "HA", "AB", "AW", "AE", "PL", "RE", "PB", "PW", "BR", "WR",
                      "DT", "RU", "B", "W"})
# Collection readers live in sgf_archives.py (kept out of this file for size) and are
# re-exported here lazily (that module imports this one).
_ARCHIVE_API = frozenset({"LoadStats", "TomIndexEntry", "iter_games", "iter_sgf_archive", "iter_tom_archive",
                          "is_tom_archive", "read_tom_index", "read_tom_line"})


class SGFError(GoError):
    """A game record that cannot be read or replayed; the message names the source, the
    property and the node or move number."""


@dataclass
class Setup:
    """AB / AW / AE / PL in a node after the root: applied before ``moves[before]`` (or after the
    last move when ``before == len(moves)``), in the order black, white, empty."""

    before: int
    black: list[int] = field(default_factory=list)
    white: list[int] = field(default_factory=list)
    empty: list[int] = field(default_factory=list)
    to_play: int | None = None


@dataclass
class GameRecord:
    """One game: root properties, setup stones and the main line, as actions.

    ``to_play`` is the root PL (None when absent, see ``first_player``). ``extra`` holds the root
    properties not interpreted here as raw (escaped) SGF values. ``name`` says where the record
    came from (file, archive member, game id); it is not written to SGF and not compared."""

    size: int = 19
    komi: float = 0.0
    handicap: int = 0
    setup_black: list[int] = field(default_factory=list)
    setup_white: list[int] = field(default_factory=list)
    to_play: int | None = None
    moves: list[tuple[int, int]] = field(default_factory=list)  # (colour, action)
    result: str | None = None
    black_name: str | None = None
    white_name: str | None = None
    black_rank: str | None = None
    white_rank: str | None = None
    date: str | None = None
    rules: str | None = None
    setups: list[Setup] = field(default_factory=list)
    extra: dict[str, list[str]] = field(default_factory=dict)
    name: str | None = field(default=None, compare=False)

    def first_player(self) -> int:
        """The side to move after the root setup: PL when given, else the colour of the first
        move, else white after handicap stones (black stones only, HA >= 2), else black."""
        if self.to_play is not None:
            return self.to_play
        if self.moves and not any(s.before == 0 for s in self.setups):
            return self.moves[0][0]
        if self.handicap >= 2 and self.setup_black and not self.setup_white:
            return WHITE
        return BLACK

    def start_board(self, ko_rule: str = "positional", allow_suicide: bool = False) -> Board:
        """A Board with the root setup stones and the first player to move (no moves played)."""
        board = Board(self.size, komi=self.komi, ko_rule=ko_rule, allow_suicide=allow_suicide)
        if self.setup_black or self.setup_white:
            try:
                board.set_stones(black=self.setup_black, white=self.setup_white)
            except (BoardSetupError, CoordinateError) as e:
                raise SGFError(f"{self._label()}: root setup (AB / AW): {e}") from e
        board.set_to_play(self.first_player())
        return board

    def positions(
        self, ko_rule: str = "positional", allow_suicide: bool = False
    ) -> Iterator[tuple[Board, int, int]]:
        """Yield ``(board, colour, action)`` before each move of the main line, then play it.

        One Board is played forward: the same object is yielded every time and changes after
        the yield; copy it (``board.copy()``) or extract features before asking for the next."""
        yield from self._play(self.start_board(ko_rule, allow_suicide))

    def replay(self, ko_rule: str = "positional", allow_suicide: bool = False) -> Board:
        """The final position: setup, then every move of the main line. Raises SGFError naming
        the move number and the vertex of the first illegal move."""
        board = self.start_board(ko_rule, allow_suicide)
        for _ in self._play(board):
            pass
        return board

    def _play(self, board: Board) -> Iterator[tuple[Board, int, int]]:
        setups = sorted(self.setups, key=lambda s: s.before)
        j = 0
        for i, (color, action) in enumerate(self.moves):
            while j < len(setups) and setups[j].before <= i:
                self._apply(board, setups[j])
                j += 1
            yield board, color, action
            try:
                board.play(action, color)
            except (GoError, CoordinateError) as e:
                letter = COLOR_LETTERS.get(color, "?")
                reason = e.reason if isinstance(e, IllegalMoveError) else str(e)
                raise SGFError(
                    f"{self._label()}: move {i + 1} {letter}[{_sgf_point(action, self.size)}] "
                    f"({_vertex(action, self.size)}) is illegal: {reason} (ko rule {board.ko_rule})"
                ) from e
        for setup in setups[j:]:
            self._apply(board, setup)

    def to_sgf(self) -> str:
        return write_sgf(self)

    def _apply(self, board: Board, setup: Setup) -> None:
        if setup.black or setup.white or setup.empty:
            try:
                board.set_stones(black=setup.black, white=setup.white, empty=setup.empty)
            except (BoardSetupError, CoordinateError) as e:
                raise SGFError(
                    f"{self._label()}: setup before move {setup.before + 1} (AB / AW / AE): {e}"
                ) from e
        if setup.to_play is not None:
            board.set_to_play(setup.to_play)

    def _label(self) -> str:
        return self.name or "<sgf>"


def _vertex(action: int, size: int) -> str:
    try:
        return to_gtp(action, size)
    except CoordinateError:
        return f"action {action}"


def _sgf_point(action: int, size: int) -> str:
    return to_sgf(action, size) if 0 <= action <= size * size else "?"


# ---------------------------------------------------------------------------------- reading


class _Reader:
    """Turns sgfmill's raw property maps (ident -> [bytes]) of the main line into a GameRecord."""

    def __init__(self, label: str, encoding: str | None):
        self.label = label
        self.encoding = encoding
        self.size = 19

    def fail(self, where: str, message: str) -> SGFError:
        return SGFError(f"{self.label}: {where}: {message}")

    def text(self, props: dict, ident: str) -> str | None:
        values = props.get(ident)
        if not values:
            return None
        return self.decode(sgf_grammar.simpletext_value(values[0]))

    def decode(self, raw: bytes) -> str:
        """Text per CA; without CA, UTF-8 when it decodes (most files lacking CA today), else the
        SGF default ISO-8859-1."""
        if self.encoding is None:
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw.decode("iso-8859-1")
        return raw.decode(self.encoding, "replace")

    def number(self, props: dict, ident: str, kind: type) -> int | float | None:
        text = self.text(props, ident)
        if text is None:
            return None
        try:
            value = kind(text.strip())
        except ValueError:
            raise self.fail("root node", f"{ident}[{text}] is not a{'n integer' if kind is int else ' number'}")
        if not math.isfinite(value):
            raise self.fail("root node", f"{ident}[{text}] is not a finite number")
        return value

    def point(self, raw: bytes, where: str, ident: str) -> int:
        text = raw.decode("ascii", "replace")
        try:
            return from_sgf(text, self.size)
        except CoordinateError as e:
            raise self.fail(where, f"{ident}[{text}]: {e}") from e

    def points(self, props: dict, ident: str, where: str) -> list[int]:
        """A point list, compressed rectangles (``aa:cc``) expanded; sorted actions."""
        out: set[int] = set()
        n = self.size
        for raw in props.get(ident, ()):
            if raw == b"":
                continue  # FF[4] empty list
            text = raw.decode("ascii", "replace")
            corners = text.split(":")
            if len(corners) > 2:
                raise self.fail(where, f"{ident}[{text}] is not a point or a rectangle")
            try:
                ends = [from_sgf(c, n) for c in corners]
            except CoordinateError as e:
                raise self.fail(where, f"{ident}[{text}]: {e}") from e
            if n * n in ends:
                raise self.fail(where, f"{ident}[{text}]: a setup stone cannot be a pass")
            (r0, c0), (r1, c1) = divmod(ends[0], n), divmod(ends[-1], n)
            for r in range(min(r0, r1), max(r0, r1) + 1):
                out.update(r * n + c for c in range(min(c0, c1), max(c0, c1) + 1))
        return sorted(out)

    def color(self, props: dict, where: str) -> int | None:
        text = self.text(props, "PL")
        if text is None:
            return None
        # PL[1] / PL[2] (black / white) is what Cgoban 1 wrote; GNU Go's test files use it.
        color = _PL_VALUES.get(text.strip().upper())
        if color is None:
            raise self.fail(where, f"PL[{text}] is not a colour (expected B or W)")
        return color

    def root(self, props: dict, record: GameRecord) -> None:
        game = self.text(props, "GM")
        if game is not None and game.strip() != "1":
            raise self.fail("root node", f"GM[{game}] is not a game of Go (GM[1])")
        size_text = self.text(props, "SZ")
        if size_text is not None:
            parts = size_text.split(":")
            if len(parts) > 2 or not all(p.strip().isascii() and p.strip().isdigit() for p in parts):
                raise self.fail("root node", f"SZ[{size_text}] is not a board size")
            if len(parts) == 2 and int(parts[0]) != int(parts[1]):
                raise self.fail("root node", f"SZ[{size_text}]: rectangular boards are not supported")
            self.size = int(parts[0])
            if not MIN_SIZE <= self.size <= MAX_SIZE:
                raise self.fail("root node", f"SZ[{size_text}]: board size {self.size} is not supported "
                                             f"(allowed {MIN_SIZE}..{MAX_SIZE})")
        record.size = self.size
        komi = self.number(props, "KM", float)
        record.komi = 0.0 if komi is None else float(komi)
        handicap = self.number(props, "HA", int)
        if handicap is not None and handicap < 0:
            raise self.fail("root node", f"HA[{handicap}] is negative")
        record.handicap = handicap or 0
        record.to_play = self.color(props, "root node")
        for attr, ident in (("result", "RE"), ("black_name", "PB"), ("white_name", "PW"), ("black_rank", "BR"),
                            ("white_rank", "WR"), ("date", "DT"), ("rules", "RU")):
            setattr(record, attr, self.text(props, ident))
        record.extra = {ident: [self.decode(v) for v in values]
                        for ident, values in props.items() if ident not in _HANDLED}

    def read(self, nodes: list[dict], name: str | None) -> GameRecord:
        record = GameRecord(name=name)
        self.root(nodes[0], record)
        moves = record.moves
        for index, props in enumerate(nodes):
            where = "root node" if index == 0 else f"node {index} (before move {len(moves) + 1})"
            if "AB" in props or "AW" in props or "AE" in props or (index and "PL" in props):
                black, white, empty = (self.points(props, ident, where) for ident in ("AB", "AW", "AE"))
                if index == 0:  # the root stands on an empty board: AE only undoes AB / AW there
                    record.setup_white = sorted(set(white) - set(empty))
                    record.setup_black = sorted(set(black) - set(white) - set(empty))
                else:
                    setup = Setup(len(moves), black, white, empty, self.color(props, where))
                    if black or white or empty or setup.to_play is not None:  # AB[] alone sets nothing
                        record.setups.append(setup)
            if "B" in props and "W" in props:
                raise self.fail(where, "a node holds both a B and a W move")
            for letter, color in _LETTER_COLORS.items():
                values = props.get(letter)
                if values is not None:
                    where = f"move {len(moves) + 1} (node {index})"
                    if len(values) != 1:
                        raise self.fail(where, f"{letter} has {len(values)} values")
                    moves.append((color, self.point(values[0], where, letter)))
        return record


def read_sgf(data: str | bytes, name: str | None = None, check: bool = False,
             ko_rule: str = "positional") -> GameRecord:
    """Parse one SGF game (the first of a collection). ``name`` labels errors and the record.

    ``check`` replays the game under ``ko_rule`` and raises SGFError on an illegal move or
    impossible setup. A ``str`` is taken as text; ``bytes`` are decoded per the CA property
    (without CA: UTF-8 when it decodes, else ISO-8859-1; UTF-8 with replacement when CA names
    no known codec)."""
    label = name or "<sgf>"
    raw, encoding = (data.encode("utf-8"), "UTF-8") if isinstance(data, str) else (bytes(data), None)
    try:
        tree = sgf_grammar.parse_sgf_game(raw)
        nodes = list(sgf_grammar.main_sequence_iter(tree))
    except (ValueError, LookupError) as e:
        raise SGFError(f"{label}: not a readable SGF game: {e}") from e
    if not isinstance(data, str) and nodes[0].get("CA"):
        charset = nodes[0]["CA"][0].decode("ascii", "replace")
        try:
            encoding = sgf_properties.normalise_charset_name(charset)
            b"a".decode(encoding, "replace")  # CA[base64] names a codec, not a text encoding
        except (LookupError, ValueError):
            encoding = "UTF-8"
    record = _Reader(label, encoding).read(nodes, name)
    if check:
        record.replay(ko_rule=ko_rule)
    return record


def load_sgf(path: str | Path, check: bool = False, ko_rule: str = "positional") -> GameRecord:
    """Read one .sgf file (raw bytes, decoded per its CA property)."""
    return read_sgf(Path(path).read_bytes(), name=str(path), check=check, ko_rule=ko_rule)


# ---------------------------------------------------------------------------------- writing


def write_sgf(record: GameRecord) -> str:
    """The record as FF[4] SGF text (UTF-8, passes as ``B[]``); ``read_sgf`` gives it back equal."""
    try:
        game = sgf.Sgf_game(record.size)
        root = game.get_root()
        root.set_raw("KM", sgf_properties.serialise_real(record.komi))
        if record.handicap:
            root.set_raw("HA", str(int(record.handicap)).encode())
        for attr, ident in (("result", "RE"), ("black_name", "PB"), ("white_name", "PW"), ("black_rank", "BR"),
                            ("white_rank", "WR"), ("date", "DT"), ("rules", "RU")):
            value = getattr(record, attr)
            if value is not None:
                root.set(ident, value)
        for ident, values in record.extra.items():
            root.set_raw_list(ident, [v.encode("utf-8") for v in values])
        _write_setup(root, record.size, record.setup_black, record.setup_white, (), record.to_play)
        node = root
        setups = sorted(record.setups, key=lambda s: s.before)
        j = 0
        for i, (color, action) in enumerate(record.moves):
            while j < len(setups) and setups[j].before <= i:
                node = node.new_child()
                s = setups[j]
                _write_setup(node, record.size, s.black, s.white, s.empty, s.to_play)
                j += 1
            node = node.new_child()
            node.set_raw(COLOR_LETTERS[color], to_sgf(action, record.size).encode())
        for s in setups[j:]:
            node = node.new_child()
            _write_setup(node, record.size, s.black, s.white, s.empty, s.to_play)
        return game.serialise().decode("utf-8")
    except (ValueError, KeyError, TypeError) as e:
        raise SGFError(f"{record.name or '<record>'}: cannot be written as SGF: {e}") from e


def _write_setup(node, size: int, black, white, empty, to_play: int | None) -> None:
    for ident, actions in (("AB", black), ("AW", white), ("AE", empty)):
        if actions:
            node.set_raw_list(ident, [to_sgf(a, size).encode() for a in actions])
    if to_play is not None:
        node.set_raw("PL", COLOR_LETTERS[to_play].encode())


def record_from_board(board: Board, **fields) -> GameRecord:
    """A record of ``board``: the stones it started from (after its last setup) and its moves.

    ``fields`` fill the other GameRecord fields (result, black_name, handicap, ...)."""
    start = board.copy()
    while start.move_number:
        start.undo()
    stones = start.stones().reshape(-1)
    black = np.flatnonzero(stones == BLACK).tolist()
    white = np.flatnonzero(stones == WHITE).tolist()
    first = start.to_play
    to_play = None if not black and not white and first == BLACK else first
    return GameRecord(size=board.size, komi=board.komi, setup_black=black, setup_white=white,
                      to_play=to_play, moves=board.moves, **fields)


def __getattr__(name: str):
    if name in _ARCHIVE_API:
        from tenuki.envs.go import sgf_archives

        return getattr(sgf_archives, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
