"""LSTM: the cell written from the lecture's gate equations, equal to ``torch.nn.LSTM``; the adding problem.

The cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000), per step::

    i_t = sigmoid(W_i x_t + U_i h_{t-1} + b_i)      input gate
    f_t = sigmoid(W_f x_t + U_f h_{t-1} + b_f)      forget gate
    o_t = sigmoid(W_o x_t + U_o h_{t-1} + b_o)      output gate
    g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)         candidate cell (c~_t in the lecture)
    c_t = f_t * c_t-1 + i_t * g_t                   cell: the additive path the error flows back along
    h_t = o_t * tanh(c_t)                           hidden state / output

``torch.nn.LSTM`` stacks the four gates' weights in the order (i, f, g, o) and has two bias vectors
(``bias_ih`` + ``bias_hh``) where the lecture has one; ``LectureLSTM.copy_from_torch`` maps one onto the other.

The experiment: the cell checked against ``nn.LSTM`` (outputs and gradients, float64), then the adding problem
(``lecture/_seq_adding.py``) at several lengths for an LSTM, a GRU (Cho et al. 2014) and a plain tanh RNN of the
same width. Training uses torch's fused ``nn.LSTM`` (the same function, as the check shows, but ~10x faster
than the Python loop of the lecture cell).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tenuki.lecture._seq_adding import BASELINE_MSE, train_adding
from tenuki.lecture.common import LectureError, headline

NAME = "lstm"
CLAIM = ("An LSTM's gated, additive cell carries information over hundreds of steps: it solves the adding "
         "problem where a plain RNN stays at the baseline.")
GATES = ("i", "f", "g", "o")  # torch's order of the stacked gate weights
KNOWN_KEYS = {"seed", "threads", "lengths", "models", "hidden", "batch", "lr", "steps", "eval_every", "stop_mse",
              "threshold"}


class LectureLSTM(nn.Module):
    """One LSTM layer written from the gate equations above; inputs [B, T, D] (batch first)."""

    def __init__(self, n_inputs: int, n_hidden: int) -> None:
        super().__init__()
        self.n_hidden = n_hidden
        bound = 1.0 / n_hidden ** 0.5
        for gate in GATES:
            self.register_parameter(f"W_{gate}", nn.Parameter(torch.empty(n_hidden, n_inputs).uniform_(-bound, bound)))
            self.register_parameter(f"U_{gate}", nn.Parameter(torch.empty(n_hidden, n_hidden).uniform_(-bound, bound)))
            self.register_parameter(f"b_{gate}", nn.Parameter(torch.zeros(n_hidden)))

    def gate(self, name: str, x_t: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
        """The pre-activation W x_t + U h_{t-1} + b of gate ``name``."""
        return (x_t @ getattr(self, f"W_{name}").T + h_prev @ getattr(self, f"U_{name}").T
                + getattr(self, f"b_{name}"))

    def forward(self, inputs: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """(hidden states [B, T, H], (h_T, c_T) each [B, H])."""
        batch = inputs.shape[0]
        if state is None:
            zeros = inputs.new_zeros(batch, self.n_hidden)
            state = (zeros, zeros)
        h, c = state
        outputs = []
        for t in range(inputs.shape[1]):
            x_t = inputs[:, t]
            i = torch.sigmoid(self.gate("i", x_t, h))
            f = torch.sigmoid(self.gate("f", x_t, h))
            o = torch.sigmoid(self.gate("o", x_t, h))
            g = torch.tanh(self.gate("g", x_t, h))
            c = f * c + i * g
            h = o * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs, dim=1), (h, c)

    @torch.no_grad()
    def copy_from_torch(self, reference: nn.LSTM) -> None:
        """Take the weights of a one-layer ``nn.LSTM``: its (i, f, g, o) blocks, its two biases summed."""
        blocks_w = reference.weight_ih_l0.chunk(4)
        blocks_u = reference.weight_hh_l0.chunk(4)
        blocks_b = (reference.bias_ih_l0 + reference.bias_hh_l0).chunk(4)
        for gate, w, u, b in zip(GATES, blocks_w, blocks_u, blocks_b, strict=True):
            getattr(self, f"W_{gate}").copy_(w)
            getattr(self, f"U_{gate}").copy_(u)
            getattr(self, f"b_{gate}").copy_(b)

    def stacked_gradients(self) -> dict[str, torch.Tensor]:
        """This cell's gradients laid out as ``nn.LSTM``'s (weight_ih_l0, weight_hh_l0, bias)."""
        return {"weight_ih_l0": torch.cat([getattr(self, f"W_{g}").grad for g in GATES]),
                "weight_hh_l0": torch.cat([getattr(self, f"U_{g}").grad for g in GATES]),
                "bias": torch.cat([getattr(self, f"b_{g}").grad for g in GATES])}


def compare_with_torch(n_inputs: int, n_hidden: int, batch: int, length: int, seed: int,
                       dtype: torch.dtype = torch.float64) -> dict[str, float]:
    """Largest absolute differences between LectureLSTM and ``nn.LSTM`` with the same weights: outputs, final
    (h, c), and the gradients of one loss with respect to the inputs, the initial state and every weight."""
    torch.manual_seed(seed)
    reference = nn.LSTM(n_inputs, n_hidden, batch_first=True).to(dtype)
    cell = LectureLSTM(n_inputs, n_hidden).to(dtype)
    cell.copy_from_torch(reference)
    inputs = torch.randn(batch, length, n_inputs, dtype=dtype)
    h0, c0 = torch.randn(batch, n_hidden, dtype=dtype), torch.randn(batch, n_hidden, dtype=dtype)
    weights = torch.randn(batch, length, n_hidden, dtype=dtype)  # a loss that reads every output

    def run(model: nn.Module, torch_layout: bool) -> tuple[torch.Tensor, ...]:
        x, h, c = (t.clone().requires_grad_(True) for t in (inputs, h0, c0))
        state = (h[None], c[None]) if torch_layout else (h, c)
        outputs, (h_n, c_n) = model(x, state)
        h_n, c_n = (h_n[0], c_n[0]) if torch_layout else (h_n, c_n)
        ((outputs * weights).sum() + (h_n * c_n).sum()).backward()
        return outputs.detach(), h_n.detach(), c_n.detach(), x.grad, h.grad, c.grad

    ours, theirs = run(cell, False), run(reference, True)
    names = ("outputs", "h_T", "c_T", "d_inputs", "d_h0", "d_c0")
    gaps = {name: float((a - b).abs().max()) for name, a, b in zip(names, ours, theirs, strict=True)}
    ours_grads = cell.stacked_gradients()
    for name in ("weight_ih_l0", "weight_hh_l0"):
        gaps[f"d_{name}"] = float((ours_grads[name] - getattr(reference, name).grad).abs().max())
    # nn.LSTM's two biases both receive the gradient of the one bias of the lecture's cell
    gaps["d_bias"] = max(float((ours_grads["bias"] - reference.bias_ih_l0.grad).abs().max()),
                         float((ours_grads["bias"] - reference.bias_hh_l0.grad).abs().max()))
    return gaps


def _plot(results: dict[int, dict[str, dict[str, Any]]], out_dir: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lengths = sorted(results)
    figure, axes = plt.subplots(1, len(lengths), figsize=(4.2 * len(lengths), 3.6), squeeze=False)
    for axis, length in zip(axes[0], lengths, strict=True):
        for kind, result in results[length].items():
            steps, mse = zip(*result["curve"], strict=True)
            axis.plot(steps, mse, label=f"{kind} (test {result['test_mse']:.3g})")
        axis.axhline(BASELINE_MSE, color="grey", linestyle="--", label="baseline 1/6")
        axis.axhline(0.01, color="grey", linestyle=":", label="solved (0.01)")
        axis.set_yscale("log")
        axis.set_title(f"adding problem, T = {length}")
        axis.set_xlabel("training step")
        axis.set_ylabel("validation MSE")
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out_dir / "adding_problem.png", dpi=110)
    plt.close(figure)


def run(config: dict[str, Any], quick: bool, out_dir: Path) -> dict[str, Any]:
    unknown = set(config) - KNOWN_KEYS
    if unknown:
        raise LectureError(f"lstm config: unknown keys {sorted(unknown)}; allowed: {sorted(KNOWN_KEYS)}")
    if "lstm" not in config.get("models", ["lstm"]):
        raise LectureError("lstm config: 'models' must include 'lstm' (the headline)")
    cpu_started = time.process_time()
    torch.set_num_threads(int(config.get("threads", 1)))
    seed = int(config.get("seed", 0))
    check = compare_with_torch(n_inputs=3, n_hidden=5, batch=4, length=7, seed=seed)
    lengths = [int(n) for n in config.get("lengths", [50, 100, 200])]
    models = list(config.get("models", ["lstm", "gru", "rnn_tanh"]))
    results: dict[int, dict[str, dict[str, Any]]] = {}
    for length in lengths:
        results[length] = {}
        for index, kind in enumerate(models):
            result = train_adding(kind, length, n_hidden=int(config.get("hidden", 32)),
                                  steps=int(config.get("steps", 2000)), batch_size=int(config.get("batch", 64)),
                                  lr=float(config.get("lr", 0.01)), seed=seed + 100 * index + length,
                                  eval_every=int(config.get("eval_every", 100)),
                                  stop_mse=float(config.get("stop_mse", 0.0)))
            result.pop("model")
            results[length][kind] = result
    _plot(results, out_dir)
    longest = max(lengths)
    threshold = float(config.get("threshold", 0.01))
    table = {f"T{length}": {kind: {key: r[key] for key in ("test_mse", "steps", "cpu_seconds", "wall_seconds")}
                            for kind, r in by_kind.items()} for length, by_kind in results.items()}
    rows = ["| T | " + " | ".join(f"{kind} test MSE" for kind in models) + " |",
            "|---|" + "---|" * len(models)]
    rows += [f"| {length} | " + " | ".join(f"{results[length][k]['test_mse']:.4f}" for k in models) + " |"
             for length in lengths]
    return {
        "headline": _headline(results, longest, threshold),
        "cell_vs_torch_max_abs_diff": check,
        "cell_matches_torch": bool(max(check.values()) < 1e-10),
        "baseline_mse": BASELINE_MSE,
        "adding_problem": table,
        "curves": {f"T{length}": {k: r["curve"] for k, r in by_kind.items()} for length, by_kind in results.items()},
        "cpu_seconds_training": round(float(np.sum([r["cpu_seconds"] for b in results.values() for r in b.values()])), 1),
        "markdown": "\n".join(rows),
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
    }


def _headline(results: dict[int, dict[str, dict[str, Any]]], longest: int, threshold: float) -> dict[str, Any]:
    return headline(f"LSTM test MSE, adding problem T={longest}", results[longest]["lstm"]["test_mse"],
                    threshold, higher_is_better=False)
