"""Players by name for the GTP engine, the terminal and the match runner.

``make(name, size, **strength)`` -> an object with ``genmove(board, visits=None, seconds=None)``
returning ``search.players.Move``. Names: ``random``, ``flat-mc``, ``mcts`` (UCT + light rollouts),
``policy``, ``az-mcts``, ``alphago`` (these three need ``--weights``: a checkpoint written by
``agents.go.checkpoint``).
"""

from __future__ import annotations

import numpy as np

from envs.go.board import Board
from search.mcts import SearchConfigError
from search.players import Move, make_player

PLAYER_NAMES = ("random", "flat-mc", "mcts", "policy", "az-mcts", "alphago")
NETWORK_PLAYERS = ("policy", "az-mcts", "alphago")


class RandomPlayer:
    """Uniform over legal moves that do not fill an own true eye; passes when none is left."""

    name = "random"

    def __init__(self, seed: int = 0, **_: object):
        self.rng = np.random.default_rng(seed)

    def genmove(self, board: Board, visits: int | None = None, seconds: float | None = None) -> Move:
        from envs.go.kernels import action_to_point
        from envs.go.playout import is_true_eye

        st = board._st
        color = board.to_play
        moves = [int(a) for a in board.legal_moves()[:-1] if not is_true_eye(st, action_to_point(st, a), color)]
        action = int(self.rng.choice(moves)) if moves else board.size * board.size
        return Move(action)


class FlatMCAdapter:
    name = "flat-mc"

    def __init__(self, visits: int = 32, seed: int = 0, **_: object):
        from search.flat_mc import FlatMonteCarloPlayer

        self.bot = FlatMonteCarloPlayer(playouts_per_move=max(1, visits), seed=seed)

    def genmove(self, board: Board, visits: int | None = None, seconds: float | None = None) -> Move:
        return Move(self.bot.genmove(board))


def make(name: str, size: int = 19, weights: str | None = None, **options):
    """A player by name. ``options``: visits, seed, resign_threshold, temperature, ... (see
    search.players). Network players load ``weights`` (safetensors checkpoint)."""
    if name not in PLAYER_NAMES:
        raise SearchConfigError(f"player {name!r} is unknown (allowed: {', '.join(PLAYER_NAMES)})")
    if name == "random":
        return RandomPlayer(**options)
    if name == "flat-mc":
        return FlatMCAdapter(**options)
    evaluator = None
    if name in NETWORK_PLAYERS:
        if weights is None:
            raise SearchConfigError(f"player {name!r} needs --weights (a checkpoint of a network)")
        from agents.go.checkpoint import load_checkpoint
        from agents.go.evaluator import TorchEvaluator

        model, _ = load_checkpoint(weights)
        if getattr(model, "board_size", size) != size:
            raise SearchConfigError(f"the network in {weights} is for {model.board_size}x{model.board_size}, "
                                    f"not {size}x{size}")
        evaluator = TorchEvaluator(model)
    return make_player(name, evaluator=evaluator, **options)
