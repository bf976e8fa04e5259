"""The VQA network: CNN image encoder, GRU question encoder, element-wise product fusion, answer classifier.

image [B, 3, 64, 64] -> 4 x (3x3 conv, batch norm, ReLU, 2x2 max-pool) -> [B, C, 4, 4] -> linear -> ReLU -> f_img [B, D]
question word ids [Q, L] -> embedding -> GRU -> last state -> linear -> tanh -> f_q [Q, D]
p(answer) = softmax(MLP(f_img[image of q] * f_q))   (fusion by element-wise product, as in Antol et al. 2015)

Training goes image by image: a batch of images passes the CNN once and all their questions (about ten an
image) reuse its features, so the CNN costs one pass per image, not per question.
The question-only baseline is the same network with the image branch left out (MLP(f_q)).

Why ReLU (not tanh) on f_img: with tanh the yes/no questions (three quarters of the data, half of them
answerable from the question's wording alone) drove the image projection into saturation within the first
epoch, its gradient vanished, and the network stayed at the question-only accuracy (measured: colour
answers at chance after 8 epochs); with ReLU the image branch keeps learning.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


class ImageEncoder(nn.Module):
    def __init__(self, channels: tuple[int, ...], dim: int, batch_norm: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = 3
        for width in channels:
            layers += [nn.Conv2d(previous, width, 3, padding=1)]
            layers += [nn.BatchNorm2d(width)] if batch_norm else []
            layers += [nn.ReLU(), nn.MaxPool2d(2)]
            previous = width
        self.features = nn.Sequential(*layers)
        side = 64 // 2 ** len(channels)
        self.project = nn.Linear(previous * side * side, dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 or float images [B, 3, 64, 64] -> [B, dim]."""
        x = images.float() / 127.5 - 1.0 if images.dtype == torch.uint8 else images
        return torch.relu(self.project(self.features(x).flatten(1)))


class QuestionEncoder(nn.Module):
    def __init__(self, vocab: int, embed_dim: int, hidden: int, dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, embed_dim, padding_idx=0)
        self.rnn = nn.GRU(embed_dim, hidden, batch_first=True)
        self.project = nn.Linear(hidden, dim)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids [Q, L], lengths [Q] -> [Q, dim] (the GRU state after the last real word)."""
        packed = pack_padded_sequence(self.embed(ids), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, last = self.rnn(packed)
        return torch.tanh(self.project(last[0]))


class VqaNet(nn.Module):
    """``use_image=False`` is the question-only baseline."""

    def __init__(self, vocab: int, answers: int, channels: tuple[int, ...], embed_dim: int, hidden: int,
                 dim: int, use_image: bool = True, fusion: str = "product", batch_norm: bool = True) -> None:
        super().__init__()
        if fusion not in ("product", "concat"):
            raise ValueError(f"fusion must be 'product' or 'concat', not {fusion!r}")
        self.use_image, self.fusion = use_image, fusion
        self.image = ImageEncoder(channels, dim, batch_norm) if use_image else None
        self.question = QuestionEncoder(vocab, embed_dim, hidden, dim)
        width = 2 * dim if use_image and fusion == "concat" else dim
        self.classify = nn.Sequential(nn.Linear(width, dim), nn.ReLU(), nn.Linear(dim, answers))

    def forward(self, images: torch.Tensor | None, question_image: torch.Tensor, ids: torch.Tensor,
                lengths: torch.Tensor) -> torch.Tensor:
        """images [B, 3, 64, 64]; question_image [Q] (row of ``images`` each question asks about) -> logits [Q, A]."""
        fused = self.question(ids, lengths)
        if self.use_image:
            image = self.image(images)[question_image]
            fused = fused * image if self.fusion == "product" else torch.cat([fused, image], dim=1)
        return self.classify(fused)
