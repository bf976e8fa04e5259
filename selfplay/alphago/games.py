"""AlphaGo's self-play stages on the self-play actors (Silver et al. 2016, Methods).

Two game generators, registered in ``tenuki.selfplay.games.GAME_GENERATORS``:

- ``policy_pool`` — "Reinforcement learning of policy networks": the current policy p_rho plays a
  game against an opponent drawn from the pool of its earlier versions (the coordinator snapshots
  a version into the pool every ``workers.opponent_pool_every`` versions and hands a random one to
  each task), both sampling moves from their softmax. The current player's moves become samples
  (48 planes, the move as a one-hot ``policy``, the outcome z for that player as ``value``); the
  ``reinforce`` loss then climbs z * grad log p(a | s).
- ``value_data`` — "Reinforcement learning of value networks": one position per game. A move
  number U is drawn uniformly (1..450 on 19x19, scaled to the board), moves 1..U-1 come from the SL
  policy, move U is a uniformly random legal move, and the RL policy plays from there to the end;
  the sample is the position after move U (49 planes) with the outcome for its side to move, for
  the ``value_mse`` loss. The SL and RL policies are fixed checkpoints (``workers.sl_policy``,
  ``workers.rl_policy``) that every worker loads from disk.

Moves and the end of the game follow the paper's policy games: a player picks among the
*sensible* moves (legal, not filling an own eye; plane 46 of the features) and passes when none is
left, so the game ends with both sides passing on a board where area scoring is exact; a cap of
``game.max_moves`` (default 2 N^2) scores the board as it stands.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tenuki.envs.go.board import BLACK, WHITE, Board, IllegalMoveError
from tenuki.search.mcts import Evaluator
from tenuki.selfplay.games import GameContext, GameRecord, _result_string


def _sensible(planes: np.ndarray) -> np.ndarray:
    from tenuki.agents.go.features import P_SENSIBLE

    return planes[P_SENSIBLE].reshape(-1).astype(bool)


def sample_policy_move(evaluator: Evaluator, board: Board, planes: np.ndarray, rng: np.random.Generator,
                       temperature: float = 1.0) -> int:
    """A move sampled from the network's softmax over the sensible moves; pass when none is left.
    ``planes``: the 48 (or 49) feature planes of ``board`` (the policy reads the first 48)."""
    n = board.size
    sensible = _sensible(planes)
    if not sensible.any():
        return n * n
    logits, _ = evaluator(planes[None, :48].astype(np.float32))
    scores = np.where(sensible, logits[0, : n * n] / temperature, -np.inf)
    scores -= scores.max()
    p = np.exp(scores)
    return int(rng.choice(n * n, p=p / p.sum()))


def _play(board: Board, move: int, planes: np.ndarray) -> int:
    """Play ``move``; a move the features call sensible may still break positional superko: then
    the next sensible move is tried, and pass when none is left. Returns the move played."""
    n = board.size
    try:
        board.play(move)
        return move
    except IllegalMoveError:
        for other in np.flatnonzero(_sensible(planes)):
            if other != move and board.is_legal(int(other)):
                board.play(int(other))
                return int(other)
        board.play(n * n)
        return n * n


def _finish(context: GameContext, board: Board, game_id: int, samples: dict[str, np.ndarray], start: float,
            extra: dict[str, Any]) -> GameRecord:
    score = board.score("area")
    margin = score.margin
    winner = BLACK if margin > 0 else WHITE if margin < 0 else 0
    sgf = None
    if context.keep_sgf:
        from tenuki.envs.go.sgf import record_from_board

        sgf = record_from_board(board, result=_result_string(winner, margin, False), rules="Chinese",
                                black_name=f"tenuki v{context.version}", white_name=f"tenuki v{context.version}").to_sgf()
    return GameRecord(game_id=game_id, version=context.version, samples=samples, moves=board.move_number,
                      winner=winner, result=_result_string(winner, margin, False), seconds=time.perf_counter() - start,
                      worker=context.worker, sgf=sgf, extra=extra)


def policy_pool_game(context: GameContext, game_id: int, seed: int) -> GameRecord:
    """One game of the current policy against a pool opponent (see the module docstring)."""
    from tenuki.agents.go.features import alphago_planes

    cfg = context.config
    size = cfg.game.size
    max_moves = cfg.game.max_moves or 2 * size * size
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    board = Board(size, komi=cfg.game.komi)
    me = BLACK if rng.random() < 0.5 else WHITE
    players = {me: context.evaluator, 3 - me: context.opponent or context.evaluator}
    planes_out, actions = [], []
    while not board.is_game_over and board.move_number < max_moves:
        planes = alphago_planes(board)
        move = sample_policy_move(players[board.to_play], board, planes, rng)
        mover = board.to_play
        played = _play(board, move, planes)
        if mover == me and played != size * size:
            planes_out.append(planes.astype(bool))
            actions.append(played)
    score = board.score("area").margin
    winner = BLACK if score > 0 else WHITE if score < 0 else 0
    z = 0.0 if winner == 0 else (1.0 if winner == me else -1.0)
    count = len(actions)
    policy = np.zeros((count, size * size + 1), np.float32)
    policy[np.arange(count), actions] = 1.0
    samples = {
        "planes": np.asarray(planes_out, bool).reshape(count, 48, size, size),
        "policy": policy,
        "value": np.full(count, z, np.float32),
    }
    extra = {"colour": me, "opponent_version": context.opponent_version, "z": z}
    return _finish(context, board, game_id, samples, start, extra)


def _fixed_policy(context: GameContext, key: str, path: str) -> Evaluator:
    """A fixed policy checkpoint of the worker (loaded once, kept in the worker's cache)."""
    cache = context.state.setdefault("fixed_policies", {})
    if path not in cache:
        from tenuki.agents.go.evaluator import TorchEvaluator
        from tenuki.agents.go.networks.checkpoint import load_checkpoint

        if not path:
            raise ValueError(f"workers.{key}: value-data games need a policy checkpoint")
        from tenuki.selfplay.learner import evaluator_options

        model, _ = load_checkpoint(path, architecture="alphago_policy")
        cache[path] = TorchEvaluator(model, **evaluator_options(context.config))
    return cache[path]


def value_data_game(context: GameContext, game_id: int, seed: int) -> GameRecord:
    """One value-network sample: SL policy to move U-1, a random move U, RL policy to the end."""
    from tenuki.agents.go.features import alphago_planes

    cfg = context.config
    wc = cfg.workers
    size = cfg.game.size
    max_moves = cfg.game.max_moves or 2 * size * size
    sl = _fixed_policy(context, "sl_policy", wc.sl_policy)
    rl = _fixed_policy(context, "rl_policy", wc.rl_policy) if wc.rl_policy else sl
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    # The paper: U ~ unif{1, 450} on 19x19; scaled to the board, and before the move cap.
    u = int(rng.integers(1, max(1, min(round(450 * size * size / 361), max_moves - 1)) + 1))
    board = Board(size, komi=cfg.game.komi)
    sample = None
    while not board.is_game_over and board.move_number < max_moves:
        number = board.move_number + 1
        planes = alphago_planes(board)
        if number < u:
            move = sample_policy_move(sl, board, planes, rng)
        elif number == u:
            legal = [int(a) for a in board.legal_moves() if a != size * size]
            move = int(rng.choice(legal)) if legal else size * size
        else:
            move = sample_policy_move(rl, board, planes, rng)
        _play(board, move, planes)
        if number == u:
            sample = (alphago_planes(board, value=True).astype(bool), board.to_play)
    if sample is None:  # the game ended before move U: the final position is the sample
        sample = (alphago_planes(board, value=True).astype(bool), board.to_play)
    margin = board.score("area").margin
    winner = BLACK if margin > 0 else WHITE if margin < 0 else 0
    z = 0.0 if winner == 0 else (1.0 if winner == sample[1] else -1.0)
    samples = {"planes": sample[0][None], "value": np.array([z], np.float32)}
    return _finish(context, board, game_id, samples, start, {"u": u})


def policy_pool_fields(size: int) -> dict[str, tuple[tuple[int, ...], str]]:
    return {"planes": ((48, size, size), "bool"), "policy": ((size * size + 1,), "float32"), "value": ((), "float32")}


def value_data_fields(size: int) -> dict[str, tuple[tuple[int, ...], str]]:
    return {"planes": ((49, size, size), "bool"), "value": ((), "float32")}
