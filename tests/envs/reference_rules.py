"""A slow, independent Go rules reference for the tests (pure Python, nothing from ``tenuki.envs.go``).

It shares no code and no data structure with the numba kernels: the board is a tuple of ints, chains
and liberties come from a fresh flood fill of the whole board before every decision, a move is tried
by building the next board outright, and superko looks the next board up in a multiset of every
earlier board (kept as tuples, not hashes; only boards with the same numbers of black and white stones
are looked up). It is written to be obviously right, not fast.

Conventions (the same as ``Board``, so the two can be compared): actions are ``row * N + col`` from the
top-left, ``N * N`` is the pass; colours are 1 (black) and 2 (white), 0 is empty. The rules it
implements, as the project documents them (``Board``'s docstring, ``docs/notebook/go-rules.md``):

- a move on an occupied point is illegal (``occupied``);
- simple ko: after a move that captured exactly one stone with a single stone that is left with
  exactly one liberty (the point just captured), the opponent may not play on that point as the
  very next move (``ko``); any next move, a pass included, lifts the ban;
- captures first: enemy chains without liberties are removed; then, if the mover's chain has no
  liberty, the move is ``suicide`` (illegal unless ``allow_suicide``, in which case that chain is
  removed and counts as captured by the opponent);
- superko (not under ``simple``): a move other than a pass may not recreate a board of the history
  (every board since the start or the last setup, the current one included); ``situational`` compares
  (board, side to move after the move), ``positional`` the board alone (``superko``);
- the reasons are tested in that order: occupied, ko, suicide, superko;
- the game is over after two passes in a row; playing on is allowed.

Area scoring is Tromp-Taylor: a stone owns its point; an empty region belongs to the one colour it
touches, to nobody when it touches both or none. Territory scoring counts the owned empty points plus
the stones each side captured.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

EMPTY, BLACK, WHITE = 0, 1, 2
KO_RULES = ("simple", "positional", "situational")


def other(color: int) -> int:
    return WHITE if color == BLACK else BLACK


@dataclass(frozen=True)
class Outcome:
    """What a move would do: ``reason`` is None when it is legal; ``board`` is the board after it."""

    reason: str | None
    board: tuple[int, ...] = ()
    captured: int = 0  # enemy stones removed
    suicided: int = 0  # own stones removed (suicide allowed)
    ko: int | None = None  # the point the opponent may not retake next
    repeats_board: bool = False  # the next board is an earlier board (whatever the side to move)
    repeats_situation: bool = False  # ... with the same side to move


@dataclass
class _Snapshot:
    board: tuple[int, ...]
    to_play: int
    captures: dict[int, int]
    ko: tuple[int, int] | None
    passes: int


@dataclass
class ReferenceGo:
    """A Go position with its history, checked by brute force."""

    size: int
    komi: float = 7.5
    ko_rule: str = "positional"
    allow_suicide: bool = False
    board: tuple[int, ...] = ()
    to_play: int = BLACK
    captures: dict[int, int] = field(default_factory=lambda: {BLACK: 0, WHITE: 0})
    ko: tuple[int, int] | None = None  # (point, colour that may not play it next)
    passes: int = 0
    moves: list[tuple[int, int]] = field(default_factory=list)
    _boards: Counter = field(default_factory=Counter)  # board -> times it occurs in the history
    _situations: Counter = field(default_factory=Counter)  # (board, side to move) -> times
    _counts: Counter = field(default_factory=Counter)  # (black stones, white stones) -> boards with them
    _history: list[tuple[tuple[int, ...], int]] = field(default_factory=list)
    _undo: list[_Snapshot] = field(default_factory=list)
    _counted: tuple = ((), (0, 0))

    def __post_init__(self) -> None:
        if self.ko_rule not in KO_RULES:
            raise ValueError(f"unknown ko rule {self.ko_rule!r}")
        n = self.size
        if not self.board:
            self.board = (EMPTY,) * (n * n)
        self.neighbours = [
            [
                (r + dr) * n + c + dc
                for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
                if 0 <= r + dr < n and 0 <= c + dc < n
            ]
            for r in range(n)
            for c in range(n)
        ]
        self._remember(self.board, self.to_play)

    # ------------------------------------------------------------------ history

    def _remember(self, board: tuple[int, ...], side: int) -> None:
        self._history.append((board, side))
        self._boards[board] += 1
        self._situations[(board, side)] += 1
        self._counts[(board.count(BLACK), board.count(WHITE))] += 1

    def _forget_last(self) -> None:
        board, side = self._history.pop()
        self._boards[board] -= 1
        self._situations[(board, side)] -= 1
        self._counts[(board.count(BLACK), board.count(WHITE))] -= 1

    def set_to_play(self, color: int) -> None:
        """Change the side to move of the current position (its history entry changes with it)."""
        board, side = self._history[-1]
        self._situations[(board, side)] -= 1
        self._history[-1] = (board, color)
        self._situations[(board, color)] += 1
        self.to_play = color

    # ------------------------------------------------------------------ chains

    def chain(
        self, point: int, board: tuple[int, ...] | list[int] | None = None
    ) -> tuple[set[int], set[int]]:
        """(stones, liberties) of the chain through ``point``, by flood fill."""
        board = self.board if board is None else board
        color = board[point]
        assert color != EMPTY
        stones, liberties, todo = {point}, set(), [point]
        while todo:
            p = todo.pop()
            for q in self.neighbours[p]:
                if board[q] == EMPTY:
                    liberties.add(q)
                elif board[q] == color and q not in stones:
                    stones.add(q)
                    todo.append(q)
        return stones, liberties

    def chains(self) -> dict[int, tuple[frozenset[int], frozenset[int]]]:
        """Every stone's chain as (stones, liberties); stones of a chain share one pair."""
        found: dict[int, tuple[frozenset[int], frozenset[int]]] = {}
        for p, color in enumerate(self.board):
            if color != EMPTY and p not in found:
                stones, liberties = self.chain(p)
                pair = (frozenset(stones), frozenset(liberties))
                for s in stones:
                    found[s] = pair
        return found

    def stone_counts(self) -> tuple[int, int]:
        """(black stones, white stones) on the board (remembered for the last board asked about)."""
        if self._counted[0] is not self.board:
            self._counted = (self.board, (self.board.count(BLACK), self.board.count(WHITE)))
        return self._counted[1]

    def liberties(self, point: int) -> int:
        return 0 if self.board[point] == EMPTY else len(self.chain(point)[1])

    # ------------------------------------------------------------------ moves

    @property
    def pass_action(self) -> int:
        return self.size * self.size

    def outcome(self, action: int, color: int | None = None, chains: dict | None = None) -> Outcome:
        """What ``color`` (default: the side to move) playing ``action`` would do. ``chains``: a
        cache of ``self.chains()`` for the current board (it does not depend on the move)."""
        color = self.to_play if color is None else color
        if action == self.pass_action:
            return Outcome(None, self.board)
        if self.board[action] != EMPTY:
            return Outcome("occupied")
        if self.ko is not None and self.ko == (action, color):
            return Outcome("ko")
        chains = self.chains() if chains is None else chains
        enemy = other(color)
        captured: set[int] = set()
        breathes = False  # the new stone has a liberty: an empty neighbour, ...
        for q in self.neighbours[action]:
            if self.board[q] == EMPTY:
                breathes = True
            elif self.board[q] == enemy:
                stones, liberties = chains[q]
                if liberties == {action}:  # ... a capture (it empties a neighbour), ...
                    captured |= stones
            elif chains[q][1] != {action}:  # ... or a friendly chain with another liberty
                breathes = True
        suicide = not breathes and not captured
        if suicide and not self.allow_suicide:
            return Outcome("suicide")
        after = list(self.board)
        after[action] = color
        for s in captured:
            after[s] = EMPTY
        suicided = 0
        ko = None
        if suicide:
            own, _ = self.chain(action, after)
            for s in own:
                after[s] = EMPTY
            suicided = len(own)
        elif len(captured) == 1:
            own, own_liberties = self.chain(action, after)
            if len(own) == 1 and len(own_liberties) == 1:
                (ko,) = captured
        # Only a board with the same stone counts can be equal: look the tuple up only then.
        black, white = self.stone_counts()
        if color == BLACK:
            black, white = black + 1 - suicided, white - len(captured)
        else:
            black, white = black - len(captured), white + 1 - suicided
        repeats_board = repeats_situation = False
        if self._counts[(black, white)] > 0:
            nxt = tuple(after)
            repeats_board = self._boards[nxt] > 0
            repeats_situation = self._situations[(nxt, enemy)] > 0
        reason = None
        if (
            self.ko_rule == "positional"
            and repeats_board
            or self.ko_rule == "situational"
            and repeats_situation
        ):
            reason = "superko"
        return Outcome(
            reason,
            tuple(after) if reason is None else (),
            len(captured),
            suicided,
            ko,
            repeats_board,
            repeats_situation,
        )

    def legality(self, action: int, color: int | None = None, chains: dict | None = None) -> str | None:
        return self.outcome(action, color, chains).reason

    def legal_actions(self, color: int | None = None) -> list[int]:
        """Every legal action in ascending order, the pass last."""
        chains = self.chains()
        return [a for a in range(self.pass_action + 1) if self.outcome(a, color, chains).reason is None]

    def play(self, action: int, color: int | None = None) -> Outcome:
        """Play a legal move (ValueError with the reason when it is not); returns its outcome."""
        color = self.to_play if color is None else color
        result = self.outcome(action, color)
        if result.reason is not None:
            raise ValueError(result.reason)
        self._undo.append(_Snapshot(self.board, self.to_play, dict(self.captures), self.ko, self.passes))
        if action == self.pass_action:
            self.passes += 1
            self.ko = None
        else:
            self.passes = 0
            self.board = result.board
            self.captures[color] += result.captured
            self.captures[other(color)] += result.suicided
            self.ko = None if result.ko is None else (result.ko, other(color))
        self.to_play = other(color)
        self.moves.append((color, action))
        self._remember(self.board, self.to_play)
        return result

    def undo(self) -> None:
        snap = self._undo.pop()
        self._forget_last()
        self.moves.pop()
        self.board, self.to_play, self.captures, self.ko, self.passes = (
            snap.board,
            snap.to_play,
            snap.captures,
            snap.ko,
            snap.passes,
        )

    @property
    def is_game_over(self) -> bool:
        return self.passes >= 2

    @property
    def ko_point(self) -> int | None:
        """The point the side to move may not retake (as ``Board.ko_point``)."""
        return self.ko[0] if self.ko is not None and self.ko[1] == self.to_play else None

    # ------------------------------------------------------------------ scoring

    def owner(self) -> list[int]:
        """Tromp-Taylor owner of every point (1, 2, or 0 for nobody)."""
        n2 = self.size * self.size
        owner = list(self.board)
        seen = [False] * n2
        for start in range(n2):
            if self.board[start] != EMPTY or seen[start]:
                continue
            region, touches, todo = [start], set(), [start]
            seen[start] = True
            while todo:
                p = todo.pop()
                for q in self.neighbours[p]:
                    if self.board[q] == EMPTY:
                        if not seen[q]:
                            seen[q] = True
                            region.append(q)
                            todo.append(q)
                    else:
                        touches.add(self.board[q])
            if len(touches) == 1:
                (color,) = touches
                for p in region:
                    owner[p] = color
        return owner

    def score(self, rule: str = "area") -> tuple[float, float]:
        """(black points, white points), komi not included."""
        owner = self.owner()
        if rule == "area":
            return float(owner.count(BLACK)), float(owner.count(WHITE))
        empty_black = sum(1 for p, o in enumerate(owner) if o == BLACK and self.board[p] == EMPTY)
        empty_white = sum(1 for p, o in enumerate(owner) if o == WHITE and self.board[p] == EMPTY)
        return float(empty_black + self.captures[BLACK]), float(empty_white + self.captures[WHITE])

    def winner(self, rule: str = "area") -> int:
        black, white = self.score(rule)
        margin = black - white - self.komi
        return BLACK if margin > 0 else WHITE if margin < 0 else EMPTY
