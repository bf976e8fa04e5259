"""tenuki.selfplay.alphago: AlphaGo's reinforcement-learning stages on the self-play actors (Silver et
al. 2016, Methods), and the measurements the paper reports for them.

Parts:

================  =====================================================================================
``games``         two game generators of ``tenuki.selfplay.games.GAME_GENERATORS``: ``policy_pool_game``
                  (the RL policy against a pool of its earlier versions) and ``value_data_game`` (one
                  position a game for the value network), and their batch forms ``policy_pool_games`` /
                  ``value_data_games`` (games in lockstep, ``BATCH_GENERATORS``);
                  ``sample_policy_move(s)``; their replay fields
``policy_match``  two policy networks sampling moves against each other (RL vs SL): the part's
                  ``policy_match`` function (exported as the module: the function shares its name)
``value_eval``    ``evaluate_value_run``: a value network's train / test MSE (``ValueEvalError``)
================  =====================================================================================

Every part imports numpy and numba at most; torch and Ray load inside the functions that need them.
Modules of this package import each other by their defining module, never through this face.
"""

from __future__ import annotations

from tenuki.selfplay.alphago import policy_match
from tenuki.selfplay.alphago.games import (
    policy_pool_fields,
    policy_pool_game,
    policy_pool_games,
    sample_policy_move,
    sample_policy_moves,
    value_data_fields,
    value_data_game,
    value_data_games,
)
from tenuki.selfplay.alphago.value_eval import ValueEvalError, evaluate_value_run, value_mse

__all__ = [
    "ValueEvalError",
    "evaluate_value_run",
    "policy_match",
    "policy_pool_fields",
    "policy_pool_game",
    "policy_pool_games",
    "sample_policy_move",
    "sample_policy_moves",
    "value_data_fields",
    "value_data_game",
    "value_data_games",
    "value_mse",
]
