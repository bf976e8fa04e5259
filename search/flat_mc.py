"""Flat Monte-Carlo player: the built-in bot until the tree search lands.

For every legal move that does not fill one of the mover's own true eyes, play it on a scratch
copy and run ``playouts_per_move`` light playouts (tenuki.envs.go.playout); pick the move with the best
mean Tromp-Taylor outcome for the mover (komi included). Pass when no such move is left, or when
every move loses all its playouts and the opponent already passed.
"""

from __future__ import annotations

import numpy as np

from tenuki.envs.go.board import Board
from tenuki.envs.go.kernels import action_to_point, play
from tenuki.envs.go.layout import H_TO_PLAY
from tenuki.envs.go.playout import _playouts, is_true_eye, playout_len


class FlatMonteCarloPlayer:
    name = "flat-mc"

    def __init__(self, playouts_per_move: int = 32, seed: int = 0, max_moves: int | None = None):
        if playouts_per_move < 1:
            raise ValueError(f"playouts_per_move must be >= 1, got {playouts_per_move}")
        self.playouts_per_move = playouts_per_move
        self.max_moves = max_moves
        self._seed = seed

    def move_values(self, board: Board) -> dict[int, float]:
        """Mean outcome (+1 win, -1 loss, 0 jigo) for the mover of each candidate action."""
        base = playout_len(board.size)
        st = board.state[:base].copy()  # the playout part, as the writable array the kernels are compiled for
        color = int(st[H_TO_PLAY])
        sign = 1.0 if color == 1 else -1.0
        max_moves = self.max_moves or 3 * board.size * board.size
        out = np.zeros(self.playouts_per_move, np.int64)
        values: dict[int, float] = {}
        for action in board.legal_moves()[:-1]:
            point = action_to_point(st, action)
            if is_true_eye(st, point, color):
                continue
            scratch = st[:base].copy()
            play(scratch, point, color, False)
            self._seed += 1
            _playouts(scratch, self._seed, self.playouts_per_move, max_moves, out, base)
            margins = sign * (out - board.komi)
            values[int(action)] = float(np.mean(np.sign(margins)))
        return values

    def genmove(self, board: Board) -> int:
        values = self.move_values(board)
        if not values:
            return board.size * board.size
        best = max(values, key=values.__getitem__)
        if values[best] <= -1.0 and board.consecutive_passes > 0:
            return board.size * board.size
        return best
