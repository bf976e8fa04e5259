"""Two policy networks playing each other by sampling their moves (``tenuki eval policy-match``).

Silver et al. (2016) measure the RL policy against the SL policy this way: each network samples
its move from its softmax over the sensible moves (no search), and the RL policy wins 80% of the
games. Here a game is ``tenuki.selfplay.alphago.games.policy_pool_game`` (a chunk of them played together) with ``policy`` as the current
player and ``opponent`` as the pool opponent: the colour of ``policy`` is drawn at random in each
game, both sides pass when no sensible move is left, and the board is scored by area. Games run
as Ray tasks (embedded local Ray by default), seeded ``seed * 1_000_003 + game``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np


def _config(size: int, komi: float, max_moves: int) -> Any:
    from tenuki.selfplay.config import config_from_dict

    return config_from_dict({
        "game": {"size": size, "komi": komi, "max_moves": max_moves},
        "network": {"architecture": "alphago_policy"},
        "workers": {"game_generator": "policy_pool"},
        "learner": {"loss": "reinforce"},
        "evaluator": {"every_versions": 0, "gnugo_every_versions": 0},
    })


def _play(policy: str, opponent: str, size: int, komi: float, max_moves: int, seeds: list[int]) -> list[dict]:
    """Play the games of ``seeds`` in this process; one dict per game."""
    import torch

    from tenuki.agents.go.evaluator import TorchEvaluator
    from tenuki.agents.go.networks.checkpoint import load_checkpoint
    from tenuki.selfplay.alphago.games import policy_pool_games
    from tenuki.selfplay.games import GameContext

    torch.set_num_threads(1)
    config = _config(size, komi, max_moves)
    evaluators = [TorchEvaluator(load_checkpoint(path, architecture="alphago_policy")[0]) for path in (policy, opponent)]
    contexts = [GameContext(config, evaluators[0], version=0, opponent=evaluators[1], opponent_version=-1)
                for _ in seeds]
    records = policy_pool_games(contexts, [int(seed) for seed in seeds], [int(seed) for seed in seeds])
    return [{"z": record.extra["z"], "colour": record.extra["colour"], "moves": record.moves,
             "result": record.result} for record in records]


def policy_match(policy: str | Path, opponent: str | Path, games: int = 200, size: int = 19, komi: float = 7.5,
                 max_moves: int = 0, seed: int = 0, chunk: int = 10) -> dict[str, Any]:
    """Win rate of ``policy`` against ``opponent`` over ``games`` sampled games (module docstring)."""
    import ray

    from tenuki.agents.go.networks.checkpoint import load_checkpoint

    if games < 1:
        raise ValueError(f"games must be >= 1 (got {games})")
    for path in (policy, opponent):  # a bad checkpoint fails here, before any game starts
        model, _ = load_checkpoint(path, architecture="alphago_policy")
        if model.board_size != size:
            raise ValueError(f"{path} is a {model.board_size}x{model.board_size} network, not {size}x{size}")
    max_moves = max_moves or 2 * size * size
    task = ray.remote(num_cpus=1)(_play)
    seeds = [seed * 1_000_003 + g for g in range(games)]
    refs = [task.remote(str(policy), str(opponent), size, komi, max_moves, seeds[i:i + chunk])
            for i in range(0, games, chunk)]
    results = [game for part in ray.get(refs) for game in part]
    z = np.array([r["z"] for r in results])
    wins, losses = int((z > 0).sum()), int((z < 0).sum())
    rate = (wins + 0.5 * (len(z) - wins - losses)) / len(z)
    black = np.array([r["colour"] == 1 for r in results])
    return {
        "policy": str(policy), "opponent": str(opponent), "games": len(z), "wins": wins, "losses": losses,
        "draws": len(z) - wins - losses, "win_rate": round(rate, 4),
        "ci95": round(1.96 * math.sqrt(max(rate * (1 - rate), 1e-12) / len(z)), 4),
        "win_rate_as_black": round(float((z[black] > 0).mean()), 4) if black.any() else None,
        "win_rate_as_white": round(float((z[~black] > 0).mean()), 4) if (~black).any() else None,
        "mean_moves": round(float(np.mean([r["moves"] for r in results])), 1),
        "size": size, "komi": komi,
    }
