"""The losses' masks and the validation figures of a supervised run.

The policy's loss is the cross-entropy of the human move over the legal moves: the feature planes say
which points are legal (``legal_mask``). The paper's softmax ran over every point; masking illegal
ones never changes the ranking of legal moves and speeds up early training. The policy is scored by
loss, top-1 and top-5 accuracy (``evaluate_policy``), the value network by the MSE against the
results, with the MSE of always answering 0 for scale (``evaluate_value``; its best checkpoint is the
lowest MSE).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tenuki.agents.go.features import P_LIBS_AFTER


def legal_mask(planes: torch.Tensor) -> torch.Tensor:
    """bool[B, N*N+1] of the legal moves read off the feature planes (a legal move has one of the
    "liberties after move" planes set); pass is always legal."""
    points = planes[:, P_LIBS_AFTER : P_LIBS_AFTER + 8].sum(dim=1).flatten(1) > 0
    return torch.cat((points, points.new_ones(points.shape[0], 1)), dim=1)


def masked_logits(logits: torch.Tensor, planes: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
    mask = legal_mask(planes)
    if actions is not None:  # a label the features call illegal (superko nuance) stays possible
        mask = mask.scatter(1, actions[:, None], True)
    return logits.masked_fill(~mask, -1e9)


def policy_metrics(logits: torch.Tensor, actions: torch.Tensor) -> dict[str, float]:
    top5 = logits.topk(5, dim=1).indices
    return {
        "top1": float((top5[:, 0] == actions).float().mean()),
        "top5": float((top5 == actions[:, None]).any(dim=1).float().mean()),
    }


@torch.no_grad()
def evaluate_policy(model: torch.nn.Module, planes: np.ndarray, actions: np.ndarray, batch_size: int = 256) -> dict[str, float]:
    """Loss, top-1 and top-5 accuracy of ``model`` on positions (legal moves only), on the model's device."""
    model.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    loss = top1 = top5 = 0.0
    for i in range(0, len(actions), batch_size):
        x = torch.from_numpy(planes[i : i + batch_size]).to(device).float()
        a = torch.from_numpy(actions[i : i + batch_size]).to(device)
        logits = masked_logits(model(x), x, a)
        loss += float(F.cross_entropy(logits, a, reduction="sum"))
        m = policy_metrics(logits, a)
        top1 += m["top1"] * len(a)
        top5 += m["top5"] * len(a)
    n = max(len(actions), 1)
    return {"loss": loss / n, "top1": top1 / n, "top5": top5 / n, "positions": len(actions)}


@torch.no_grad()
def evaluate_value(model: torch.nn.Module, planes: np.ndarray, values: np.ndarray, batch_size: int = 256) -> dict[str, float]:
    """MSE of ``model``'s value against the results, with the MSE of always answering 0 (the share
    of decided games) for scale."""
    model.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    total = 0.0
    for i in range(0, len(values), batch_size):
        x = torch.from_numpy(planes[i : i + batch_size]).to(device).float()
        z = torch.from_numpy(values[i : i + batch_size]).to(device).float()
        total += float(((model(x).float() - z) ** 2).sum())
    n = max(len(values), 1)
    return {"loss": total / n, "mse": total / n, "zero_mse": float(np.mean(np.square(values))) if len(values) else 0.0,
            "positions": len(values)}
