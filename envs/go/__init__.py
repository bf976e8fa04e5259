"""tenuki.envs.go: the rules of Go as numba kernels over flat arrays, the ``Board`` that fronts them,
coordinates, SGF, scoring, observation planes and the gymnasium / PettingZoo / RLlib environments.

>>> from tenuki.envs.go import Board, to_gtp
>>> board = Board(9, komi=7.0)
>>> board.play("E5")
>>> to_gtp(board.legal_moves()[0], board.size)
'A9'

Parts, the public ones first:

=====================  ===============================================================================
``board``              ``Board``: ``play`` / ``is_legal`` / ``legal_moves`` / ``undo`` / ``copy`` /
                       ``score`` (-> ``Score``), a read-only ``state``; ``IllegalMoveError``,
                       ``BoardSetupError``, ``MIN_SIZE`` / ``MAX_SIZE``, ``parse_color``,
                       ``fixed_handicap_actions``
``errors``             ``GoError`` (every rule or input error of this package), ``CoordinateError``
``coords``             actions (``row * N + col`` from the top-left, ``N * N`` = pass) to and from GTP
                       vertices, SGF points and padded points: ``to_gtp`` / ``from_gtp``, ``to_sgf`` /
                       ``from_sgf``, ``to_point`` / ``from_point``, ``pass_action``
``sgf``                ``GameRecord`` (moves, setup, result, komi, rules), ``read_sgf`` / ``load_sgf`` /
                       ``write_sgf``, ``record_from_board``, ``SGFError``
``sgf_archives``       games from a folder, a .tar.gz of SGFs or the Tom archive: ``iter_games``,
                       ``LoadStats`` (what was skipped and why)
``scoring``            area scoring kernels: ``area_owner``, ``area_difference``
``features``           AlphaZero's 17 planes: ``PlaneHistory``, ``alphazero_planes``, ``board_planes``,
                       ``legal_action_mask``
``alphago_planes``     AlphaGo's 48 (+1) planes as numba kernels (ladders included); their public face
                       for the networks is ``tenuki.agents.go.features``
``playout``            random playouts to the end of the game over a state array (``playouts``)
``game``               ``GoGame``: the turn-based game the environments share (``GameOverError``,
                       ``InvalidActionError``, ``observation_space``)
``render``             ``render_board``: a board as text
``gym_env``            ``GoEnv``: one player against an opponent policy, a ``gymnasium.Env``
``pettingzoo_env``     ``GoAECEnv``: both players, a PettingZoo AEC environment
``registration``       ``tenuki/Go-v0`` for gymnasium (``GO_ENV_ID``, ``register_envs``)
``rllib_registration``  ``register_rllib_envs``: the environments for RLlib (ray imported inside)
``layout``             the layout of a state array: header slots, border sentinels, ko rules, colours
                       (``BLACK``, ``WHITE``, ``EMPTY``, ``KO_RULES``)
``kernels``            the rules kernels (legality, play, undo, superko) that ``Board`` calls;
                       ``kernel_base``, ``superko``: their building blocks
=====================  ===============================================================================

Importing this package first checks the numba cache against the kernels' sources
(``_cache_guard``), then loads the rules (numpy, numba, sgfmill). The environments load on first use
(PEP 562 ``__getattr__``): they import gymnasium or PettingZoo, and ``registration`` registers
``tenuki/Go-v0`` when imported. Modules of this package import each other by their defining module,
never through this face.
"""

from __future__ import annotations

from tenuki.envs.go._cache_guard import invalidate_stale_numba_cache

invalidate_stale_numba_cache()  # before any kernel module is imported: a stale cache would be loaded

from tenuki.common.lazy import lazy_exports
from tenuki.envs.go.board import (
    COLOR_NAMES,
    MAX_SIZE,
    MIN_SIZE,
    Board,
    BoardSetupError,
    IllegalMoveError,
    Score,
    fixed_handicap_actions,
    parse_color,
)
from tenuki.envs.go.coords import (
    GTP_LETTERS,
    from_gtp,
    from_point,
    from_sgf,
    pass_action,
    to_gtp,
    to_point,
    to_sgf,
)
from tenuki.envs.go.errors import CoordinateError, GoError
from tenuki.envs.go.features import (
    PlaneHistory,
    alphazero_planes,
    board_planes,
    legal_action_mask,
)
from tenuki.envs.go.game import GameOverError, GoGame, InvalidActionError, observation_space
from tenuki.envs.go.layout import BLACK, EMPTY, KO_RULES, WHITE
from tenuki.envs.go.playout import playouts
from tenuki.envs.go.render import render_board
from tenuki.envs.go.scoring import area_difference, area_owner
from tenuki.envs.go.sgf import GameRecord, SGFError, load_sgf, read_sgf, record_from_board, write_sgf
from tenuki.envs.go.sgf_archives import LoadStats, iter_games

# name -> defining module, imported when the name is first asked for (gymnasium, PettingZoo)
_LAZY = {
    "GoEnv": "tenuki.envs.go.gym_env",
    "OpponentError": "tenuki.envs.go.gym_env",
    "GoAECEnv": "tenuki.envs.go.pettingzoo_env",
    "GO_ENV_ID": "tenuki.envs.go.registration",
    "register_envs": "tenuki.envs.go.registration",
    "RLLIB_GO_ENV": "tenuki.envs.go.rllib_registration",
    "RLLIB_GO_MULTIAGENT_ENV": "tenuki.envs.go.rllib_registration",
    "register_rllib_envs": "tenuki.envs.go.rllib_registration",
}

__all__ = [
    "BLACK",
    "COLOR_NAMES",
    "EMPTY",
    "GO_ENV_ID",
    "GTP_LETTERS",
    "KO_RULES",
    "MAX_SIZE",
    "MIN_SIZE",
    "RLLIB_GO_ENV",
    "RLLIB_GO_MULTIAGENT_ENV",
    "WHITE",
    "Board",
    "BoardSetupError",
    "CoordinateError",
    "GameOverError",
    "GameRecord",
    "GoAECEnv",
    "GoEnv",
    "GoError",
    "GoGame",
    "IllegalMoveError",
    "InvalidActionError",
    "LoadStats",
    "OpponentError",
    "PlaneHistory",
    "SGFError",
    "Score",
    "alphazero_planes",
    "area_difference",
    "area_owner",
    "board_planes",
    "fixed_handicap_actions",
    "from_gtp",
    "from_point",
    "from_sgf",
    "iter_games",
    "legal_action_mask",
    "load_sgf",
    "observation_space",
    "parse_color",
    "pass_action",
    "playouts",
    "read_sgf",
    "record_from_board",
    "register_envs",
    "register_rllib_envs",
    "render_board",
    "to_gtp",
    "to_point",
    "to_sgf",
    "write_sgf",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
