"""RNN and back-propagation through time: an Elman network with BPTT by hand; the vanishing gradient.

1. Gradient check: the hand-written BPTT of ``lecture/_seq_elman.py`` against torch's autograd (float64).
2. The Elman RNN (s_t = tanh(U x_t + W s_{t-1} + b), y_t = softmax(V s_t + c)) trained with that BPTT, numpy
   only, to predict the next character of German words of the Ding dictionary (truncated BPTT over a stream
   of words separated by '.', the state carried from chunk to chunk). Reported: held-out cross-entropy
   before and after training, against a unigram model of the training characters; words sampled from it.
3. The vanishing gradient: ||dE_T/ds_k|| against the distance T - k for a tanh RNN, a ReLU RNN (torch's default
   init and the identity init of Le et al. 2015) and an LSTM, on adding-problem sequences (the loss E_T
   sits at the last step only), once at initialisation and once after training on the adding problem.
   Measured with torch's autograd on ``nn.RNN`` / ``nn.LSTM`` stepped one step at a time.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from tenuki.lecture import _seq_elman as elman
from tenuki.lecture._seq_ding import CharCodes, german_words, sample_split
from tenuki.lecture.common import LectureError, headline

NAME = "rnn-bptt"
CLAIM = ("Back-propagation through time trains a recurrent network, but the error signal ||dE_t/ds_k|| shrinks "
         "exponentially with t - k in a tanh RNN; an LSTM keeps it alive far longer.")
WORD_END = "."
KNOWN_KEYS = {"seed", "threads", "min_word_length", "max_word_length", "train_words", "test_words", "hidden",
              "bptt_steps", "batch", "updates", "lr", "clip_norm", "eval_every", "threshold", "samples",
              "gradient_models", "gradient_hidden", "gradient_length", "gradient_batch", "gradient_train_length",
              "gradient_train_steps", "gradient_train_lr", "distances"}


def _streams(codes: list[int], n_streams: int) -> np.ndarray:
    """The symbol stream cut into ``n_streams`` contiguous rows: [n_streams, length]."""
    length = len(codes) // n_streams
    return np.asarray(codes[:length * n_streams], dtype=np.int64).reshape(n_streams, length)


def _stream_loss(params: dict[str, np.ndarray], streams: np.ndarray, chunk: int) -> float:
    """Mean next-symbol cross-entropy (nats) over whole streams, the state carried across chunks."""
    state = np.zeros((streams.shape[0], params["W"].shape[0]))
    total, count = 0.0, 0
    for start in range(0, streams.shape[1] - 1, chunk):
        inputs = streams[:, start:start + chunk].T
        targets = streams[:, start + 1:start + chunk + 1].T
        inputs = inputs[:len(targets)]
        cache = elman.forward(params, inputs, state)
        total += elman.loss(cache, targets) * targets.size
        count += targets.size
        state = cache.states[-1]
    return total / count


def _unigram_loss(train_codes: list[int], test_codes: list[int], n_symbols: int) -> float:
    """Held-out cross-entropy (nats) of the training characters' frequencies (add-one smoothed)."""
    counts = np.bincount(train_codes, minlength=n_symbols) + 1.0
    log_p = np.log(counts / counts.sum())
    return float(-log_p[np.asarray(test_codes)].mean())


def gradient_check(seed: int) -> dict[str, float]:
    """Largest relative difference of each hand-BPTT gradient from autograd's, on a random small network."""
    rng = np.random.default_rng(seed)
    params = elman.init_parameters(n_symbols=7, n_hidden=6, rng=rng)
    params["b"], params["c"] = rng.normal(size=6), rng.normal(size=7)
    inputs, targets = rng.integers(0, 7, size=(9, 4)), rng.integers(0, 7, size=(9, 4))
    s0 = 0.5 * rng.normal(size=(4, 6))
    ours, ours_s0 = elman.bptt(params, elman.forward(params, inputs, s0), targets)
    theirs, theirs_s0 = elman.autograd_gradients(params, inputs, targets, s0)
    gaps = {f"d{name}": float(np.abs(ours[name] - theirs[name]).max() / np.abs(theirs[name]).max())
            for name in elman.PARAMETER_NAMES}
    gaps["ds0"] = float(np.abs(ours_s0 - theirs_s0).max() / np.abs(theirs_s0).max())
    return gaps


def train_char_model(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train the numpy Elman RNN on next-character prediction; losses, curve, samples."""
    words = german_words(int(config.get("min_word_length", 3)), int(config.get("max_word_length", 14)))
    train, test = sample_split(words, int(config.get("train_words", 40_000)), int(config.get("test_words", 2_000)),
                               seed)
    codes = CharCodes(specials=(WORD_END,))
    end = codes.index[WORD_END]
    train_codes = [c for w in train for c in [*codes.encode(w), end]]
    test_codes = [c for w in test for c in [*codes.encode(w), end]]
    batch, chunk = int(config.get("batch", 32)), int(config.get("bptt_steps", 25))
    train_streams, test_streams = _streams(train_codes, batch), _streams(test_codes, batch)
    rng = np.random.default_rng(seed)
    params = elman.init_parameters(len(codes), int(config.get("hidden", 128)), rng)
    optimizer = elman.Adam(params, lr=float(config.get("lr", 0.003)))
    clip = float(config.get("clip_norm", 5.0))
    updates, eval_every = int(config.get("updates", 3000)), int(config.get("eval_every", 250))
    loss_before = _stream_loss(params, test_streams, chunk)
    curve: list[dict[str, float]] = []
    state = np.zeros((batch, params["W"].shape[0]))
    position, window = 0, []
    started = time.process_time()
    for update in range(1, updates + 1):
        if position + chunk + 1 > train_streams.shape[1]:  # an epoch is over: start the streams again
            position, state = 0, np.zeros_like(state)
        inputs = train_streams[:, position:position + chunk].T
        targets = train_streams[:, position + 1:position + chunk + 1].T
        cache = elman.forward(params, inputs, state)
        window.append(elman.loss(cache, targets))
        grads, _ = elman.bptt(params, cache, targets)
        elman.clip_by_global_norm(grads, clip)
        optimizer.step(params, grads)
        state, position = cache.states[-1], position + chunk  # truncated BPTT: carry the state, not the gradient
        if update % eval_every == 0 or update == updates:
            curve.append({"update": update, "train_loss": round(float(np.mean(window)), 4),
                          "test_loss": round(_stream_loss(params, test_streams, chunk), 4)})
            window = []
    samples = [codes.decode(elman.sample(params, end, end, 24, rng)) for _ in range(int(config.get("samples", 10)))]
    return {"train_words": len(train), "test_words": len(test), "symbols": len(codes),
            "train_characters": len(train_codes), "loss_before": loss_before, "loss_after": curve[-1]["test_loss"],
            "unigram_loss": _unigram_loss(train_codes, test_codes, len(codes)), "curve": curve,
            "samples": samples, "cpu_seconds": round(time.process_time() - started, 1)}


def vanishing_gradients(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """||dE_T/ds_{T-d}|| (mean over sequences) for each model, at initialisation and after training."""
    import torch

    from tenuki.lecture._seq_adding import RecurrentRegressor, adding_batch, train_adding

    models = list(config.get("gradient_models", ["rnn_tanh", "rnn_relu", "irnn", "lstm"]))
    hidden, length = int(config.get("gradient_hidden", 64)), int(config.get("gradient_length", 100))
    inputs, targets = adding_batch(int(config.get("gradient_batch", 64)), length,
                                   torch.Generator().manual_seed(seed + 1))
    norms: dict[str, dict[str, list[float]]] = {"initial": {}, "trained": {}}
    training: dict[str, dict[str, Any]] = {}
    for index, kind in enumerate(models):
        torch.manual_seed(seed + index)
        fresh = RecurrentRegressor(kind, hidden)
        norms["initial"][kind] = fresh.state_gradient_norms(inputs, targets).mean(axis=0)[::-1].tolist()
        result = train_adding(kind, int(config.get("gradient_train_length", 50)), hidden,
                              steps=int(config.get("gradient_train_steps", 1000)), batch_size=64,
                              lr=float(config.get("gradient_train_lr", 0.003)), seed=seed + index, stop_mse=0.005,
                              eval_every=100)
        norms["trained"][kind] = result["model"].state_gradient_norms(inputs, targets).mean(axis=0)[::-1].tolist()
        training[kind] = {k: result[k] for k in ("test_mse", "steps", "cpu_seconds")}
    return {"norms": norms, "training": training, "length": length, "hidden": hidden}


def _plot_loss(char_model: dict[str, Any], out_dir: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = char_model["curve"]
    figure, axis = plt.subplots(figsize=(5.5, 3.8))
    updates = [0] + [p["update"] for p in curve]
    axis.plot(updates[1:], [p["train_loss"] for p in curve], label="training chunks")
    axis.plot(updates, [char_model["loss_before"]] + [p["test_loss"] for p in curve], label="held-out words")
    axis.axhline(char_model["unigram_loss"], color="grey", linestyle="--", label="unigram model")
    axis.set_xlabel("update (truncated BPTT chunk)")
    axis.set_ylabel("cross-entropy (nats / character)")
    axis.set_title("Elman RNN, hand-written BPTT: next character")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out_dir / "char_rnn_loss.png", dpi=110)
    plt.close(figure)


def _plot_gradients(gradients: dict[str, Any], out_dir: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for axis, (stage, by_kind) in zip(axes, gradients["norms"].items(), strict=True):
        for kind, norms in by_kind.items():
            values = np.maximum(np.asarray(norms), 1e-30)  # log scale: an exact 0 (dead ReLUs) drawn at the floor
            axis.plot(np.arange(len(values)), values, label=kind)
        axis.set_yscale("log")
        axis.set_xlabel("distance t - k (steps)")
        axis.set_title(f"{stage} (adding problem, T = {gradients['length']})")
    axes[0].set_ylabel("mean ||dE_T / ds_k||")
    axes[1].legend()
    figure.tight_layout()
    figure.savefig(out_dir / "vanishing_gradient.png", dpi=110)
    plt.close(figure)


def run(config: dict[str, Any], quick: bool, out_dir: Path) -> dict[str, Any]:
    unknown = set(config) - KNOWN_KEYS
    if unknown:
        raise LectureError(f"rnn-bptt config: unknown keys {sorted(unknown)}; allowed: {sorted(KNOWN_KEYS)}")
    import torch
    from threadpoolctl import threadpool_limits

    cpu_started = time.process_time()
    threads = int(config.get("threads", 1))
    torch.set_num_threads(threads)
    seed = int(config.get("seed", 0))
    # numpy's multi-threaded OpenBLAS on [32, 128] matrices is ~40x slower on a busy CPU: one thread it is
    with threadpool_limits(limits=threads, user_api="blas"):
        check = gradient_check(seed)
        char_model = train_char_model(config, seed)
    gradients = vanishing_gradients(config, seed)
    _plot_loss(char_model, out_dir)
    _plot_gradients(gradients, out_dir)
    distances = [d for d in config.get("distances", [1, 10, 25, 50, 99]) if d < gradients["length"]]
    at_distance = {stage: {kind: {str(d): float(norms[d]) for d in distances} for kind, norms in by_kind.items()}
                   for stage, by_kind in gradients["norms"].items()}
    ratio = {stage: {kind: (float(norms[1] / norms[50]) if norms[50] > 0 else None)
                     for kind, norms in by_kind.items()}
             for stage, by_kind in gradients["norms"].items()} if gradients["length"] > 50 else {}
    threshold = float(config.get("threshold", 2.2))
    return {
        "headline": headline("held-out cross-entropy, nats/char (Elman RNN, hand BPTT)", char_model["loss_after"],
                             threshold, higher_is_better=False),
        "bptt_vs_autograd_max_rel_diff": check,
        "bptt_matches_autograd": bool(max(check.values()) < 1e-10),
        "char_model": {k: v for k, v in char_model.items() if k != "curve"},
        "char_curve": char_model["curve"],
        "gradient_norm_at_distance": at_distance,
        "gradient_ratio_distance1_over_50": ratio,
        "gradient_models_training": gradients["training"],
        "markdown": "Sampled words: " + ", ".join(char_model["samples"]),
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
    }
