"""The one interface of a Go player, and the move it answers with.

Everything that asks a bot for moves -- the GTP engine, the terminal game, the registry of players by name
(``tenuki.play.registry``) -- holds a ``Player`` and nothing more specific, so any player plugs into any of
them::

    move = player.genmove(board, visits=None, seconds=None)  # reads board, leaves it as it was
    board.play(move.action)                                   # unless move.resigned
    player.notify_played(move.action)                         # after every move played on the game's board

A budget of ``None`` means the player's own default. A player that keeps state between moves (a reused
search tree) keeps it only through ``notify_played``; one that keeps none makes it a no-op.

A player whose search can keep growing is also an ``AnalysingPlayer`` (GTP ``lz-analyze`` /
``kata-analyze``: one search reported every interval)::

    analysis = player.analyse(board)           # a search of the board's side to move, nothing searched yet
    analysis.grow(seconds=0.05)                # more simulations into the same tree
    analysis.result(pv_moves=50)               # the root statistics so far (SearchResult)
    move = player.choose(board, analysis.result())   # the move genmove would play from them
    analysis.close()                           # done: the tree stays for the next move (tree reuse)
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


@runtime_checkable
class Analysis(Protocol):
    """One search of one position that keeps growing (``AnalysingPlayer.analyse``)."""

    simulations: int  # added by this analysis so far
    full: bool  # the tree reached its memory cap: ``grow`` adds nothing more

    def grow(self, seconds: float, max_simulations: int | None = None) -> int:
        """Search up to ``seconds`` more (and at most ``max_simulations`` more); the simulations added."""
        ...

    def result(self, pv_moves: int = 10) -> SearchResult:
        """The root statistics so far, with principal variations of the ``pv_moves`` most visited moves."""
        ...

    def close(self) -> None:
        """The analysis is over (a searched position of the game stays the root for the next search)."""
        ...


@runtime_checkable
class AnalysingPlayer(Player, Protocol):
    """A ``Player`` whose search can be grown step by step and reported while it runs."""

    def analyse(self, board: Board, keep: bool = True) -> Analysis:
        """A growing search of ``board`` (copied; its side to move searches). ``keep``: ``board`` is the game's
        position, so the search may use and leave the player's reused tree; False for any other position
        (analysis for the side not to move), which is searched in a tree of its own."""
        ...

    def choose(self, board: Board, result: SearchResult, seconds: float = 0.0) -> Move:
        """The move ``genmove`` would answer from the root statistics ``result`` of ``board``."""
        ...


__all__ = ["AnalysingPlayer", "Analysis", "Move", "Player"]
