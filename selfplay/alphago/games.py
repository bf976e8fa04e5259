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

Both are batch generators (``tenuki.selfplay.games.BATCH_GENERATORS``): a worker's task of
``workers.games_per_task`` games is played in lockstep, one move of every unfinished game per step,
so each network sees one batch of positions a step instead of one position a call (the policy
forward pass is most of a game's time; ``bench/alphago_selfplay.py`` measures the gain). Each game
draws from its own generator only, in the order it would alone, so a game is the same whatever batch
it is played in -- up to the network's rounding, which may differ with the batch size (bfloat16 on the
workers' fast path): a sampled move can then change and the game go another way. ``GameRecord.seconds``
of a batched game runs from the batch's start to the game's end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tenuki.envs.go.alphago_planes import P_SENSIBLE, alphago_planes
from tenuki.envs.go.board import BLACK, WHITE, Board, IllegalMoveError
from tenuki.search.mcts import Evaluator
from tenuki.selfplay.games import GameContext, GameRecord, _result_string


def _sensible(planes: np.ndarray) -> np.ndarray:
    return planes[P_SENSIBLE].reshape(-1).astype(bool)


def _sample(logits: np.ndarray, sensible: np.ndarray, rng: np.random.Generator, temperature: float) -> int:
    """A move drawn from the softmax of ``logits`` over the ``sensible`` points."""
    n2 = sensible.size
    scores = np.where(sensible, logits[:n2] / temperature, -np.inf)
    scores -= scores.max()
    p = np.exp(scores)
    return int(rng.choice(n2, p=p / p.sum()))


def sample_policy_moves(evaluator: Evaluator, planes: list[np.ndarray], rngs: list[np.random.Generator],
                        temperature: float = 1.0) -> list[int]:
    """One move per position, each sampled with its own generator from the network's softmax over
    the sensible moves (pass where none is left); the positions with a sensible move go through the
    network in one batch. ``planes``: 48 (or 49) feature planes per position (the policy reads 48)."""
    sensible = [_sensible(p) for p in planes]
    moves = [sensible[i].size for i in range(len(planes))]  # pass (N * N) unless a sensible move is left
    asked = [i for i, s in enumerate(sensible) if s.any()]
    if asked:
        logits, _ = evaluator(np.stack([planes[i][:48] for i in asked]).astype(np.float32))
        for row, i in enumerate(asked):
            moves[i] = _sample(logits[row], sensible[i], rngs[i], temperature)
    return moves


def sample_policy_move(evaluator: Evaluator, board: Board, planes: np.ndarray, rng: np.random.Generator,
                       temperature: float = 1.0) -> int:
    """A move sampled from the network's softmax over the sensible moves; pass when none is left.
    ``planes``: the 48 (or 49) feature planes of ``board`` (the policy reads the first 48)."""
    return sample_policy_moves(evaluator, [planes], [rng], temperature)[0]


def _play(board: Board, move: int, planes: np.ndarray) -> int:
    """Play ``move``; a move the features call sensible may still break positional superko: then
    the lowest-numbered legal sensible move is played instead, and pass when none is left. Returns
    the move played."""
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


def _outcome(board: Board) -> tuple[float, int]:
    """The area margin for black of a finished game and its winner (BLACK, WHITE, 0 for a draw)."""
    margin = board.score("area").margin
    return margin, BLACK if margin > 0 else WHITE if margin < 0 else 0


def _finish(context: GameContext, board: Board, game_id: int, samples: dict[str, np.ndarray], seconds: float,
            extra: dict[str, Any], margin: float, winner: int) -> GameRecord:
    sgf = None
    if context.keep_sgf:
        from tenuki.envs.go.sgf import record_from_board

        sgf = record_from_board(board, result=_result_string(winner, margin, False), rules="Chinese",
                                black_name=f"tenuki v{context.version}", white_name=f"tenuki v{context.version}").to_sgf()
    return GameRecord(game_id=game_id, version=context.version, samples=samples, moves=board.move_number,
                      winner=winner, result=_result_string(winner, margin, False), seconds=seconds,
                      worker=context.worker, sgf=sgf, extra=extra)


@dataclass
class _Game:
    """One game of a lockstep batch: its context, its own random generator, its board, and what the
    generator keeps of it (``data``)."""

    context: GameContext
    game_id: int
    rng: np.random.Generator
    board: Board
    max_moves: int
    data: dict[str, Any]
    start: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0  # from the batch's start to this game's end (the other games' moves included)

    @property
    def playing(self) -> bool:
        return not self.board.is_game_over and self.board.move_number < self.max_moves


Pick = Callable[[_Game, int], "Evaluator | int"]
Played = Callable[[_Game, np.ndarray, int, int, int], None]


def _lockstep(games: list[_Game], pick: Pick, played: Played) -> None:
    """Plays ``games`` together, one move of every unfinished game per step, so the network sees one
    batch a step instead of one position. ``pick(game, number)`` gives the evaluator whose policy
    samples move ``number`` (games with the same evaluator share its batch), or the move itself;
    ``played(game, planes, number, mover, move)`` sees each move played. A game draws from its own
    generator only, in the order one game alone would, so a game is the same in any batch (up to the
    network's rounding at another batch size)."""
    pass_move = games[0].board.size ** 2 if games else 0
    active = [game for game in games if game.playing]
    while active:
        planes = [alphago_planes(game.board) for game in active]
        picks = [pick(game, game.board.move_number + 1) for game in active]
        moves = [pass_move] * len(active)
        groups: dict[int, list[int]] = {}
        for i, choice in enumerate(picks):
            if isinstance(choice, (int, np.integer)):
                moves[i] = int(choice)
            else:
                groups.setdefault(id(choice), []).append(i)
        for rows in groups.values():
            sampled = sample_policy_moves(picks[rows[0]], [planes[i] for i in rows], [active[i].rng for i in rows])
            for i, move in zip(rows, sampled, strict=True):
                moves[i] = move
        for game, game_planes, move in zip(active, planes, moves, strict=True):
            mover, number = game.board.to_play, game.board.move_number + 1
            played(game, game_planes, number, mover, _play(game.board, move, game_planes))
            if not game.playing:
                game.seconds = time.perf_counter() - game.start
        active = [game for game in active if game.playing]


def _check_batch(contexts: list[GameContext], game_ids: list[int], seeds: list[int]) -> None:
    if not (len(contexts) == len(game_ids) == len(seeds)):
        raise ValueError(f"{len(contexts)} contexts, {len(game_ids)} game ids and {len(seeds)} seeds: a batch needs "
                         "one context, game id and seed per game")
    if any(context.config is not contexts[0].config for context in contexts):
        raise ValueError("the games of one batch must share one config object")


def _new_games(contexts: list[GameContext], game_ids: list[int], seeds: list[int]) -> list[_Game]:
    _check_batch(contexts, game_ids, seeds)
    games = []
    for context, game_id, seed in zip(contexts, game_ids, seeds, strict=True):
        cfg = context.config
        size = cfg.game.size
        games.append(_Game(context, int(game_id), np.random.default_rng(seed), Board(size, komi=cfg.game.komi),
                           cfg.game.max_moves or 2 * size * size, {}))
    return games


def policy_pool_games(contexts: list[GameContext], game_ids: list[int], seeds: list[int]) -> list[GameRecord]:
    """Games of the current policy against a pool opponent (see the module docstring), played in one
    lockstep batch; game ``i`` has ``contexts[i]`` (the same config and networks for all),
    ``game_ids[i]`` and ``seeds[i]``, and is the game ``policy_pool_game`` plays with them."""
    games = _new_games(contexts, game_ids, seeds)
    for game in games:
        me = BLACK if game.rng.random() < 0.5 else WHITE
        context = game.context
        game.data.update(me=me, players={me: context.evaluator, 3 - me: context.opponent or context.evaluator},
                         planes=[], actions=[])

    def pick(game: _Game, number: int) -> Evaluator:
        return game.data["players"][game.board.to_play]

    def played(game: _Game, planes: np.ndarray, number: int, mover: int, move: int) -> None:
        if mover == game.data["me"] and move != game.board.size ** 2:
            game.data["planes"].append(planes.astype(bool))
            game.data["actions"].append(move)

    _lockstep(games, pick, played)
    records = []
    for game in games:
        size, me = game.board.size, game.data["me"]
        margin, winner = _outcome(game.board)
        z = 0.0 if winner == 0 else (1.0 if winner == me else -1.0)
        actions = game.data["actions"]
        count = len(actions)
        policy = np.zeros((count, size * size + 1), np.float32)
        policy[np.arange(count), actions] = 1.0
        samples = {
            "planes": np.asarray(game.data["planes"], bool).reshape(count, 48, size, size),
            "policy": policy,
            "value": np.full(count, z, np.float32),
        }
        extra = {"colour": me, "opponent_version": game.context.opponent_version, "z": z}
        records.append(_finish(game.context, game.board, game.game_id, samples, game.seconds, extra, margin, winner))
    return records


def policy_pool_game(context: GameContext, game_id: int, seed: int) -> GameRecord:
    """One game of the current policy against a pool opponent (see the module docstring)."""
    return policy_pool_games([context], [game_id], [seed])[0]


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


def value_data_games(contexts: list[GameContext], game_ids: list[int], seeds: list[int]) -> list[GameRecord]:
    """Value-network samples (SL policy to move U-1, a random move U, RL policy to the end), one a
    game, the games played in one lockstep batch; game ``i`` is the game ``value_data_game`` plays
    with ``contexts[i]``, ``game_ids[i]``, ``seeds[i]``."""
    _check_batch(contexts, game_ids, seeds)  # before any network loads
    if not contexts:
        return []
    context = contexts[0]
    wc = context.config.workers
    sl = _fixed_policy(context, "sl_policy", wc.sl_policy)  # loaded before the games' clocks start
    rl = _fixed_policy(context, "rl_policy", wc.rl_policy) if wc.rl_policy else sl
    games = _new_games(contexts, game_ids, seeds)
    for game in games:
        size = game.board.size
        # The paper: U ~ unif{1, 450} on 19x19; scaled to the board, and before the move cap.
        top = max(1, min(round(450 * size * size / 361), game.max_moves - 1))
        game.data.update(u=int(game.rng.integers(1, top + 1)), sample=None)

    def pick(game: _Game, number: int) -> Evaluator | int:
        u = game.data["u"]
        if number < u:
            return sl
        if number > u:
            return rl
        board = game.board
        legal = [int(a) for a in board.legal_moves() if a != board.size ** 2]
        return int(game.rng.choice(legal)) if legal else board.size ** 2

    def played(game: _Game, planes: np.ndarray, number: int, mover: int, move: int) -> None:
        if number == game.data["u"]:
            game.data["sample"] = (alphago_planes(game.board, value=True).astype(bool), game.board.to_play)

    _lockstep(games, pick, played)
    records = []
    for game in games:
        board = game.board
        sample = game.data["sample"]
        if sample is None:  # the game ended before move U: the final position is the sample
            sample = (alphago_planes(board, value=True).astype(bool), board.to_play)
        margin, winner = _outcome(board)
        z = 0.0 if winner == 0 else (1.0 if winner == sample[1] else -1.0)
        samples = {"planes": sample[0][None], "value": np.array([z], np.float32)}
        records.append(_finish(game.context, board, game.game_id, samples, game.seconds, {"u": game.data["u"]}, margin,
                               winner))
    return records


def value_data_game(context: GameContext, game_id: int, seed: int) -> GameRecord:
    """One value-network sample: SL policy to move U-1, a random move U, RL policy to the end."""
    return value_data_games([context], [game_id], [seed])[0]


def policy_pool_fields(size: int) -> dict[str, tuple[tuple[int, ...], str]]:
    return {"planes": ((48, size, size), "bool"), "policy": ((size * size + 1,), "float32"), "value": ((), "float32")}


def value_data_fields(size: int) -> dict[str, tuple[tuple[int, ...], str]]:
    return {"planes": ((49, size, size), "bool"), "value": ((), "float32")}
