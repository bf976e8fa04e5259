"""Bidirectional RNN: fill in a masked letter of a German word from both sides.

Task: a word of the Ding dictionary, framed as ``<word>``, has one letter replaced by ``_``; the network
predicts that letter at the masked position. A unidirectional (left-to-right) RNN's output at position t
depends on x_1..x_t only, so it must guess the letter from the letters before it (a language model);
a bidirectional RNN (Schuster & Paliwal 1997) concatenates a forward state (x_1..x_t) and a backward state
(x_T..x_t) and sees both sides, e.g. ``versch_edene`` -> ``i``. A right-to-left RNN is reported as well.

All models: letter embedding -> one GRU layer -> linear read-out of the masked position. The unidirectional
models get more hidden units so that every model has at least as many parameters as the bidirectional one.
Test words are never seen in training; each test word has one fixed, seeded masked position.
Words of one length form a batch (no padding, so the backward direction starts at the real end).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tenuki.lecture._seq_ding import ALPHABET, CharCodes, german_words, sample_split
from tenuki.lecture.common import LectureError, headline

NAME = "birnn"
CLAIM = ("A bidirectional RNN sees the context on both sides of a position: it fills in a masked letter far "
         "more often than a left-to-right RNN, whose output at t only knows x_1..x_t.")
BEGIN, END, MASK = "<", ">", "_"
DIRECTIONS = ("left_to_right", "right_to_left", "bidirectional")
KNOWN_KEYS = {"seed", "threads", "min_word_length", "max_word_length", "train_words", "test_words", "embedding",
              "hidden", "batch", "steps", "lr", "eval_every", "threshold", "models"}


class MaskedLetterModel(nn.Module):
    """Embedding -> GRU (forward, backward or both) -> letter logits at the masked position."""

    def __init__(self, direction: str, n_symbols: int, n_letters: int, embedding: int, hidden: int) -> None:
        super().__init__()
        if direction not in DIRECTIONS:
            raise LectureError(f"unknown direction {direction!r}; choose one of {', '.join(DIRECTIONS)}")
        self.direction = direction
        self.embed = nn.Embedding(n_symbols, embedding)
        self.rnn = nn.GRU(embedding, hidden, batch_first=True, bidirectional=direction == "bidirectional")
        self.readout = nn.Linear(hidden * (2 if direction == "bidirectional" else 1), n_letters)

    def forward(self, tokens: torch.Tensor, mask_positions: torch.Tensor) -> torch.Tensor:
        """tokens [B, T] codes, mask_positions [B] -> logits [B, n_letters] read at each masked position."""
        if self.direction == "right_to_left":
            tokens = tokens.flip(1)
            mask_positions = tokens.shape[1] - 1 - mask_positions
        states, _ = self.rnn(self.embed(tokens))                       # [B, T, H or 2H]
        return self.readout(states[torch.arange(len(tokens)), mask_positions])


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def matched_hidden(direction: str, n_symbols: int, n_letters: int, embedding: int, hidden: int) -> int:
    """Hidden units for ``direction`` so that the model has at least the bidirectional model's parameters."""
    target = parameter_count(MaskedLetterModel("bidirectional", n_symbols, n_letters, embedding, hidden))
    if direction == "bidirectional":
        return hidden
    units = hidden
    while parameter_count(MaskedLetterModel(direction, n_symbols, n_letters, embedding, units)) < target:
        units += 1
    return units


class MaskedWords:
    """Words grouped by length as code arrays [N_L, L + 2] (``<``, letters, ``>``); masks drawn per batch."""

    def __init__(self, words: list[str], codes: CharCodes) -> None:
        self.by_length: dict[int, np.ndarray] = {}
        for length in sorted({len(w) for w in words}):
            group = [w for w in words if len(w) == length]
            self.by_length[length] = np.array([[codes.index[BEGIN], *codes.encode(w), codes.index[END]]
                                               for w in group], dtype=np.int64)
        self.lengths = np.array(list(self.by_length))
        self.weights = np.array([len(g) for g in self.by_length.values()], dtype=float)
        self.weights /= self.weights.sum()
        self.mask_code = codes.index[MASK]

    def mask(self, rows: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(masked tokens [B, T], masked positions [B], letters there [B]) for one letter per word."""
        positions = rng.integers(1, rows.shape[1] - 1, size=len(rows))   # a letter, never '<' or '>'
        letters = rows[np.arange(len(rows)), positions].copy()
        masked = rows.copy()
        masked[np.arange(len(rows)), positions] = self.mask_code
        return torch.from_numpy(masked), torch.from_numpy(positions), torch.from_numpy(letters)

    def batch(self, size: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        group = self.by_length[int(rng.choice(self.lengths, p=self.weights))]
        return self.mask(group[rng.integers(0, len(group), size=size)], rng)


def evaluate(model: MaskedLetterModel, test_set: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
             ) -> tuple[float, dict[int, list[int]]]:
    """(accuracy, {relative position decile: [hits, total]}) on the fixed masked test words."""
    hits, total, by_place = 0, 0, {d: [0, 0] for d in range(10)}
    model.eval()
    with torch.no_grad():
        for tokens, positions, letters in test_set:
            correct = (model(tokens, positions).argmax(dim=1) == letters).numpy()
            places = ((positions.numpy() - 1) * 10) // (tokens.shape[1] - 2)   # 0 = first letter .. 9 = last
            for place, ok in zip(places, correct, strict=True):
                by_place[int(place)][0] += int(ok)
                by_place[int(place)][1] += 1
            hits, total = hits + int(correct.sum()), total + len(correct)
    model.train()
    return hits / total, by_place


def _plot(results: dict[str, dict[str, Any]], out_dir: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for direction, result in results.items():
        steps, accuracy = zip(*result["curve"], strict=True)
        left.plot(steps, accuracy, label=f"{direction} ({result['test_accuracy']:.1%})")
        place = [hits / max(total, 1) for hits, total in result["accuracy_by_place"].values()]
        right.plot(np.arange(10) * 10 + 5, place, marker="o", label=direction)
    left.set_xlabel("training step")
    left.set_ylabel("held-out accuracy")
    left.set_title("masked letter of an unseen German word")
    left.legend(fontsize=8)
    right.set_xlabel("position of the masked letter in the word (%)")
    right.set_ylabel("held-out accuracy")
    right.set_title("by position of the masked letter")
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out_dir / "masked_letter.png", dpi=110)
    plt.close(figure)


def run(config: dict[str, Any], quick: bool, out_dir: Path) -> dict[str, Any]:
    unknown = set(config) - KNOWN_KEYS
    if unknown:
        raise LectureError(f"birnn config: unknown keys {sorted(unknown)}; allowed: {sorted(KNOWN_KEYS)}")
    cpu_started = time.process_time()
    torch.set_num_threads(int(config.get("threads", 1)))
    seed = int(config.get("seed", 0))
    words = german_words(int(config.get("min_word_length", 4)), int(config.get("max_word_length", 16)))
    train_words, test_words = sample_split(words, int(config.get("train_words", 60_000)),
                                           int(config.get("test_words", 5_000)), seed)
    codes = CharCodes(specials=(BEGIN, END, MASK))
    train, test = MaskedWords(train_words, codes), MaskedWords(test_words, codes)
    test_rng = np.random.default_rng(seed + 1)
    test_set = [test.mask(rows, test_rng) for rows in test.by_length.values()]
    embedding, hidden = int(config.get("embedding", 32)), int(config.get("hidden", 96))
    steps, batch = int(config.get("steps", 4000)), int(config.get("batch", 128))
    eval_every = int(config.get("eval_every", 500))
    letters_in_test = np.concatenate([letters.numpy() for _, _, letters in test_set])
    train_letters = np.concatenate([g[:, 1:-1].ravel() for g in train.by_length.values()])
    most_frequent = int(np.bincount(train_letters).argmax())
    results: dict[str, dict[str, Any]] = {}
    for direction in config.get("models", list(DIRECTIONS)):
        torch.manual_seed(seed)
        units = matched_hidden(direction, len(codes), len(ALPHABET), embedding, hidden)
        model = MaskedLetterModel(direction, len(codes), len(ALPHABET), embedding, units)
        optimizer = torch.optim.Adam(model.parameters(), lr=float(config.get("lr", 0.003)))
        rng = np.random.default_rng(seed)  # the same batches and masks for every model
        wall, cpu = time.perf_counter(), time.process_time()
        curve = [(0, round(evaluate(model, test_set)[0], 4))]
        for step in range(1, steps + 1):
            tokens, positions, letters = train.batch(batch, rng)
            error = nn.functional.cross_entropy(model(tokens, positions), letters)
            optimizer.zero_grad()
            error.backward()
            optimizer.step()
            if step % eval_every == 0 or step == steps:
                curve.append((step, round(evaluate(model, test_set)[0], 4)))
        accuracy, by_place = evaluate(model, test_set)
        results[direction] = {"test_accuracy": accuracy, "hidden_units": units, "parameters": parameter_count(model),
                              "curve": curve, "accuracy_by_place": by_place,
                              "cpu_seconds": round(time.process_time() - cpu, 1),
                              "wall_seconds": round(time.perf_counter() - wall, 1)}
    if "bidirectional" not in results or "left_to_right" not in results:
        raise LectureError("birnn config: 'models' must include bidirectional and left_to_right (the headline)")
    _plot(results, out_dir)
    gain = results["bidirectional"]["test_accuracy"] - results["left_to_right"]["test_accuracy"]
    return {
        "headline": headline("bidirectional minus left-to-right accuracy (masked letter)", gain,
                             float(config.get("threshold", 0.1))),
        "accuracy": {d: r["test_accuracy"] for d, r in results.items()},
        "most_frequent_letter_accuracy": float(np.mean(letters_in_test == most_frequent)),
        "train_words": len(train_words), "test_words": len(test_words),
        "models": {d: {k: r[k] for k in ("hidden_units", "parameters", "cpu_seconds", "wall_seconds", "curve")}
                   for d, r in results.items()},
        "accuracy_by_place_decile": {d: [round(h / max(t, 1), 4) for h, t in r["accuracy_by_place"].values()]
                                     for d, r in results.items()},
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
    }
