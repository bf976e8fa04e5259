"""Go against a fixed opponent as a single-agent gymnasium environment (``tenuki/Go-v0``).

>>> import gymnasium as gym, tenuki.envs.go.registration  # registers tenuki/Go-v0
>>> env = gym.make("tenuki/Go-v0", board_size=9)
>>> obs, info = env.reset(seed=0)
>>> obs, reward, terminated, truncated, info = env.step(int(obs["action_mask"].nonzero()[0][0]))

The agent plays ``agent_color`` ("black", "white", or "random": drawn at each reset from the
env's seeded ``np_random``); the opponent answers inside ``step``. The opponent is "random"
(uniform over the legal moves, pass included, drawn from ``np_random``) or any callable
``opponent(board) -> action``; it gets the live ``Board`` and must not change it (a search copies
it with ``board.copy()``); a changed board or an illegal answer raises ``OpponentError``.

Observation: ``Dict(observation=float32[17, N, N], action_mask=int8[N*N+1])`` from the agent's
colour (``features.py``: planes 0..7 own stones t..t-7, 8..15 opponent's, 16 ones iff the agent is
black). Action: ``Discrete(N*N + 1)``, ``row * N + col`` from the top-left, ``N*N`` = pass.
Reward: 0 until the end; +1 / -1 / 0 (jigo) when two consecutive passes end the game
(``terminated``), by Tromp-Taylor area score with komi. ``truncated`` once ``max_moves`` moves of
both colours (default ``2 * N * N``) are played, reward 0 (no outcome); the last ``info`` carries
``result``, ``score_margin`` (black - white - komi) and ``move_number`` either way.

Illegal actions, ``illegal_action``:

- "raise" (default): ``step`` raises ``IllegalMoveError`` (occupied / suicide / ko / superko) and
  leaves the environment unchanged, as the Board does. Agents are expected to act through
  ``action_mask``. ``gymnasium.utils.env_checker.check_env`` (1.2.2) passes with this default: it
  steps only right after ``reset``, with ``action_space.sample()``, and on the empty board with
  the agent to move (black) every action is legal. With ``agent_color="white"`` it always fails:
  it seeds both ``action_space`` and ``reset`` with 123, so the random opponent's first draw
  (``integers(N*N+1)`` on the empty board) equals the sampled action, which lands on the
  opponent's stone. Check that configuration with ``illegal_action="lose"``.
- "lose": the illegal action ends the episode (``terminated``, reward -1, ``info["illegal_action"]``
  = the reason), the board unchanged. For learners that cannot mask.

Actions that are not integers in ``0..N*N`` raise ``InvalidActionError`` and a step after the end
raises ``GameOverError`` under both policies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import gymnasium
import numpy as np
from gymnasium import spaces

from tenuki.envs.go.board import COLOR_NAMES, Board, GoError, IllegalMoveError
from tenuki.envs.go.game import GameOverError, GoGame, observation_space
from tenuki.envs.go.layout import BLACK, WHITE

Opponent = Callable[[Board], int]
AGENT_COLORS = {"black": BLACK, "white": WHITE, "random": None}
ILLEGAL_ACTION_POLICIES = ("raise", "lose")


class OpponentError(GoError):
    """The opponent callable answered an illegal move or changed the board it was given."""


class GoEnv(gymnasium.Env):
    """Go against ``opponent`` (see the module docstring).

    Parameters: ``board_size`` 2..19 (default 19), ``komi`` (7.5), ``ko_rule`` simple / positional
    / situational, ``allow_suicide``, ``max_moves`` (default ``2 * N * N``), ``agent_color``
    black / white / random, ``opponent`` "random" or ``opponent(board) -> action``,
    ``illegal_action`` raise / lose, ``render_mode`` None / "ansi" / "human".
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "human"], "render_fps": 1}

    def __init__(
        self,
        board_size: int = 19,
        komi: float = 7.5,
        ko_rule: str = "positional",
        allow_suicide: bool = False,
        max_moves: int | None = None,
        agent_color: str = "black",
        opponent: str | Opponent = "random",
        illegal_action: str = "raise",
        render_mode: str | None = None,
    ):
        if agent_color not in AGENT_COLORS:
            raise GoError(f"agent_color {agent_color!r} is unknown (allowed: {', '.join(AGENT_COLORS)})")
        if (opponent != "random") if isinstance(opponent, str) else (not callable(opponent)):
            raise GoError(f"opponent {opponent!r} is neither 'random' nor a callable opponent(board) -> action")
        if illegal_action not in ILLEGAL_ACTION_POLICIES:
            raise GoError(f"illegal_action {illegal_action!r} is unknown (allowed: raise, lose)")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise GoError(f"render_mode {render_mode!r} is unknown (allowed: None, ansi, human)")
        self.game = GoGame(board_size, komi, ko_rule, allow_suicide, max_moves)
        self.agent_color_option = agent_color
        self.agent_color = AGENT_COLORS[agent_color] or BLACK
        self.opponent = opponent
        self.illegal_action = illegal_action
        self.render_mode = render_mode
        n = self.game.size
        self.observation_space = observation_space(n)
        self.action_space = spaces.Discrete(n * n + 1)
        self._illegal_end: str | None = None  # reason, once an illegal action lost the game

    @property
    def board(self) -> Board:
        """The live board (read it, do not play on it)."""
        return self.game.board

    # ------------------------------------------------------------------ API

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """New game; when the agent plays white the opponent's first move is already made.
        Returns ``(observation, info)``; ``info["agent_color"]`` is "black" or "white"."""
        super().reset(seed=seed)
        self.game.reset()
        self._illegal_end = None
        if self.agent_color_option == "random":
            self.agent_color = BLACK if self.np_random.integers(2) == 0 else WHITE
        info: dict[str, Any] = {"agent_color": COLOR_NAMES[self.agent_color]}
        if self.agent_color != BLACK:
            info["opponent_action"] = self._opponent_move()
        if self.render_mode == "human":
            self.render()
        return self._observation(), info

    def step(self, action: Any):
        """The agent plays ``action``, then the opponent answers unless the episode is over.
        Returns ``(observation, reward, terminated, truncated, info)``."""
        game = self.game
        if self._illegal_end is not None:
            raise GameOverError("the episode ended on an illegal action; call reset() before another move")
        info: dict[str, Any] = {"agent_color": COLOR_NAMES[self.agent_color]}
        try:
            game.play(action)
        except IllegalMoveError as error:
            if self.illegal_action == "raise":
                raise
            self._illegal_end = error.reason
            info["illegal_action"] = error.reason
            info.update(game.final_info())
            return self._observation(), -1.0, True, False, info
        if not game.over:
            info["opponent_action"] = self._opponent_move()
        if game.over:
            info.update(game.final_info())
        if self.render_mode == "human":
            self.render()
        return self._observation(), game.reward(self.agent_color), game.terminated, game.truncated, info

    def render(self) -> str | None:
        """"ansi": the board as text; "human": print it (also done after every reset / step)."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() called without a render_mode (allowed: ansi, human)")
            return None
        text = self.game.render_text()
        if self._illegal_end is not None:
            text += f"\nthe agent lost by an illegal move ({self._illegal_end})"
        if self.render_mode == "ansi":
            return text
        print(text + "\n")
        return None

    # ------------------------------------------------------------------ internals

    def _observation(self) -> dict[str, np.ndarray]:
        acting = self._illegal_end is None
        return self.game.observation(self.agent_color, acting=acting)

    def _opponent_move(self) -> int:
        """Ask the opponent for a move and play it; returns the action."""
        game = self.game
        if isinstance(self.opponent, str):  # "random"
            legal = game.board.legal_moves()  # int64[k], pass always included
            action = int(legal[self.np_random.integers(legal.shape[0])])
        else:
            board = game.board
            before = (board.hash, board.move_number, board.to_play)
            action = self.opponent(board)
            if (board.hash, board.move_number, board.to_play) != before or board is not game.board:
                raise OpponentError("the opponent changed the board it was given (play on board.copy())")
        try:
            return game.play(action)
        except GoError as error:
            raise OpponentError(f"the opponent answered {action!r}: {error}") from error
