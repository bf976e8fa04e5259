"""``Board``: the thin Python face over the numba rules kernels.

>>> board = Board(9, komi=7.0)
>>> board.play("E5"); board.play("C3")
>>> board.to_play, board.move_number
(1, 2)

Moves are actions (``row * N + col`` from the top-left, ``N * N`` = pass) or GTP vertices
(``"D4"``, ``"pass"``). A rejected move raises ``IllegalMoveError`` and leaves the board unchanged.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass

import numba
import numpy as np

from tenuki.envs.go import kernels as K
from tenuki.envs.go.coords import from_gtp, to_gtp, to_point
from tenuki.envs.go.errors import CoordinateError, GoError
from tenuki.envs.go.layout import (
    BLACK,
    COUNT_SHIFT,
    EMPTY,
    H_CAP,
    H_CAPS_BLACK,
    H_CAPS_WHITE,
    H_JTOP,
    H_KO,
    H_KO_COLOR,
    H_KO_RULE,
    H_LAST,
    H_MOVE,
    H_N,
    H_OFF_COUNTS,
    H_OFF_HIST,
    H_OFF_JOURNAL,
    H_OFF_MARKS,
    H_OFF_MOVES,
    H_OFF_SIDES,
    H_OFF_TCOUNT,
    H_OFF_TKEYS,
    H_PASSES,
    H_S,
    H_SUICIDE,
    H_TO_PLAY,
    H_TSIZE,
    H_TUSED,
    H_W,
    ILLEGAL_KO,
    ILLEGAL_OCCUPIED,
    ILLEGAL_OFF_BOARD,
    ILLEGAL_SUICIDE,
    ILLEGAL_SUPERKO,
    KO_RULES,
    LEGAL,
    LEGAL_GAME_OVER,
    LEGAL_RESUMED,
    NEED_GROW,
    OFF_COLOR,
    WHITE,
    base_len,
    journal_bound,
    legal_out_offset,
    padded_size,
    zobrist_keys,
    zobrist_offset,
)

MIN_SIZE, MAX_SIZE = 2, 19
COLOR_NAMES = {BLACK: "black", WHITE: "white"}
_REASONS = {
    ILLEGAL_OCCUPIED: "the point is occupied",
    ILLEGAL_SUICIDE: "suicide is not allowed",
    ILLEGAL_KO: "it retakes a ko",
    ILLEGAL_SUPERKO: "it repeats an earlier position (superko)",
}


_TEMPLATES: dict[tuple, np.ndarray] = {}  # empty-board state arrays, copied by Board()
_POOL_SIZE = 4096  # int64 slots of the blocks legal_moves() hands out
_NO_POOL = np.empty(0, np.int64)


def _entry_point(dispatcher, *example):
    """The compiled function behind a numba dispatcher for the types of ``example``.

    Calling it skips the dispatcher's type resolution (about 150 ns a call), which matters for
    the two calls of every step. Only for arguments whose types Board itself guarantees: the
    state array (int64[:]) and Python / numpy integers."""
    dispatcher(*example)  # compiles, or loads the on-disk cache
    return dispatcher.overloads[tuple(numba.typeof(a) for a in example)].entry_point


_INT_TYPES = frozenset({int, np.int64, np.int32, np.int16, np.int8, np.uint8, np.uint16, np.uint32, np.intp})
_play_action = None  # compiled entry points of the two hot kernels, set by _resolve_kernels()
_legal_actions_into = None


def _resolve_kernels(st: np.ndarray) -> None:
    global _play_action, _legal_actions_into
    scratch = st.copy()
    _legal_actions_into = _entry_point(K.legal_actions_into, scratch, -1, scratch, 0)
    _play_action = _entry_point(K.play_action, scratch, int(scratch[H_N]) ** 2, -1)


class IllegalMoveError(GoError):
    """The move breaks the rules; ``reason`` is one of occupied, suicide, ko, superko."""

    def __init__(self, move: str, color: int, code: int):
        self.move, self.color, self.code = move, color, code
        self.reason = {1: "occupied", 2: "suicide", 3: "ko", 4: "superko"}[code]
        super().__init__(f"illegal move {COLOR_NAMES[color]} {move}: {_REASONS[code]}")


class BoardSetupError(GoError):
    """Setup stones that cannot stand on the board (no liberties, bad size, bad handicap)."""


def parse_color(color: int | str) -> int:
    if color in (BLACK, WHITE):
        return int(color)
    text = str(color).strip().lower()
    if text in ("b", "black"):
        return BLACK
    if text in ("w", "white"):
        return WHITE
    raise GoError(f"{color!r} is not a colour (expected black/b/1 or white/w/2)")


def fixed_handicap_actions(size: int, stones: int) -> list[int]:
    """Handicap points as in the GTP specification (section 4.1.1), as actions.

    Corners on the 4th line (3rd line below 13x13), then the sides, then tengen for 5, 7 and 9.
    Odd sizes from 9 take 2..9 stones, other sizes from 7 take 2..4; smaller boards none."""
    max_stones = 9 if size % 2 == 1 and size >= 9 else 4 if size >= 7 else 0
    if not 2 <= stones <= max_stones:
        allowed = f"2..{max_stones}" if max_stones else "none"
        raise BoardSetupError(f"{stones} fixed handicap stones on {size}x{size}: allowed {allowed}")
    edge = 3 if size >= 13 else 2
    lo, hi, mid = edge, size - 1 - edge, size // 2
    # (row from the top, column); GTP order: D4 Q16 D16 Q4 D10 Q10 K4 K16 for 19x19.
    order = [(hi, lo), (lo, hi), (lo, lo), (hi, hi), (mid, lo), (mid, hi), (hi, mid), (lo, mid)]
    corners_and_sides = {2: 2, 3: 3, 4: 4, 5: 4, 6: 6, 7: 6, 8: 8, 9: 8}[stones]
    points = order[:corners_and_sides] + ([(mid, mid)] if stones in (5, 7, 9) else [])
    return [r * size + c for r, c in points]


@dataclass(frozen=True)
class Score:
    """A counted position. ``margin`` = black points - white points - komi (positive: black wins)."""

    rule: str
    black: float
    white: float
    komi: float
    owner: np.ndarray  # int8[N, N]: 1 black, 2 white, 0 neutral (dead stones count for the capturer)

    @property
    def margin(self) -> float:
        return self.black - self.white - self.komi

    @property
    def winner(self) -> int:
        return BLACK if self.margin > 0 else WHITE if self.margin < 0 else EMPTY

    @property
    def result(self) -> str:
        """The SGF / GTP result string: ``B+3.5``, ``W+0.5`` or ``0`` (jigo)."""
        m = self.margin
        if m == 0:
            return "0"
        return f"{'B' if m > 0 else 'W'}+{abs(m):g}"


class Board:
    """A Go position with its history (for superko and undo).

    Parameters: ``size`` 2..19, ``komi`` any float, ``ko_rule`` simple / positional (default) /
    situational, ``allow_suicide`` (suicide as in Tromp-Taylor; default False: a one-stone
    suicide recreates the current position, so superko still forbids it).
    """

    __slots__ = ("_legal_off", "_pass", "_pool", "_pool_off", "_st", "allow_suicide", "is_game_over", "ko_rule", "komi", "size")

    def __init__(
        self,
        size: int = 19,
        komi: float = 7.5,
        ko_rule: str = "positional",
        allow_suicide: bool = False,
        _capacity: int | None = None,
    ):
        if not isinstance(size, (int, np.integer)) or not MIN_SIZE <= size <= MAX_SIZE:
            raise BoardSetupError(f"board size {size!r} is not supported (allowed {MIN_SIZE}..{MAX_SIZE})")
        if ko_rule not in KO_RULES:
            raise GoError(f"ko rule {ko_rule!r} is unknown (allowed: {', '.join(KO_RULES)})")
        self.size = int(size)
        self.komi = float(komi)
        self.ko_rule = ko_rule
        self.allow_suicide = bool(allow_suicide)
        self._pass = self.size * self.size
        self._legal_off = legal_out_offset(self.size)
        self._pool, self._pool_off = _NO_POOL, 0
        self.is_game_over = False  # two consecutive passes ended the game (kept exact by play / undo)
        template_key = (self.size, ko_rule, self.allow_suicide, _capacity)
        template = _TEMPLATES.get(template_key)
        if template is None:
            template = self._allocate(_capacity or 2 * self.size * self.size + 16)
            template[H_TO_PLAY] = BLACK
            K.rebuild(template, np.zeros(self.size * self.size, np.int8))
            if _play_action is None:
                _resolve_kernels(template)
            _TEMPLATES[template_key] = template
        # Copy the empty position and its tables; the journal's content is never read unset.
        used = int(template[H_OFF_JOURNAL])
        self._st = np.empty(template.shape[0], np.int64)
        self._st[:used] = template[:used]
        self._st[H_JTOP] = used

    # ------------------------------------------------------------------ storage

    def _allocate(self, capacity: int, old: np.ndarray | None = None) -> np.ndarray:
        """A state array with room for ``capacity`` moves; copies position and history of ``old``."""
        n = self.size
        tsize = 1 << max(6, int(2 * capacity + 8).bit_length())
        base = base_len(n)
        journal = 2 * journal_bound(n) + 24 * capacity
        if old is not None:
            journal = max(journal, 2 * int(old[H_JTOP] - old[H_OFF_JOURNAL]) + journal_bound(n))
        # Only the header and board need zeros (reset_history clears the hash set).
        st = np.empty(base + 5 * capacity + 2 * tsize + journal, np.int64)
        st[:base] = 0
        st[H_N], st[H_W], st[H_S] = n, n + 1, padded_size(n)
        st[H_KO_RULE] = KO_RULES[self.ko_rule]
        st[H_SUICIDE] = int(self.allow_suicide)
        st[H_CAP], st[H_TSIZE] = capacity, tsize
        offsets = (H_OFF_MARKS, H_OFF_HIST, H_OFF_COUNTS, H_OFF_MOVES, H_OFF_SIDES)
        for i, h in enumerate(offsets):
            st[h] = base + i * capacity
        st[H_OFF_TCOUNT] = base + 5 * capacity
        st[H_OFF_TKEYS] = base + 5 * capacity + tsize
        st[H_OFF_JOURNAL] = st[H_JTOP] = base + 5 * capacity + 2 * tsize
        keys = zobrist_keys(n)
        st[zobrist_offset(n) : zobrist_offset(n) + keys.shape[0]] = keys
        if old is None:
            return st
        fixed = (H_CAP, H_TSIZE, H_OFF_TCOUNT, H_OFF_TKEYS, H_OFF_JOURNAL, H_JTOP) + offsets
        keep = [h for h in range(OFF_COLOR) if h not in fixed]
        st[keep] = old[keep]
        st[OFF_COLOR:base] = old[OFF_COLOR:base]
        moves = int(old[H_MOVE])
        for h in offsets:
            st[st[h] : st[h] + moves + 1] = old[old[h] : old[h] + moves + 1]
        # Journal entries index the base part only (same place in both arrays); marks move along.
        used = old[old[H_OFF_JOURNAL] : old[H_JTOP]]
        st[st[H_OFF_JOURNAL] : st[H_OFF_JOURNAL] + used.shape[0]] = used
        st[H_JTOP] = st[H_OFF_JOURNAL] + used.shape[0]
        marks = st[st[H_OFF_MARKS] : st[H_OFF_MARKS] + moves + 1]
        marks += st[H_OFF_JOURNAL] - old[H_OFF_JOURNAL]
        K.rebuild_hash_set(st)
        return st

    def _grow(self) -> None:
        self._st = self._allocate(2 * int(self._st[H_CAP]), old=self._st)

    def reserve(self, moves: int) -> None:
        """Make room for ``moves`` more recorded moves without growing (search work states play
        and undo inside compiled code, where the arrays cannot be reallocated). The journal gets
        64 writes a move on average plus one worst-case move; a kernel that would overflow it
        returns NEED_GROW instead of writing."""
        st = self._st
        while (
            st.item(H_MOVE) + moves + 2 >= st.item(H_CAP)
            or 2 * (st.item(H_TUSED) + moves + 2) >= st.item(H_TSIZE)
            or st.item(H_JTOP) + 128 * moves + 2 * journal_bound(self.size) > st.shape[0]
        ):
            self._st = st = self._allocate(2 * st.item(H_CAP) + moves, old=st)

    @property
    def state(self) -> np.ndarray:
        """The flat state array (``layout.py``: header, board with border sentinels, chains, history) as a
        read-only view, for kernels and search that read a position; only the Board's own methods change it.
        A kernel that writes needs its own copy (``board.state.copy()``)."""
        view = self._st.view()
        view.flags.writeable = False
        return view

    def copy(self) -> Board:
        other = Board.__new__(Board)
        other.size, other.komi, other.ko_rule = self.size, self.komi, self.ko_rule
        other.allow_suicide, other._pass, other._legal_off = self.allow_suicide, self._pass, self._legal_off
        other._pool, other._pool_off = _NO_POOL, 0
        other.is_game_over = self.is_game_over
        other._st = self._st.copy()
        return other

    # ------------------------------------------------------------------ moves

    def action(self, move: int | str) -> int:
        """A move as an action index; accepts actions and GTP vertices."""
        if isinstance(move, str):
            return from_gtp(move, self.size)
        if isinstance(move, bool):
            raise CoordinateError(f"{move!r} is not a move (expected an int action or a GTP vertex)")
        try:
            a = operator.index(move)
        except TypeError:
            raise CoordinateError(
                f"{move!r} is not a move (expected an int action or a GTP vertex such as 'D4')"
            ) from None
        if not 0 <= a <= self._pass:
            raise CoordinateError(f"action {move} is outside 0..{self._pass} (pass = {self._pass})")
        return a

    def _point(self, action: int) -> int:
        if action == self._pass:
            return 0
        row, col = divmod(action, self.size)
        return (row + 1) * (self.size + 1) + col + 1

    def play(self, move: int | str, color: int | str | None = None) -> None:
        """Play a move for ``color`` (default: the side to move). Raises IllegalMoveError."""
        if move.__class__ not in _INT_TYPES:
            move = self.action(move)
        c = -1 if color is None else parse_color(color)
        try:  # free in CPython 3.11 unless raised
            code = _play_action(self._st, move, c)
        except OverflowError:
            self.action(move)  # raises CoordinateError naming the allowed range
            raise
        if code != LEGAL:
            if code == NEED_GROW:
                self._grow()
                code = _play_action(self._st, move, c)
            if code == LEGAL_GAME_OVER:
                self.is_game_over = True
                return
            if code == LEGAL_RESUMED:
                self.is_game_over = False
                return
            if code != LEGAL:
                if code == ILLEGAL_OFF_BOARD:
                    self.action(move)  # raises CoordinateError naming the allowed range
                raise IllegalMoveError(to_gtp(int(move), self.size), self.to_play if c < 0 else c, int(code))

    def pass_move(self, color: int | str | None = None) -> None:
        self.play(self._pass, color)

    def legality(self, move: int | str, color: int | str | None = None) -> str | None:
        """None when the move is legal, else the reason (occupied, suicide, ko, superko)."""
        a = self.action(move)
        c = self._st[H_TO_PLAY] if color is None else parse_color(color)
        code = K.legal_code(self._st, self._point(a), c, True)
        return None if code == LEGAL else {1: "occupied", 2: "suicide", 3: "ko", 4: "superko"}[int(code)]

    def is_legal(self, move: int | str, color: int | str | None = None) -> bool:
        try:
            return self.legality(move, color) is None
        except CoordinateError:
            return False

    def legal_moves(self, color: int | str | None = None) -> np.ndarray:
        """Legal actions in ascending order, pass (N*N) last and always included. int64[k].

        Each call returns a new array; to spare a copy it is a slice of a block of memory that
        the board hands out piece by piece (``arr.base`` is that block)."""
        pool = self._pool
        off = self._pool_off
        if off + self._pass >= pool.shape[0]:
            pool = self._pool = np.empty(max(_POOL_SIZE, 4 * (self._pass + 1)), np.int64)
            off = 0
        count = _legal_actions_into(self._st, -1 if color is None else parse_color(color), pool, off)
        self._pool_off = off + count
        return pool[off : off + count]

    def legal_mask(self, color: int | str | None = None) -> np.ndarray:
        """bool[N*N+1] over actions (last = pass)."""
        c = self._st[H_TO_PLAY] if color is None else parse_color(color)
        return K.legal_mask(self._st, c)

    def undo(self) -> tuple[int, int]:
        """Take back the last move; returns its (colour, action). Raises GoError when none."""
        k = int(self._st[H_MOVE])
        if k == 0:
            raise GoError("nothing to undo (no move since the start or the last setup)")
        last = int(self._st[self._st[H_OFF_MOVES] + k - 1])
        K.undo(self._st)
        self.is_game_over = self._st.item(H_PASSES) >= 2
        return divmod(last, COUNT_SHIFT)

    # ------------------------------------------------------------------ setup

    def set_stones(self, black: Iterable = (), white: Iterable = (), empty: Iterable = ()) -> None:
        """Setup stones (SGF AB / AW / AE, free handicap). Clears the history: undo and superko
        start again from the new position. Raises BoardSetupError and leaves the board unchanged
        when a chain would have no liberty."""
        colors = self.stones().reshape(-1).copy()
        for group, value in ((black, BLACK), (white, WHITE), (empty, EMPTY)):
            for move in group:
                a = self.action(move)
                if a == self._pass:
                    raise BoardSetupError("a setup stone cannot be a pass")
                colors[a] = value
        backup = self._st.copy()
        bad = K.rebuild(self._st, colors)
        if bad >= 0:
            self._st = backup
            raise BoardSetupError(f"setup stone at {to_gtp(int(bad), self.size)} would have no liberty")
        self.is_game_over = False

    def place_fixed_handicap(self, stones: int) -> list[int]:
        """GTP fixed handicap on an empty board; white moves next. Returns the actions."""
        if self.stones().any():
            raise BoardSetupError("handicap stones go on an empty board")
        actions = fixed_handicap_actions(self.size, stones)
        self.set_stones(black=actions)
        self._st[H_TO_PLAY] = WHITE
        K.reset_history(self._st)
        return actions

    def set_ko_rule(self, ko_rule: str) -> None:
        """Switch the ko rule, keeping the history (e.g. a record replayed under simple ko and
        then analysed under superko). The hash set is re-keyed for the new rule."""
        if ko_rule not in KO_RULES:
            raise GoError(f"ko rule {ko_rule!r} is unknown (allowed: {', '.join(KO_RULES)})")
        self.ko_rule = ko_rule
        self._st[H_KO_RULE] = KO_RULES[ko_rule]
        K.rebuild_hash_set(self._st)

    def set_to_play(self, color: int | str) -> None:
        """Change the side to move (SGF PL); the superko history keeps every position's side."""
        c = parse_color(color)
        if c != self._st[H_TO_PLAY]:
            K.change_side_to_move(self._st, c)

    # ------------------------------------------------------------------ queries

    @property
    def to_play(self) -> int:
        return self._st.item(H_TO_PLAY)

    @property
    def move_number(self) -> int:
        """Moves (passes included) since the start or the last setup."""
        return self._st.item(H_MOVE)

    @property
    def consecutive_passes(self) -> int:
        return self._st.item(H_PASSES)

    @property
    def last_move(self) -> int | None:
        last = int(self._st[H_LAST])
        return None if last < 0 else self._pass if last == 0 else self._action_of(last)

    @property
    def last_move_gtp(self) -> str | None:
        last = self.last_move
        return None if last is None else to_gtp(last, self.size)

    @property
    def ko_point(self) -> int | None:
        """The point the side to move may not take back (simple ko), if any."""
        ko = int(self._st[H_KO])
        return self._action_of(ko) if ko and self._st[H_KO_COLOR] == self._st[H_TO_PLAY] else None

    @property
    def captures(self) -> dict[int, int]:
        """Stones captured so far by each colour."""
        return {BLACK: int(self._st[H_CAPS_BLACK]), WHITE: int(self._st[H_CAPS_WHITE])}

    @property
    def hash(self) -> int:
        """Zobrist hash of the stones on the board (side to move not included)."""
        return int(self._st[self._st[H_OFF_HIST] + self._st[H_MOVE]])

    @property
    def moves(self) -> list[tuple[int, int]]:
        """(colour, action) of every move since the start or the last setup."""
        off = int(self._st[H_OFF_MOVES])
        return [divmod(int(v), COUNT_SHIFT) for v in self._st[off : off + self.move_number]]

    def _action_of(self, point: int) -> int:
        row, col = divmod(point, self.size + 1)
        return (row - 1) * self.size + col - 1

    def stones(self) -> np.ndarray:
        """int8[N, N]: 0 empty, 1 black, 2 white; row 0 is the top line."""
        return K.stones(self._st)

    def color_at(self, move: int | str) -> int:
        return int(self._st[OFF_COLOR + self._point(self.action(move))])

    def liberties(self, move: int | str) -> int:
        """Exact liberty count of the chain through the point (0 when empty)."""
        return int(K.chain_liberties(self._st, self._point(self.action(move))))

    # ------------------------------------------------------------------ scoring

    def score(self, rule: str = "area", dead: Iterable = ()) -> Score:
        """Count the position. ``rule``: "area" (Tromp-Taylor: stones + empty regions reaching one
        colour only) or "territory" (empty regions + captures + dead stones, Japanese style).
        ``dead``: stones to remove first (they count as captured by the other side)."""
        if rule not in ("area", "territory"):
            raise GoError(f"scoring rule {rule!r} is unknown (allowed: area, territory)")
        n = self.size
        s = padded_size(n)
        colors = self._st[OFF_COLOR : OFF_COLOR + s].astype(np.int8)
        dead_count = {BLACK: 0, WHITE: 0}
        for move in dead:
            p = self._point(self.action(move))
            if colors[p] in (BLACK, WHITE):
                dead_count[int(colors[p])] += 1
                colors[p] = EMPTY
        owner_padded = K.area_owner(colors, n + 1)
        idx = np.array([to_point(a, n) for a in range(n * n)])
        owner = owner_padded[idx].reshape(n, n)
        board_colors = colors[idx].reshape(n, n)
        if rule == "area":
            black = float(np.count_nonzero(owner == BLACK))
            white = float(np.count_nonzero(owner == WHITE))
        else:
            empty = board_colors == EMPTY
            black = float(np.count_nonzero(empty & (owner == BLACK)))
            white = float(np.count_nonzero(empty & (owner == WHITE)))
            black += self._st[H_CAPS_BLACK] + dead_count[WHITE]
            white += self._st[H_CAPS_WHITE] + dead_count[BLACK]
        return Score(rule, black, white, self.komi, owner)

    # ------------------------------------------------------------------ text

    def __str__(self) -> str:
        return self.to_ascii()

    def __repr__(self) -> str:
        return (f"Board(size={self.size}, komi={self.komi}, ko_rule={self.ko_rule!r}, "
                f"move={self.move_number}, to_play={COLOR_NAMES[self.to_play]})")

    def to_ascii(self) -> str:
        """Rows from the top: ``X`` black, ``O`` white, ``.`` empty."""
        chars = {EMPTY: ".", BLACK: "X", WHITE: "O"}
        return "\n".join("".join(chars[int(v)] for v in row) for row in self.stones())

    @classmethod
    def from_ascii(cls, text: str, to_play: int | str = BLACK, **kwargs) -> Board:
        """A board from rows of ``X`` / ``O`` / ``.`` (spaces ignored), e.g. for tests."""
        rows = [line.replace(" ", "") for line in text.strip().splitlines() if line.strip()]
        size = len(rows)
        if any(len(r) != size for r in rows):
            raise BoardSetupError(f"ASCII board is not square: {[len(r) for r in rows]} columns, {size} rows")
        board = cls(size, **kwargs)
        black, white = [], []
        for r, row in enumerate(rows):
            for c, ch in enumerate(row):
                if ch in "Xx#@":
                    black.append(r * size + c)
                elif ch in "Oo":
                    white.append(r * size + c)
                elif ch not in ".+":
                    raise BoardSetupError(f"ASCII board: unexpected character {ch!r} at row {r}, column {c}")
        board.set_stones(black=black, white=white)
        board.set_to_play(to_play)
        return board
