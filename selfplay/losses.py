"""Training losses for the learner, by name.

A loss is ``loss(model, batch, config) -> (total, metrics)`` with ``batch`` a dict of torch
tensors (the replay buffer's fields) and ``metrics`` a dict of floats. The learner knows nothing
else, so other stages (the AlphaGo RL policy's REINFORCE, value regression) add their own.

``alphazero`` (Silver et al. 2017, Methods, eq. 1): l = (z - v)^2 - pi^T log p + c ||theta||^2.
The L2 term is the optimizer's weight decay (``learner.weight_decay``), not part of this sum;
``value_weight`` scales the value term (1 in the paper).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .config import SelfPlayConfig

Loss = Callable[[torch.nn.Module, dict[str, torch.Tensor], SelfPlayConfig], tuple[torch.Tensor, dict[str, float]]]


def alphazero_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor],
                   config: SelfPlayConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """Policy cross-entropy against the visit distribution plus value MSE against the outcome."""
    planes = batch["planes"].float()  # [B, 17, N, N]
    target_policy = batch["policy"]  # [B, N*N+1], rows sum to 1
    target_value = batch["value"]  # [B]
    logits, value = model(planes)  # [B, N*N+1], [B]
    policy_loss = -(target_policy * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    value_loss = F.mse_loss(value, target_value)
    total = policy_loss + config.learner.value_weight * value_loss
    total_value, policy_value, value_value = total.item(), policy_loss.item(), value_loss.item()
    with torch.no_grad():
        entropy = -(target_policy * torch.log(target_policy.clamp_min(1e-12))).sum(dim=1).mean()
    return total, {
        "loss": total_value,
        "policy_loss": policy_value,
        "value_loss": value_value,
        "policy_kl": policy_value - entropy.item(),  # cross-entropy minus the targets' entropy
    }


LOSSES: dict[str, Loss] = {
    "alphazero": alphazero_loss,
}
