"""Two-player Go as a PettingZoo AEC environment (``tenuki_go_v0``).

>>> from tenuki.envs.go.pettingzoo_env import env
>>> game = env(board_size=9)
>>> game.reset(seed=0)
>>> for agent in game.agent_iter():
...     obs, reward, terminated, truncated, info = game.last()
...     action = None if terminated or truncated else game.action_space(agent).sample(obs["action_mask"])
...     game.step(action)

Agents: ``"black_0"`` (moves first) and ``"white_0"``, the names PettingZoo's own ``go_v5`` uses and
its ``<descriptor>_<number>`` recommendation.

Observation of each agent (``game.py`` / ``features.py``): ``Dict(observation=float32[17, N, N],
action_mask=int8[N*N+1])``, channel first as in AlphaZero, planes seen from the observing agent's
colour (planes 0..7 its stones at t..t-7, 8..15 the opponent's, 16 ones iff the agent is black).
The mask holds the legal moves for the agent to act and zeros for the other agent and after the end.

Actions: ``Discrete(N*N + 1)``, ``row * N + col`` from the top-left, ``N*N`` = pass.

Rewards: 0 until the end; on two consecutive passes (termination) +1 / -1 / 0 by Tromp-Taylor area
score with komi. At ``max_moves`` (default ``2 * N * N``) both agents are truncated with reward 0.
The last ``info`` of each agent carries ``result``, ``score_margin`` and ``move_number``.

Illegal or malformed actions raise (``IllegalMoveError``, ``InvalidActionError``, subclasses of
``GoError``) and leave the environment unchanged; PettingZoo's ``api_test`` samples actions through
the action mask, so it never submits one. Unlike ``go_v5``, ``env()`` does not wrap the
environment in ``TerminateIllegalWrapper``: an agent that needs "illegal = loss" adds that wrapper.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
from gymnasium import spaces
from pettingzoo import AECEnv
from pettingzoo.utils import wrappers

from tenuki.envs.go.board import GoError
from tenuki.envs.go.game import GoGame, observation_space
from tenuki.envs.go.layout import BLACK, WHITE

AGENTS = ("black_0", "white_0")
AGENT_COLORS = {"black_0": BLACK, "white_0": WHITE}


def raw_env(**kwargs: Any) -> GoAECEnv:
    """The bare environment (same arguments as ``GoAECEnv``)."""
    return GoAECEnv(**kwargs)


def env(**kwargs: Any) -> AECEnv:
    """The environment inside PettingZoo's ``OrderEnforcingWrapper`` (reset before step / observe)."""
    return wrappers.OrderEnforcingWrapper(GoAECEnv(**kwargs))


class GoAECEnv(AECEnv):
    """Go between ``black_0`` and ``white_0`` (see the module docstring).

    Parameters: ``board_size`` 2..19, ``komi``, ``ko_rule`` simple / positional / situational,
    ``allow_suicide``, ``max_moves`` (truncation; default ``2 * N * N``), ``render_mode`` None /
    "ansi" (``render()`` returns the board as text) / "human" (printed after every move).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "human"], "name": "tenuki_go_v0", "is_parallelizable": False,
                "render_fps": 1}

    def __init__(
        self,
        board_size: int = 19,
        komi: float = 7.5,
        ko_rule: str = "positional",
        allow_suicide: bool = False,
        max_moves: int | None = None,
        render_mode: str | None = None,
    ):
        super().__init__()
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise GoError(f"render_mode {render_mode!r} is unknown (allowed: None, ansi, human)")
        self.render_mode = render_mode
        self.game = GoGame(board_size, komi, ko_rule, allow_suicide, max_moves)
        n = self.game.size
        self.possible_agents = list(AGENTS)
        self.agents = list(AGENTS)
        self.observation_spaces = {agent: observation_space(n) for agent in AGENTS}
        self.action_spaces = {agent: spaces.Discrete(n * n + 1) for agent in AGENTS}
        self._start_episode()

    # ------------------------------------------------------------------ spaces

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    # ------------------------------------------------------------------ API

    def _start_episode(self) -> None:
        self.game.reset()
        self.agents = list(AGENTS)
        self.rewards = {agent: 0.0 for agent in AGENTS}
        self._cumulative_rewards = {agent: 0.0 for agent in AGENTS}
        self.terminations = {agent: False for agent in AGENTS}
        self.truncations = {agent: False for agent in AGENTS}
        self.infos = {agent: {} for agent in AGENTS}
        self.agent_selection = AGENTS[0]

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        """A new game on the empty board, black to move. Go has no chance: ``seed`` only seeds the
        action spaces (for ``sample``); ``options`` is accepted and ignored."""
        if seed is not None:
            for i, agent in enumerate(AGENTS):
                self.action_spaces[agent].seed(seed + i)
        self._start_episode()
        if self.render_mode == "human":
            self.render()

    def observe(self, agent: str) -> dict:
        """``{"observation": float32[17, N, N], "action_mask": int8[N*N+1]}`` of ``agent``."""
        acting = agent == self.agent_selection and agent in self.agents
        return self.game.observation(AGENT_COLORS[agent], acting=acting)

    def step(self, action: Any) -> None:
        """Play ``action`` for ``agent_selection`` (``None`` for an agent already done)."""
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        if action is None:
            raise GoError(f"{agent} is still playing: None is only the action of an agent that is done")
        self.game.play(action)  # raises before any change when the action is invalid or illegal
        self._cumulative_rewards[agent] = 0.0
        self._clear_rewards()
        game = self.game
        if game.over:
            final = game.final_info()
            for a in AGENTS:
                self.terminations[a] = game.terminated
                self.truncations[a] = game.truncated
                self.rewards[a] = game.reward(AGENT_COLORS[a])
                self.infos[a] = dict(final)
        self.agent_selection = AGENTS[0] if agent == AGENTS[1] else AGENTS[1]
        self._accumulate_rewards()
        if self.render_mode == "human":
            self.render()

    def render(self) -> str | None:
        """"ansi": the board as text; "human": print it; None: warn and return None."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() called without a render_mode (allowed: ansi, human)")
            return None
        text = self.game.render_text()
        if self.render_mode == "ansi":
            return text
        print(text + "\n")
        return None

    def close(self) -> None:
        """Nothing to release (no window, no process)."""
