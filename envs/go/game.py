"""One Go episode as the environments see it: rules (``Board``), observation planes, end of game.

The gymnasium env (``gym_env.py``) and the PettingZoo env (``pettingzoo_env.py``) are thin
wrappers over ``GoGame``, so the shared behaviour is written once: action checking ("illegal
action" and "episode already over"), termination vs truncation, rewards, observations, text
rendering.

Episode rules:

- actions are ``row * N + col`` (row 0 = top line), ``N * N`` = pass (``coords.py``);
- the episode *terminates* on two consecutive passes; it is scored by Tromp-Taylor area scoring
  with komi (``Board.score("area")``): +1 for the winner, -1 for the loser, 0 for a jigo;
- the episode is *truncated* (not terminated) once ``max_moves`` moves (both colours, passes
  included) are played; there is no outcome then and the reward is 0. ``info`` still carries the
  area count of the final position for whoever wants it;
- an illegal action raises ``IllegalMoveError`` (occupied, suicide, ko, superko), an action that is
  not an integer in ``0..N*N`` raises ``InvalidActionError``, a move after the end raises
  ``GameOverError``; in every case the state is left unchanged.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from tenuki.envs.go.board import COLOR_NAMES, Board, GoError, IllegalMoveError
from tenuki.envs.go.coords import GTP_LETTERS
from tenuki.envs.go.features import NUM_PLANES, PlaneHistory, alphazero_planes
from tenuki.envs.go.layout import BLACK, EMPTY, WHITE

__all__ = ["GameOverError", "GoGame", "IllegalMoveError", "InvalidActionError", "observation_space"]


class InvalidActionError(GoError):
    """The action is not an integer in ``0..N*N`` (``N*N`` = pass)."""


class GameOverError(GoError):
    """A move was submitted after the episode ended (terminated or truncated); call ``reset``."""


def observation_space(size: int) -> Any:
    """``Dict(observation=Box(0, 1, float32[17, N, N]), action_mask=Box(0, 1, int8[N*N+1]))``."""
    from gymnasium import spaces

    return spaces.Dict(
        {
            "observation": spaces.Box(0.0, 1.0, (NUM_PLANES, size, size), np.float32),
            "action_mask": spaces.Box(0, 1, (size * size + 1,), np.int8),
        }
    )


class GoGame:
    """A board, its plane history and the episode bookkeeping (see the module docstring).

    ``max_moves`` defaults to ``2 * N * N``.
    """

    def __init__(
        self,
        board_size: int = 19,
        komi: float = 7.5,
        ko_rule: str = "positional",
        allow_suicide: bool = False,
        max_moves: int | None = None,
    ):
        self.board = Board(board_size, komi=komi, ko_rule=ko_rule, allow_suicide=allow_suicide)
        self.size = self.board.size
        self.num_actions = self.size * self.size + 1
        self.pass_action = self.size * self.size
        if max_moves is None:
            max_moves = 2 * self.size * self.size
        if not isinstance(max_moves, (int, np.integer)) or max_moves < 1:
            raise GoError(f"max_moves must be a positive integer, got {max_moves!r}")
        self.max_moves = int(max_moves)
        self.history = PlaneHistory(self.size, self.board.stones(), capacity=min(self.max_moves + 2, 1024))
        self._pristine = self.board.copy()

    def reset(self) -> None:
        """Back to the empty board, black to move."""
        self.board = self._pristine.copy()
        self.history.clear(self.board.stones())

    # ------------------------------------------------------------------ status

    @property
    def terminated(self) -> bool:
        """Two consecutive passes ended the game."""
        return self.board.is_game_over

    @property
    def truncated(self) -> bool:
        """``max_moves`` moves were played without the game ending."""
        return not self.board.is_game_over and self.board.move_number >= self.max_moves

    @property
    def over(self) -> bool:
        return self.terminated or self.truncated

    @property
    def to_play(self) -> int:
        return self.board.to_play

    # ------------------------------------------------------------------ moves

    def check_action(self, action: Any) -> int:
        """``action`` as a Python int in ``0..N*N``; raises InvalidActionError / GameOverError."""
        if self.over:
            state = "terminated (two passes)" if self.terminated else f"truncated ({self.max_moves} moves)"
            raise GameOverError(f"the episode is {state}; call reset() before another move")
        try:
            if isinstance(action, (bool, np.bool_)):
                raise TypeError
            index = operator.index(action)
        except TypeError:
            raise InvalidActionError(
                f"action {action!r} is not an integer (allowed: 0..{self.pass_action}, {self.pass_action} = pass)"
            ) from None
        if not 0 <= index <= self.pass_action:
            raise InvalidActionError(f"action {index} is outside 0..{self.pass_action} ({self.pass_action} = pass)")
        return index

    def play(self, action: Any) -> int:
        """Play ``action`` for the side to move; returns it as an int. Raises and changes nothing
        when the action is invalid or illegal, or the episode is over."""
        index = self.check_action(action)
        self.board.play(index)  # IllegalMoveError leaves the board unchanged
        self.history.push(self.board.stones())
        return index

    def legal_actions(self) -> np.ndarray:
        """Legal actions of the side to move, ascending, pass last: int64[k]; empty when over."""
        if self.over:
            return np.zeros(0, np.int64)
        return self.board.legal_moves()

    # ------------------------------------------------------------------ outcome

    def winner(self) -> int:
        """BLACK, WHITE, or EMPTY for a jigo, by area score with komi (meaningful once terminated)."""
        return self.board.score("area").winner

    def reward(self, color: int) -> float:
        """+1 / -1 / 0 for ``color`` once terminated; 0 while the game runs or when truncated."""
        if not self.terminated:
            return 0.0
        winner = self.winner()
        return 0.0 if winner == EMPTY else 1.0 if winner == color else -1.0

    def final_info(self) -> dict[str, Any]:
        """What an episode's last ``info`` carries: the area count of the final position."""
        score = self.board.score("area")
        return {
            "result": score.result if self.terminated else "truncated",
            "score_margin": float(score.margin),  # black - white - komi, positive: black ahead
            "move_number": self.board.move_number,
        }

    # ------------------------------------------------------------------ observations

    def observation(self, color: int, acting: bool = True) -> dict[str, np.ndarray]:
        """The observation of the player of ``color``.

        ``observation``: float32[17, N, N] planes from ``color``'s point of view (``features.py``);
        ``action_mask``: int8[N*N+1], the legal actions when ``acting`` and the episode runs,
        all zeros otherwise (no action is accepted then).
        """
        planes = alphazero_planes(self.history, color)
        if acting and not self.over:
            mask = self.board.legal_mask(color).astype(np.int8)
        else:
            mask = np.zeros(self.num_actions, np.int8)
        return {"observation": planes, "action_mask": mask}

    def render_text(self) -> str:
        """The board with GTP coordinates (``X`` black, ``O`` white), then who is to move."""
        n = self.size
        letters = "   " + " ".join(GTP_LETTERS[:n])
        chars = {EMPTY: ".", BLACK: "X", WHITE: "O"}
        lines = [letters]
        for r, row in enumerate(self.board.stones()):
            line = n - r
            lines.append(f"{line:2d} " + " ".join(chars[int(v)] for v in row) + f" {line:d}")
        lines.append(letters)
        board = self.board
        if self.terminated:
            status = f"game over after {board.move_number} moves: {board.score('area').result}"
        elif self.truncated:
            status = f"truncated after {board.move_number} moves"
        else:
            status = f"move {board.move_number}, {COLOR_NAMES[board.to_play]} to play"
        lines.append(status)
        return "\n".join(lines)
