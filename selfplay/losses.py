"""Training losses for the learner, by name.

A loss is ``loss(model, batch, config) -> (total, metrics)`` with ``batch`` a dict of torch
tensors (the replay buffer's fields) and ``metrics`` a dict of floats. The learner knows nothing
else, so other stages (the AlphaGo RL policy's REINFORCE, value regression) add their own.

``alphazero`` (Silver et al. 2017, Methods, eq. 1): l = (z - v)^2 - pi^T log p + c ||theta||^2.
The L2 term is the optimizer's weight decay (``learner.weight_decay``), not part of this sum;
``value_weight`` scales the value term (1 in the paper). With ``learner.ownership_weight`` w > 0
the network's ownership head adds KataGo's auxiliary term (Wu 2019, eq. in section 4.1):
w / N^2 * sum over points of the cross-entropy between the predicted owner probability
(1 + tanh(logit)) / 2 and the final owner (1 + o) / 2, o in {-1, 0, +1} (KataGo uses w = 1.5).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from tenuki.selfplay.config import SelfPlayConfig

Loss = Callable[[torch.nn.Module, dict[str, torch.Tensor], SelfPlayConfig], tuple[torch.Tensor, dict[str, float]]]


def alphazero_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor],
                   config: SelfPlayConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """Policy cross-entropy against the visit distribution plus value MSE against the outcome."""
    planes = batch["planes"].float()  # [B, 17, N, N]
    target_policy = batch["policy"]  # [B, N*N+1], rows sum to 1
    target_value = batch["value"]  # [B]
    ownership_weight = config.learner.ownership_weight
    if ownership_weight > 0:
        logits, value, ownership_logits = model.forward_with_ownership(planes)  # [B, N*N+1], [B], [B, N*N]
    else:
        logits, value = model(planes)  # [B, N*N+1], [B]
    policy_loss = -(target_policy * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    value_loss = F.mse_loss(value, target_value)
    total = policy_loss + config.learner.value_weight * value_loss
    extra: dict[str, float] = {}
    if ownership_weight > 0:
        target = (batch["ownership"].float() + 1.0) / 2.0  # [B, N*N] in {0, 0.5, 1}
        per_point = F.binary_cross_entropy_with_logits(2.0 * ownership_logits, target, reduction="none")
        valid = batch["ownership_valid"].float()  # [B]
        ownership_loss = (per_point.mean(dim=1) * valid).sum() / valid.sum().clamp_min(1.0)
        total = total + ownership_weight * ownership_loss
        extra["ownership_loss"] = ownership_loss.item()
    total_value, policy_value, value_value = total.item(), policy_loss.item(), value_loss.item()
    with torch.no_grad():
        entropy = -(target_policy * torch.log(target_policy.clamp_min(1e-12))).sum(dim=1).mean()
    return total, {
        "loss": total_value,
        "policy_loss": policy_value,
        "value_loss": value_value,
        "policy_kl": policy_value - entropy.item(),  # cross-entropy minus the targets' entropy
        **extra,
    }


REINFORCE_LOG_P_FLOOR = -10.0


def reinforce_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor],
                   config: SelfPlayConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """AlphaGo's RL policy (Silver et al. 2016, Methods): ascend z * grad log p(a | s), the move
    ``a`` (one-hot ``policy``) chosen among the sensible moves (plane 46), z = +1 / -1 the outcome
    for the player who chose it. The mean of z over the batch is reported (its win rate is
    (1 + mean_z) / 2 in moves played).

    Deviation: a losing move whose log-probability is already below ``REINFORCE_LOG_P_FLOOR``
    (p < 4.5e-5) is not pushed further down. Without the floor, the replay window's slightly stale
    samples keep driving such logits with a gradient of size ~1 while the winning side's gradient
    vanishes as p -> 1; the weights of our unnormalised network grew until the loss reached -717
    and then NaN after ~500 steps (run of 2026-11-29)."""
    from tenuki.agents.go.features import P_SENSIBLE

    planes = batch["planes"].float()  # [B, 48, N, N]
    chosen = batch["policy"]  # [B, N*N+1], one-hot
    z = batch["value"]  # [B]
    logits = model(planes)  # [B, N*N+1]
    sensible = planes[:, P_SENSIBLE].flatten(1) > 0  # [B, N*N]
    mask = torch.cat((sensible, sensible.new_zeros(sensible.shape[0], 1)), dim=1) | (chosen > 0)
    log_p = F.log_softmax(logits.masked_fill(~mask, -1e9), dim=1)
    chosen_log_p = (chosen * log_p).sum(dim=1)  # [B]
    pushed = torch.where(z < 0, chosen_log_p.clamp_min(REINFORCE_LOG_P_FLOOR), chosen_log_p)
    total = -(z * pushed).mean()
    with torch.no_grad():
        p = log_p.exp()
        entropy = -(p * log_p.clamp_min(-1e4)).sum(dim=1).mean()
    return total, {"loss": total.item(), "policy_loss": -chosen_log_p.mean().item(), "mean_z": z.mean().item(),
                   "entropy": entropy.item()}


def value_mse_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor],
                   config: SelfPlayConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """AlphaGo's value network: mean squared error between v(s) and the outcome z (Silver et al.
    2016, Methods, "Reinforcement learning of value networks")."""
    value = model(batch["planes"].float())  # [B]
    loss = F.mse_loss(value, batch["value"])
    return loss, {"loss": loss.item(), "value_loss": loss.item()}


LOSSES: dict[str, Loss] = {
    "alphazero": alphazero_loss,
    "reinforce": reinforce_loss,
    "value_mse": value_mse_loss,
}
