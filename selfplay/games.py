"""Game generators: what a self-play worker plays, and the training samples a game yields.

A generator is ``generate(context, game_id, seed) -> GameRecord`` where ``context`` is a
``GameContext`` (the config, an evaluator of the current weights, the weight version). Workers
know nothing else about the game, so other stages (the AlphaGo RL policy against a pool, value
data, Atari actors) register their own generator in ``GAME_GENERATORS``.

``alphazero`` (Silver et al. 2017 / 2018, with KataGo's playout cap randomization, Wu 2019):

- every move is searched with PUCT: a full search (``search.visits``, Dirichlet noise at the root)
  with probability ``full_probability``, else a cheap one (``cap_visits``, no noise); only full
  searches become training samples (their visit distribution is the policy target);
- before move ``pass_after_move`` (default 0.4 N^2) the searches do not consider passing unless
  the opponent just passed (``tenuki.search.puct.collect_leaves``: a tiny run otherwise learns to pass
  from the first move, see there);
- moves are sampled in proportion to visits (temperature 1) for the first ``temperature_moves``
  moves, then the most visited move is played;
- a side resigns when its root winrate falls below ``resign_threshold`` (after
  ``resign_min_moves``), except in the ``resign_disabled_fraction`` of games that are played out:
  there the first move at which each side *would* have resigned is noted, and a resignation that
  the game's result contradicts is a false positive;
- the value target z of a sample is +1 if the side to move at that position won, -1 if it lost,
  blended with tanh(margin / score_scale) when ``search.score_weight`` > 0 (score utility),
  0 for a draw (Tromp-Taylor area count, or the resignation).

Samples (``GameRecord.samples``): ``planes`` uint8[P, 17, N, N] (the AlphaZero planes, 0/1),
``policy`` float32[P, N*N+1], ``value`` float32[P]; with ``learner.ownership_weight`` > 0 also
KataGo's ownership target ``ownership`` int8[P, N*N] (the final Tromp-Taylor area owner of each
point: +1 the side to move at that position, -1 the opponent, 0 neutral) and ``ownership_valid``
float32[P] (0 in a resigned game, whose final position says nothing about ownership).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tenuki.envs.go.board import Board
from tenuki.envs.go.features import PlaneHistory, alphazero_planes
from tenuki.envs.go.layout import BLACK, WHITE
from tenuki.search.mcts import MCTS
from tenuki.search.settings import MCTSConfig, pass_min_move, search_params
from tenuki.selfplay.config import SelfPlayConfig


@dataclass
class GameRecord:
    """A finished game as it travels from a worker to the replay buffer (by value)."""

    game_id: int
    version: int  # the weight version the game was played with
    samples: dict[str, np.ndarray]  # field -> [P, ...]
    moves: int = 0
    winner: int = 0  # BLACK (1), WHITE (2) or 0 (draw)
    result: str = ""  # SGF RE, e.g. "B+R", "W+3.5", "0"
    resigned: bool = False
    resign_disabled: bool = False
    would_resign: dict[int, int] = field(default_factory=dict)  # colour -> first move it would have resigned
    seconds: float = 0.0
    worker: int = -1
    sgf: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_samples(self) -> int:
        return int(next(iter(self.samples.values())).shape[0]) if self.samples else 0

    def false_positive(self) -> bool | None:
        """In a played-out game: True when a side that would have resigned won after all; None when
        no side would have resigned (or resignation was on)."""
        if not self.resign_disabled or not self.would_resign:
            return None
        return any(color == self.winner for color in self.would_resign)


@dataclass
class GameContext:
    config: SelfPlayConfig
    evaluator: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    version: int
    worker: int = -1
    resign_threshold: float | None = None  # the coordinator's current threshold (None: the config's)
    keep_sgf: bool = False
    state: dict[str, Any] = field(default_factory=dict)  # per-worker caches (searchers, buffers)
    opponent: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None  # from the opponent pool
    opponent_version: int = -1


def _result_string(winner: int, margin: float | None, resigned: bool) -> str:
    if winner == 0:
        return "0"
    letter = "B" if winner == BLACK else "W"
    if resigned:
        return f"{letter}+R"
    return f"{letter}+{abs(margin):g}"


def pass_after_move(config: SelfPlayConfig) -> int:
    """The move number from which self-play searches consider passing (before it only after a pass)."""
    return pass_min_move(config.search, config.game.size)


def selfplay_search_params(config: SelfPlayConfig, seed: int) -> MCTSConfig:
    """The settings of a self-play game's searches: a full search (``search.visits``, root noise
    ``search.dirichlet_weight``); a capped one asks ``MCTS.run`` for ``cap_visits`` and no noise."""
    return search_params(config.search, config.game.size, seed=seed)


def alphazero_game(context: GameContext, game_id: int, seed: int) -> GameRecord:
    """One self-play game with PUCT search (see the module docstring)."""
    cfg = context.config
    sc = cfg.search
    size, komi = cfg.game.size, cfg.game.komi
    max_moves = cfg.game.max_moves or 2 * size * size
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    searcher = MCTS(context.evaluator, selfplay_search_params(cfg, seed=int(rng.integers(1 << 62))))
    board = Board(size, komi=komi)
    history = PlaneHistory(size, board.stones(), capacity=max_moves + 2)
    threshold = sc.resign_threshold if context.resign_threshold is None else context.resign_threshold
    resign_on = threshold > 0 and rng.random() >= sc.resign_disabled_fraction
    num_actions = size * size + 1
    planes_out: list[np.ndarray] = []
    policy_out: list[np.ndarray] = []
    player_out: list[int] = []
    would_resign: dict[int, int] = {}
    resigned_by = 0
    while not board.is_game_over and board.move_number < max_moves:
        full = bool(rng.random() < sc.full_probability)
        # playout cap randomization: a capped search has neither the full budget nor root noise
        result = searcher.run(board, sc.visits if full else sc.cap_visits, root_noise=None if full else 0.0)
        if result.visits.size == 0:
            break
        best = int(np.argmax(result.visits))
        winrate = (result.q[best] + 1.0) / 2.0
        if threshold > 0 and board.move_number >= sc.resign_min_moves and np.isfinite(winrate) \
                and winrate < threshold:
            if resign_on:
                resigned_by = board.to_play
                break
            would_resign.setdefault(board.to_play, board.move_number)
        if full:
            target = np.zeros(num_actions, np.float32)
            target[result.actions] = result.visits / max(result.visits.sum(), 1)
            planes_out.append(alphazero_planes(history, board.to_play).astype(np.uint8))
            policy_out.append(target)
            player_out.append(board.to_play)
        if board.move_number < sc.temperature_moves:
            weights = result.visits.astype(np.float64) ** (1.0 / sc.temperature)
            action = int(result.actions[rng.choice(weights.size, p=weights / weights.sum())])
        else:
            action = int(result.actions[best])
        board.play(action)
        history.push(board.stones())
        if sc.tree_reuse:
            searcher.advance(action)
    owner = None
    if resigned_by:
        winner, margin = 3 - resigned_by, None
    else:
        score = board.score("area")
        margin, owner = float(score.margin), score.owner.reshape(-1)
        winner = BLACK if margin > 0 else WHITE if margin < 0 else 0
    result_text = _result_string(winner, margin, bool(resigned_by))
    players = np.asarray(player_out, np.int64)
    values = np.where(winner == 0, 0.0, np.where(players == winner, 1.0, -1.0))
    if sc.score_weight > 0 and margin is not None:  # KataGo's score utility (see tenuki.selfplay.config)
        own_margin = np.where(players == BLACK, margin, -margin)
        values = (1 - sc.score_weight) * values + sc.score_weight * np.tanh(own_margin / (sc.score_scale or size))
    values = values.astype(np.float32)
    samples = {
        "planes": np.stack(planes_out) if planes_out else np.zeros((0, 17, size, size), np.uint8),
        "policy": np.stack(policy_out) if policy_out else np.zeros((0, num_actions), np.float32),
        "value": values.reshape(-1),
    }
    if cfg.learner.ownership_weight > 0:
        samples.update(ownership_targets(owner, players, size))
    sgf = None
    if context.keep_sgf:
        from tenuki.envs.go.sgf import record_from_board, write_sgf

        sgf = write_sgf(record_from_board(board, result=result_text, black_name=f"tenuki v{context.version}",
                                          white_name=f"tenuki v{context.version}", rules="Chinese"))
    return GameRecord(game_id=game_id, version=context.version, samples=samples, moves=board.move_number,
                      winner=winner, result=result_text, resigned=bool(resigned_by),
                      resign_disabled=not resign_on, would_resign=would_resign,
                      seconds=time.perf_counter() - start, worker=context.worker, sgf=sgf)


def ownership_targets(owner: np.ndarray | None, players: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """KataGo's ownership targets for samples whose side to move is ``players`` int[P]: ``owner``
    int8[N*N] holds the final area owner of each point (BLACK, WHITE or 0), None after a
    resignation (the targets are then zero and marked invalid)."""
    count = players.shape[0]
    if owner is None:
        return {"ownership": np.zeros((count, size * size), np.int8), "ownership_valid": np.zeros(count, np.float32)}
    owner = np.asarray(owner, np.int64)[None, :]  # [1, N*N]
    mover = players.astype(np.int64)[:, None]  # [P, 1]
    target = np.where(owner == mover, 1, np.where(owner == 3 - mover, -1, 0)) * (owner > 0)
    return {"ownership": target.astype(np.int8), "ownership_valid": np.ones(count, np.float32)}


GameGenerator = Callable[[GameContext, int, int], GameRecord]


def alphazero_fields(size: int, ownership: bool = False) -> dict[str, tuple[tuple[int, ...], str]]:
    fields = {"planes": ((17, size, size), "bool"), "policy": ((size * size + 1,), "float32"),
              "value": ((), "float32")}
    if ownership:
        fields.update({"ownership": ((size * size,), "int8"), "ownership_valid": ((), "float32")})
    return fields


def _alphago(name: str):
    def generate(context: GameContext, game_id: int, seed: int) -> GameRecord:
        from tenuki.selfplay.alphago import games as alphago_games

        return getattr(alphago_games, name)(context, game_id, seed)

    return generate


def _alphago_fields(name: str):
    def fields(size: int) -> dict[str, tuple[tuple[int, ...], str]]:
        from tenuki.selfplay.alphago import games as alphago_games

        return getattr(alphago_games, name)(size)

    return fields


BatchGenerator = Callable[[list[GameContext], list[int], list[int]], list[GameRecord]]


def _alphago_batch(name: str):
    def generate(contexts: list[GameContext], game_ids: list[int], seeds: list[int]) -> list[GameRecord]:
        from tenuki.selfplay.alphago import games as alphago_games

        return getattr(alphago_games, name)(contexts, game_ids, seeds)

    return generate


GAME_GENERATORS: dict[str, GameGenerator] = {
    "alphazero": alphazero_game,
    "policy_pool": _alphago("policy_pool_game"),  # AlphaGo's RL policy (tenuki.selfplay.alphago.games)
    "value_data": _alphago("value_data_game"),  # AlphaGo's value-network data
}

# Generators that play a task's games together (one network batch a move across the games); the
# others play them one after another (``play_games``).
BATCH_GENERATORS: dict[str, BatchGenerator] = {
    "policy_pool": _alphago_batch("policy_pool_games"),
    "value_data": _alphago_batch("value_data_games"),
}


def play_games(name: str, contexts: list[GameContext], game_ids: list[int], seeds: list[int]) -> list[GameRecord]:
    """The games of one worker task with generator ``name``: together where it has a batch form
    (``BATCH_GENERATORS``), else one after another; ``contexts[i]`` goes with ``game_ids[i]``, ``seeds[i]``."""
    if name in BATCH_GENERATORS:
        return BATCH_GENERATORS[name](contexts, game_ids, seeds)
    generate = GAME_GENERATORS[name]
    return [generate(context, int(game_id), int(seed)) for context, game_id, seed in zip(contexts, game_ids, seeds, strict=True)]


SAMPLE_FIELDS: dict[str, Callable[[int], dict[str, tuple[tuple[int, ...], str]]]] = {
    "alphazero": alphazero_fields,
    "policy_pool": _alphago_fields("policy_pool_fields"),
    "value_data": _alphago_fields("value_data_fields"),
}


def sample_fields(config: SelfPlayConfig) -> dict[str, tuple[tuple[int, ...], str]]:
    """The replay buffer's fields for a config: name -> (shape of one sample, dtype)."""
    if config.workers.game_generator == "alphazero":
        return alphazero_fields(config.game.size, ownership=config.learner.ownership_weight > 0)
    return SAMPLE_FIELDS[config.workers.game_generator](config.game.size)
