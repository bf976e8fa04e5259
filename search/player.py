"""The one interface of a Go player, and the move it answers with.

Everything that asks a bot for moves -- the GTP engine, the terminal game, the registry of players by name
(``tenuki.play.registry``) -- holds a ``Player`` and nothing more specific, so any player plugs into any of
them::

    move = player.genmove(board, visits=None, seconds=None)  # reads board, leaves it as it was
    board.play(move.action)                                   # unless move.resigned
    player.notify_played(move.action)                         # after every move played on the game's board

A budget of ``None`` means the player's own default. A player that keeps state between moves (a reused
search tree) keeps it only through ``notify_played``; one that keeps none makes it a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from tenuki.envs.go.board import Board
from tenuki.search.mcts import SearchResult


@dataclass
class Move:
    """A player's answer. ``action`` 0..N*N (N*N = pass), -1 when ``resigned``. ``full_search``: False for
    the cheap searches of playout cap randomization (self-play records only full ones). ``result``: the
    search's root statistics, None for players that do not search. ``analysis``: the most visited moves as
    ``SearchResult.analysis`` rows (move, visits, winrate, prior, pv), for hints and ``lz-analyze``."""

    action: int
    resigned: bool = False
    full_search: bool = True
    result: SearchResult | None = None
    seconds: float = 0.0
    analysis: list[dict] = field(default_factory=list)


@runtime_checkable
class Player(Protocol):
    """A Go player (``isinstance`` checks that the members exist, not their signatures)."""

    name: str  # what the player is, as the registry names it ("mcts", "az-mcts", ...)

    def genmove(self, board: Board, visits: int | None = None, seconds: float | None = None) -> Move:
        """A move for the side to move of ``board``, within ``visits`` simulations or ``seconds`` (None: the
        player's default). The board is read, never changed."""
        ...

    def notify_played(self, action: int) -> None:
        """``action`` was just played on the game's board (by this player or its opponent)."""
        ...


__all__ = ["Move", "Player"]
