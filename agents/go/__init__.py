"""tenuki.agents.go: the Go agents. Networks and the evaluator that search calls, and the AlphaGo
pipeline's parts (Silver et al. 2016): input features, rollout policy, expert-game dataset, supervised
training.

Parts:

===============  =======================================================================================
``networks``     the networks by name (``AlphaZeroNet``, ``AlphaGoPolicyNet``, ``AlphaGoValueNet``),
                 ``build_network``, checkpoints (``save_checkpoint`` / ``load_checkpoint``)
``evaluator``    ``TorchEvaluator``: batched network calls behind search's ``Evaluator`` callback
                 (planes -> policy logits, values); ``fold_batch_norm``, ``combine_policy_value``,
                 ``fast_cpu_options``
``features``     AlphaGo's 48 (+1) input planes (``alphago_planes``, ``feature_fn``, ``NUM_PLANES``);
                 the kernels live in ``tenuki.envs.go.alphago_planes``
``rollout``      AlphaGo's fast rollout policy: linear softmax over local patterns, in numba
``dataset``      expert games as shards on disk and ``PositionStream``, the training-position loader
``sl``           supervised training of the policy / value networks on those positions, and a
                 checkpoint's accuracy on real games
``train_state``  optimizer state on disk as safetensors (``save_optimizer_state``,
                 ``load_optimizer_state``), shared by every trainer
``weights/``     the shipped weights (package data)
===============  =======================================================================================

Everything loads on first use (PEP 562 ``__getattr__``): ``rollout`` and ``dataset`` are numpy and
numba only, and importing them does not import torch through this face. Modules of this package import
each other by their defining module, never through this face.
"""

from __future__ import annotations

from tenuki.common.lazy import lazy_exports

# name -> defining module (a part: the module itself), imported when the name is first asked for
_LAZY = {
    "dataset": "tenuki.agents.go.dataset",
    "features": "tenuki.agents.go.features",
    "networks": "tenuki.agents.go.networks",
    "rollout": "tenuki.agents.go.rollout",
    "sl": "tenuki.agents.go.sl",
    "TorchEvaluator": "tenuki.agents.go.evaluator",
    "combine_policy_value": "tenuki.agents.go.evaluator",
    "fast_cpu_options": "tenuki.agents.go.evaluator",
    "fold_batch_norm": "tenuki.agents.go.evaluator",
    "apply_optimizer_state": "tenuki.agents.go.train_state",
    "load_optimizer_state": "tenuki.agents.go.train_state",
    "read_optimizer_state": "tenuki.agents.go.train_state",
    "save_optimizer_state": "tenuki.agents.go.train_state",
}

__all__ = [
    "TorchEvaluator",
    "apply_optimizer_state",
    "combine_policy_value",
    "dataset",
    "fast_cpu_options",
    "features",
    "fold_batch_norm",
    "load_optimizer_state",
    "networks",
    "read_optimizer_state",
    "rollout",
    "save_optimizer_state",
    "sl",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
