"""tenuki.agents.go.rollout: AlphaGo's rollout policy, a linear softmax over fast local features
(Silver et al. 2016, Methods "Rollout policy" and Extended Data Table 4), trained on expert moves and
applied in numba.

    p(a | s) = exp(w . phi(s, a)) / sum_b exp(w . phi(s, b))     over the candidate moves b

``phi`` is the sparse binary feature vector of ``features`` (hashed into one table ``w`` of
``2 ** table_bits`` float32 weights). Candidates are the empty points that are not suicide and not
the simple-ko point; pass is never a candidate. In playouts the player's own true eyes are also
excluded (so that playouts end), and a player left with no candidate passes.

Parts:

=============  ======================================================================================
``features``   the sparse local features phi(s, a) as numba kernels (``candidate_features``, the
               pattern hashes, ``MAX_FEATURES``); imported as a module, not re-exported here
``kernels``    numba kernels on any position, every candidate's features extracted:
               ``score_candidates``, ``policy_from_scratch``, ``rollout_move``, and their ``Workspace``
``playout``    the incremental playout (``playout_init`` / ``playout_choose`` / ``playout_step``):
               each point's exp(static score) is cached per colour and only the points a move disturbs
               are refreshed; the previous two moves' features multiply the points near them
``model``      ``RolloutPolicy`` (weights + hash seed; ``probabilities(board)``, ``sample(board)``,
               ``playouts(st, ...)`` with the contract of ``tenuki.envs.go.playout.playouts``,
               ``save`` / ``load``) and ``last_two_moves``
``weights``    the files, safetensors (one float32 tensor) + a JSON sidecar, written atomically,
               validated on load (``RolloutWeightsError`` names the file and the problem), never
               unpickled; the table-size limits
``train``      ``train_rollout(sources, out_path, games, val_games, epochs, lr, seed)`` (games split
               into train / validation by game; top-1 accuracy on non-pass expert moves) and the
               ``train_game`` kernel (one Adagrad step per position)
=============  ======================================================================================

numpy and numba only (no torch): this face loads every part. Modules of this package import each
other by their defining module, never through this face.
"""

from __future__ import annotations

from tenuki.agents.go.rollout.kernels import Workspace, policy_from_scratch, rollout_move, score_candidates
from tenuki.agents.go.rollout.model import RolloutPolicy, last_two_moves
from tenuki.agents.go.rollout.playout import playout_choose, playout_init, playout_step
from tenuki.agents.go.rollout.train import (
    Progress,
    held_out_games,
    read_games,
    run_games,
    split_games,
    train_game,
    train_rollout,
)
from tenuki.agents.go.rollout.weights import (
    DEFAULT_TABLE_BITS,
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_TABLE_BITS,
    MIN_TABLE_BITS,
    WEIGHTS_KEY,
    RolloutWeightsError,
    load_rollout_policy,
    rollout_paths,
    save_rollout_policy,
)

__all__ = [
    "DEFAULT_TABLE_BITS", "FORMAT_NAME", "FORMAT_VERSION", "MAX_TABLE_BITS", "MIN_TABLE_BITS", "WEIGHTS_KEY",
    "Progress", "RolloutPolicy", "RolloutWeightsError", "Workspace",
    "held_out_games", "last_two_moves", "load_rollout_policy", "playout_choose", "playout_init", "playout_step",
    "policy_from_scratch", "read_games", "rollout_move", "rollout_paths", "run_games", "save_rollout_policy",
    "score_candidates", "split_games", "train_game", "train_rollout",
]
