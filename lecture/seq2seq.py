"""Encoder-decoder translation, German -> English, with and without attention (lecture: sequence to sequence).

Data (``_seq2seq_data``, config ``corpus``): German number words from num2words ("numbers", the default:
"siebenundzwanzigtausendeinhundertdreizehn" -> "twenty-seven thousand, one hundred and thirteen") or short
phrase pairs of the Ding dictionary ("ding"), split by pair with the config's seed into train / validation /
held-out. Two GRU encoder-decoders of the same size are trained with teacher forcing and cross-entropy: one
hands the decoder only the encoder's last state, the other adds Luong attention over all encoder states
(``_seq2seq_model``). Each keeps the parameters of its best validation loss; the held-out set is decoded
greedily and scored with corpus BLEU-4 (``_seq2seq_bleu``, 0-100).
Headline: held-out BLEU of the attention model; the record also has the model without attention, the
n-gram precisions, exact-match rates, sample translations and an attention map.
"""

from __future__ import annotations

import copy
import itertools
import time
from pathlib import Path
from typing import Any

import numpy as np

from tenuki.lecture._seq2seq_bleu import corpus_bleu
from tenuki.lecture._seq2seq_data import PAD, Vocab, dictionary_phrases, number_pairs, pad_batch, select_pairs
from tenuki.lecture.common import LectureError, headline
from tenuki.lecture.data import split

NAME = "seq2seq"
CLAIM = ("An encoder-decoder RNN learns to translate German (number words) into English, and attention over the "
         "encoder states translates better (higher held-out BLEU) than squeezing the source into one vector.")

DEFAULTS: dict[str, Any] = {
    "corpus": "numbers", "numbers": 15000, "max_digits": 6,
    "min_tokens": 3, "max_tokens": 8, "min_count": 4, "max_pairs": None,
    "valid_fraction": 0.05, "test_fraction": 0.1,
    "embed_dim": 128, "hidden": 256, "dropout": 0.2,
    "epochs": 20, "batch_size": 64, "lr": 0.002, "clip": 1.0, "threads": 1,
    "samples": 10, "length_buckets": [5, 10, 15, 20], "threshold": 5.0,
}


def _settings(config: dict[str, Any]) -> dict[str, Any]:
    unknown = set(config) - set(DEFAULTS) - {"seed"}
    if unknown:
        raise LectureError(f"seq2seq config: unknown keys {sorted(unknown)}; allowed: {sorted(DEFAULTS)} and seed")
    return {**DEFAULTS, **config}


class _Batches:
    """The (src, src_len, tgt_in, tgt_out) tensors of a list of pairs, cut into batches (seeded shuffle)."""

    def __init__(self, src_ids: list[list[int]], tgt_ids: list[list[int]]) -> None:
        self.src_ids, self.tgt_ids = src_ids, tgt_ids

    def __len__(self) -> int:
        return len(self.src_ids)

    def batches(self, batch_size: int, rng: np.random.Generator | None = None):
        import torch

        order = rng.permutation(len(self)) if rng is not None else np.arange(len(self))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            src, src_len = pad_batch([self.src_ids[i] for i in rows])
            tgt, _ = pad_batch([self.tgt_ids[i] for i in rows], bos=True, eos=True)
            yield (torch.from_numpy(src), torch.from_numpy(src_len),
                   torch.from_numpy(tgt[:, :-1]), torch.from_numpy(tgt[:, 1:]))


def _mean_loss(model, data: _Batches, batch_size: int) -> float:
    import torch
    import torch.nn.functional as F

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for src, src_len, tgt_in, tgt_out in data.batches(batch_size):
            logits = model(src, src_len, tgt_in)
            total += float(F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=PAD,
                                           reduction="sum"))
            count += int((tgt_out != PAD).sum())
    return total / count


def _train(model, train: _Batches, valid: _Batches, cfg: dict[str, Any], seed: int) -> dict[str, Any]:
    """Adam with gradient clipping; keeps the state of the best validation loss. Returns the curves."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    best_loss, best_state, best_epoch = float("inf"), None, 0
    train_curve, valid_curve = [], []
    started = time.perf_counter()
    for epoch in range(1, cfg["epochs"] + 1):
        model.train()
        total, count = 0.0, 0
        for src, src_len, tgt_in, tgt_out in train.batches(cfg["batch_size"], rng):
            logits = model(src, src_len, tgt_in)
            loss = F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=PAD)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
            optimizer.step()
            tokens = int((tgt_out != PAD).sum())
            total += loss.item() * tokens
            count += tokens
        train_curve.append(total / count)
        valid_curve.append(_mean_loss(model, valid, 256))
        if valid_curve[-1] < best_loss:
            best_loss, best_epoch = valid_curve[-1], epoch
            best_state = copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return {"train_loss": [round(x, 4) for x in train_curve], "valid_loss": [round(x, 4) for x in valid_curve],
            "best_epoch": best_epoch, "best_valid_loss": round(best_loss, 4),
            "train_seconds": round(time.perf_counter() - started, 1)}


def _translate(model, data: _Batches, tgt_vocab: Vocab, max_len: int) -> tuple[list[list[str]], list]:
    """Greedy translations of every pair of ``data`` (in order) and the attention maps (or Nones)."""
    model.eval()
    outputs, maps = [], []
    for src, src_len, _, _ in data.batches(256):
        ids, weights = model.greedy(src, src_len, max_len)
        for row in range(ids.shape[0]):
            tokens = tgt_vocab.decode(ids[row].tolist())
            outputs.append(tokens)
            maps.append(None if weights is None else weights[row, :len(tokens) + 1, :int(src_len[row])].numpy())
    return outputs, maps


def _bleu_by_length(sources: list[list[str]], hypotheses: list[list[str]], references: list[list[str]],
                    edges: list[int]) -> dict[str, dict[str, float]]:
    """Corpus BLEU (0-100) of the held-out pairs grouped by source length: buckets 1..edges[0],
    edges[0]+1..edges[1], ..., > edges[-1] (as Bahdanau et al. 2015, Fig. 2, plot BLEU against length)."""
    bounds = [0, *edges, 10 ** 9]
    out = {}
    for low, high in itertools.pairwise(bounds):
        rows = [i for i, src in enumerate(sources) if low < len(src) <= high]
        if rows:
            name = f"{low + 1}-{high}" if high < 10 ** 9 else f">{low}"
            bleu = corpus_bleu([hypotheses[i] for i in rows], [references[i] for i in rows])["bleu"]
            out[name] = {"bleu": round(100 * bleu, 2), "pairs": len(rows)}
    return out


def _plot(out_dir: Path, curves: dict[str, dict], attention_map: np.ndarray, src: list[str], hyp: list[str],
          by_length: dict[str, dict[str, dict[str, float]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, curve in curves.items():
        epochs = range(1, len(curve["train_loss"]) + 1)
        line, = ax.plot(epochs, curve["train_loss"], label=f"{label} train")
        ax.plot(epochs, curve["valid_loss"], "--", color=line.get_color(), label=f"{label} validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy per target token")
    ax.set_title("seq2seq training, German -> English")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "seq2seq_loss.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(1 + 0.55 * len(src), 1 + 0.45 * (len(hyp) + 1)))
    ax.imshow(attention_map, cmap="Greys", vmin=0, vmax=1)
    ax.set_xticks(range(len(src)), src, rotation=45, ha="right")
    ax.set_yticks(range(len(hyp) + 1), hyp + ["</s>"])
    ax.set_title("attention weights a_t(i)")
    fig.tight_layout()
    fig.savefig(out_dir / "seq2seq_attention.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, buckets in by_length.items():
        ax.plot(list(buckets), [b["bleu"] for b in buckets.values()], "o-", label=label)
    ax.set_xlabel("source length (tokens)")
    ax.set_ylabel("held-out BLEU-4")
    ax.set_title("BLEU against source length")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "seq2seq_bleu_by_length.png", dpi=100)
    plt.close(fig)


def run(config: dict[str, Any], quick: bool, out_dir: Path) -> dict[str, Any]:
    import torch

    from tenuki.lecture._seq2seq_model import Seq2Seq

    cfg = _settings(config)
    cpu_started = time.process_time()
    seed = int(config.get("seed", 0))
    torch.set_num_threads(int(cfg["threads"]))
    if cfg["corpus"] == "ding":
        pairs = select_pairs(dictionary_phrases(), cfg["min_tokens"], cfg["max_tokens"], cfg["min_count"])
        source = "Ding dictionary (Debian trans-de-en) phrases, German -> English"
    elif cfg["corpus"] == "numbers":
        pairs = number_pairs(int(cfg["numbers"]), int(cfg["max_digits"]), seed)
        source = f"num2words: German number words (1 to {cfg['max_digits']} digits) -> English"
    else:
        raise LectureError(f"seq2seq config: corpus must be 'ding' or 'numbers', not {cfg['corpus']!r}")
    if cfg["max_pairs"]:
        keep = np.sort(np.random.default_rng(seed).permutation(len(pairs))[:int(cfg["max_pairs"])])
        pairs = [pairs[i] for i in keep]
    if len(pairs) < 200:
        raise LectureError(f"seq2seq: only {len(pairs)} dictionary pairs survive the config's filters "
                           "(min_tokens, max_tokens, min_count); loosen them")
    rest, test_idx = split(len(pairs), cfg["test_fraction"], seed)
    train_pos, valid_pos = split(len(rest), cfg["valid_fraction"] / (1 - cfg["test_fraction"]), seed + 1)
    train_pairs = [pairs[i] for i in rest[train_pos]]
    valid_pairs = [pairs[i] for i in rest[valid_pos]]
    test_pairs = [pairs[i] for i in test_idx]
    src_vocab = Vocab.build([s for s, _ in train_pairs])
    tgt_vocab = Vocab.build([t for _, t in train_pairs])

    def indexed(part):
        return _Batches([src_vocab.encode(s) for s, _ in part], [tgt_vocab.encode(t) for _, t in part])

    train, valid, test = indexed(train_pairs), indexed(valid_pairs), indexed(test_pairs)
    references = [t for _, t in test_pairs]
    max_len = max(len(t) for _, t in train_pairs) + 2
    models, curves, scores, translations, maps = {}, {}, {}, {}, {}
    for label, attention in (("no_attention", False), ("attention", True)):
        torch.manual_seed(seed)
        model = Seq2Seq(len(src_vocab), len(tgt_vocab), cfg["embed_dim"], cfg["hidden"], attention, cfg["dropout"])
        curves[label] = _train(model, train, valid, cfg, seed)
        translations[label], maps[label] = _translate(model, test, tgt_vocab, max_len)
        bleu = corpus_bleu(translations[label], references)
        scores[label] = {"bleu": round(100 * bleu["bleu"], 2),
                         "precisions": [round(p, 4) for p in bleu["precisions"]],
                         "brevity_penalty": round(bleu["brevity_penalty"], 4),
                         "exact_match": round(float(np.mean([h == r for h, r in zip(translations[label], references)])), 4),
                         "parameters": sum(p.numel() for p in model.parameters())}
        models[label] = model

    pick = np.random.default_rng(seed).permutation(len(test_pairs))[:cfg["samples"]]
    samples = [{"german": " ".join(test_pairs[i][0]), "reference": " ".join(references[i]),
                "no_attention": " ".join(translations["no_attention"][i]),
                "attention": " ".join(translations["attention"][i])} for i in pick]
    # The attention map of the longest sample source, for the plot.
    show = max(pick, key=lambda i: len(test_pairs[i][0]))
    sources = [s for s, _ in test_pairs]
    by_length = {label: _bleu_by_length(sources, translations[label], references, cfg["length_buckets"])
                 for label in translations}
    _plot(out_dir, curves, maps["attention"][show], test_pairs[show][0], translations["attention"][show], by_length)

    table = ["## Sample held-out translations", "", "| German | reference | no attention | attention |",
             "|---|---|---|---|"]
    table += [f"| {s['german']} | {s['reference']} | {s['no_attention']} | {s['attention']} |" for s in samples]
    value = scores["attention"]["bleu"]
    return {
        # the lecture's claim: attention beats one context vector (Bahdanau et al. 2015)
        "headline": headline("held-out BLEU-4 gain of attention over no attention",
                             round(value - scores["no_attention"]["bleu"], 2), cfg["threshold"]),
        "bleu_attention": value,
        "bleu_no_attention": scores["no_attention"]["bleu"],
        "attention_gain_bleu": round(value - scores["no_attention"]["bleu"], 2),
        "scores": scores,
        "bleu_by_source_length": by_length,
        "training": curves,
        "corpus": {"source": source,
                   "pairs": len(pairs), "train": len(train_pairs), "validation": len(valid_pairs),
                   "held_out": len(test_pairs), "src_vocab": len(src_vocab), "tgt_vocab": len(tgt_vocab),
                   "held_out_unknown_tokens": int(sum(t not in src_vocab.stoi for s, _ in test_pairs for t in s))},
        "samples": samples,
        "markdown": "\n".join(table),
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
    }

