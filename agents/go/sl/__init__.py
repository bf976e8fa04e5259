"""tenuki.agents.go.sl: supervised training on expert games. AlphaGo's policy network p_sigma
(``tenuki train sl-policy``) and, as a deviation, a value network v_theta on the games' results
(``tenuki train sl-value``); the accuracy of a checkpoint on real games (``tenuki eval policy``).

Silver et al. 2016, Methods, "Supervised learning of policy networks": positions of strong human
games, the 48 feature planes (``tenuki.agents.go.features``), a random one of the 8 symmetries, the
log-likelihood of the human move maximised by SGD. ``target: value`` trains v_theta (49 planes, tanh
output) by MSE on the result of each game for the side to move, on one random position of each game
an epoch, where the paper generated its value data by self-play (the reasons are in ``data``).

Parts:

============  =======================================================================================
``config``    ``SLConfig`` and its sections (``DataSection``, ``NetworkSection``, ``OptimSection``,
              ``TrainSection``), ``sl_config_from_dict``, ``load_sl_config``; no torch
``data``      the positions: ``validation_set`` (fixed, no symmetries) and ``training_batches``
              (shuffled, symmetry-augmented, optionally from DataLoader workers)
``metrics``   ``legal_mask`` / ``masked_logits`` (the policy's loss runs over the legal moves),
              ``policy_metrics``, ``evaluate_policy`` (loss, top-1, top-5), ``evaluate_value`` (MSE)
``trainer``   ``SLTrainer`` (a run directory: commit record, checkpoints, resume), ``train_sl_policy``
              (the loop: TensorBoard, metrics.jsonl, signals, budget), ``learning_rate``,
              ``build_optimizer``, ``he_initialise``, ``TrainingDiverged``
``evaluate``  ``evaluate_checkpoint``: a checkpoint's top-1 / top-5 / value MSE on SGF games,
              ``held_out_filter`` (the games a dataset kept for validation), ``EvaluationError``
============  =======================================================================================

Only ``config`` loads with the package; the other parts import torch and load on first use
(PEP 562 ``__getattr__``), so validating an SL config does not import torch. Modules of this package
import each other by their defining module, never through this face.
"""

from __future__ import annotations

from tenuki.agents.go.sl.config import (
    ARCHITECTURE,
    TARGETS,
    DataSection,
    NetworkSection,
    OptimSection,
    SLConfig,
    TrainSection,
    load_sl_config,
    sl_config_from_dict,
)
from tenuki.common.lazy import lazy_exports

# name -> defining module, imported when the name is first asked for (torch)
_LAZY = {
    "training_batches": "tenuki.agents.go.sl.data",
    "validation_set": "tenuki.agents.go.sl.data",
    "evaluate_policy": "tenuki.agents.go.sl.metrics",
    "evaluate_value": "tenuki.agents.go.sl.metrics",
    "legal_mask": "tenuki.agents.go.sl.metrics",
    "masked_logits": "tenuki.agents.go.sl.metrics",
    "policy_metrics": "tenuki.agents.go.sl.metrics",
    "CHECKPOINT_NAME": "tenuki.agents.go.sl.trainer",
    "TRAINER_FILE": "tenuki.agents.go.sl.trainer",
    "SLTrainer": "tenuki.agents.go.sl.trainer",
    "TrainingDiverged": "tenuki.agents.go.sl.trainer",
    "build_optimizer": "tenuki.agents.go.sl.trainer",
    "he_initialise": "tenuki.agents.go.sl.trainer",
    "learning_rate": "tenuki.agents.go.sl.trainer",
    "train_sl_policy": "tenuki.agents.go.sl.trainer",
    "PHASE_MOVES": "tenuki.agents.go.sl.evaluate",
    "PHASE_NAMES": "tenuki.agents.go.sl.evaluate",
    "EvaluationError": "tenuki.agents.go.sl.evaluate",
    "evaluate_checkpoint": "tenuki.agents.go.sl.evaluate",
    "held_out_filter": "tenuki.agents.go.sl.evaluate",
    "result_winner": "tenuki.agents.go.sl.evaluate",
}

__all__ = [
    "ARCHITECTURE",
    "CHECKPOINT_NAME",
    "PHASE_MOVES",
    "PHASE_NAMES",
    "TARGETS",
    "TRAINER_FILE",
    "DataSection",
    "EvaluationError",
    "NetworkSection",
    "OptimSection",
    "SLConfig",
    "SLTrainer",
    "TrainSection",
    "TrainingDiverged",
    "build_optimizer",
    "evaluate_checkpoint",
    "evaluate_policy",
    "evaluate_value",
    "he_initialise",
    "held_out_filter",
    "learning_rate",
    "legal_mask",
    "load_sl_config",
    "masked_logits",
    "policy_metrics",
    "result_winner",
    "sl_config_from_dict",
    "train_sl_policy",
    "training_batches",
    "validation_set",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
