"""Autoencoders of the lecture: the model, the loss of the slide, masking noise, greedy stacking.

Notation (lecture, "Autoencoders"; Vincent et al., "Stacked denoising autoencoders", JMLR 2010):
encoder h = f(x) = sigmoid(W x + b), decoder r = g(h) = sigmoid(W' h + b'); a deep autoencoder chains
several sigmoid layers each way. A denoising autoencoder sees a corrupted x~ and must reconstruct the
clean x. The loss of the lecture's slide, per mini-batch of B examples:

    L = 1/B sum_b ||x_b - g(f(x~_b))||^2  +  lambda * sum_l ||W_l||_F^2          (1)

(squared reconstruction error summed over the 784 pixels, plus lambda times the squared Frobenius norm
of every weight matrix, encoder and decoder; biases are not penalised). Corruption is Vincent et al.'s
masking noise: each input component is set to 0 with probability ``noise`` (0.3 = "30% noise").
Deviation from the paper: weights are untied (W' is learnt, not W^T) and training uses Adam.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Autoencoder(nn.Module):
    """Sigmoid autoencoder with encoder sizes ``[input, hidden_1, ..., code]``; the decoder mirrors them.

    ``linear_code``: the code layer is linear instead of sigmoid, as in Hinton & Salakhutdinov's deep
    autoencoders (Science 2006); sigmoid code units of a small code stall for many epochs at the mean image.
    """

    def __init__(self, sizes: list[int], linear_code: bool = False) -> None:
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"an autoencoder needs at least [input, code] sizes; got {sizes}")
        self.sizes = list(sizes)
        self.linear_code = linear_code
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(sizes))
        back = sizes[::-1]
        self.decoder = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(back))

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # [B, sizes[0]] -> [B, sizes[-1]]
        for depth, layer in enumerate(self.encoder):
            x = layer(x)
            if not (self.linear_code and depth == len(self.encoder) - 1):
                x = torch.sigmoid(x)
        return x

    def decode(self, h: torch.Tensor) -> torch.Tensor:  # [B, sizes[-1]] -> [B, sizes[0]]
        for layer in self.decoder:
            h = torch.sigmoid(layer(h))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def weight_matrices(self) -> list[torch.Tensor]:
        return [layer.weight for layer in [*self.encoder, *self.decoder]]


def lecture_loss(model: Autoencoder, clean: torch.Tensor, reconstruction: torch.Tensor,
                 weight_penalty: float) -> torch.Tensor:
    """Equation (1): mean over the batch of the summed squared error + lambda * sum of ||W||_F^2."""
    squared_error = (reconstruction - clean).pow(2).sum(dim=1).mean()
    frobenius = sum(w.pow(2).sum() for w in model.weight_matrices())
    return squared_error + weight_penalty * frobenius


def mask(x: torch.Tensor, noise: float, generator: torch.Generator) -> torch.Tensor:
    """Masking noise: every component of x [B, D] is zeroed with probability ``noise``."""
    if noise <= 0.0:
        return x
    keep = torch.rand(x.shape, generator=generator) >= noise
    return x * keep


def train_autoencoder(model: Autoencoder, data: torch.Tensor, noise: float, cfg: dict[str, Any], seed: int,
                      epochs: int, learning_rate: float) -> list[float]:
    """Minimise (1) with Adam on data [N, D] (corrupted with ``noise``); returns the mean loss per epoch."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(data), generator=generator)
        total = 0.0
        for start in range(0, len(data), cfg["batch_size"]):
            clean = data[order[start:start + cfg["batch_size"]]]
            loss = lecture_loss(model, clean, model(mask(clean, noise, generator)), cfg["weight_penalty"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(clean)
        losses.append(total / len(data))
    return losses


def reconstruction_error(model: Autoencoder, data: torch.Tensor, noise: float = 0.0, seed: int = 0) -> float:
    """Mean over images of the summed squared error ||x - g(f(x~))||^2 (x~ = x masked with ``noise``)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        return float((model(mask(data, noise, generator)) - data).pow(2).sum(dim=1).mean())


def filter_statistics(weights: np.ndarray, side: int = 28) -> dict[str, float]:
    """How local the first-layer filters are. weights [H, side*side] (one filter per row).

    - ``effective_pixels``: per filter 1 / sum_p q_p^2 with q = w^2 / ||w||^2 (the number of pixels its
      energy is spread over; 784 for a uniform filter), averaged over filters -- smaller is more local;
    - ``spatial_spread_pixels``: per filter the energy-weighted standard deviation of pixel positions
      around the filter's energy centroid, averaged -- smaller is more local;
    - ``energy_in_top_10pct_pixels``: the share of a filter's energy carried by its 78 strongest pixels;
    - ``roughness``: sum of squared differences of horizontally and vertically neighbouring weights over
      4 ||w||^2, averaged -- about 1 for white-noise filters, 0 for constant ones; smaller is smoother.
    """
    energy = weights.astype(np.float64) ** 2
    q = energy / energy.sum(axis=1, keepdims=True)  # [H, 784]
    rows, cols = np.divmod(np.arange(side * side), side)
    centre_r, centre_c = q @ rows, q @ cols
    spread = np.sqrt((q * ((rows[None] - centre_r[:, None]) ** 2 + (cols[None] - centre_c[:, None]) ** 2)).sum(1))
    top = np.sort(q, axis=1)[:, ::-1][:, :side * side // 10].sum(axis=1)
    images = weights.astype(np.float64).reshape(-1, side, side)
    differences = (np.diff(images, axis=1) ** 2).sum((1, 2)) + (np.diff(images, axis=2) ** 2).sum((1, 2))
    roughness = differences / (4.0 * energy.sum(axis=1))
    return {"effective_pixels": float((1.0 / (q ** 2).sum(axis=1)).mean()),
            "spatial_spread_pixels": float(spread.mean()),
            "energy_in_top_10pct_pixels": float(top.mean()), "roughness": float(roughness.mean())}


# --- stacked denoising autoencoder ---------------------------------------------------------------

def pretrain_stack(data: torch.Tensor, hidden: list[int], noise: float, cfg: dict[str, Any],
                   seed: int) -> list[nn.Linear]:
    """Greedy layer-wise pretraining (Vincent et al. 2010, section 3.5): layer k is a one-hidden-layer
    denoising autoencoder trained with (1) on the clean codes of layers 1..k-1; its encoder is kept."""
    layers: list[nn.Linear] = []
    codes = data
    for depth, size in enumerate(hidden):
        torch.manual_seed(seed + 1000 * depth)
        autoencoder = Autoencoder([codes.shape[1], size])
        train_autoencoder(autoencoder, codes, noise, cfg, seed + depth, cfg["pretrain_epochs"],
                          cfg["pretrain_learning_rate"])
        layers.append(autoencoder.encoder[0])
        with torch.no_grad():
            codes = autoencoder.encode(codes)
    return layers


def classifier(sizes: list[int], classes: int, pretrained: list[nn.Linear] | None = None) -> nn.Sequential:
    """sigmoid MLP sizes[0] -> sizes[1] -> ... -> classes (linear output), optionally initialised with
    the pretrained encoder layers (the output layer is always freshly initialised)."""
    modules: list[nn.Module] = []
    for index, (a, b) in enumerate(pairwise(sizes)):
        layer = nn.Linear(a, b)
        if pretrained is not None:
            layer.load_state_dict(pretrained[index].state_dict())
        modules += [layer, nn.Sigmoid()]
    modules.append(nn.Linear(sizes[-1], classes))
    return nn.Sequential(*modules)


def fine_tune(model: nn.Sequential, images: torch.Tensor, labels: torch.Tensor, cfg: dict[str, Any],
              seed: int) -> None:
    """Supervised training of every layer: cross-entropy + lambda_finetune * sum of ||W||_F^2, Adam."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["learning_rate"])
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    model.train()
    for _ in range(cfg["finetune_epochs"]):
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images), cfg["finetune_batch_size"]):
            batch = order[start:start + cfg["finetune_batch_size"]]
            loss = F.cross_entropy(model(images[batch]), labels[batch])
            loss = loss + cfg["finetune_weight_penalty"] * sum(w.pow(2).sum() for w in weights)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(images).argmax(1) == labels).float().mean())


def balanced_subset(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``per_class`` random examples of every class present in labels."""
    chosen = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in np.unique(labels)]
    return rng.permutation(np.concatenate(chosen))
