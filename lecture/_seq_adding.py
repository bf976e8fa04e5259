"""The adding problem (Hochreiter & Schmidhuber 1997, experiment 4) and small recurrent regressors for it.

A sequence has T steps of two channels: a value drawn from U(0, 1) and a marker, 1 at exactly two steps
(one in the first half, one in the second half, the convention of Le et al. 2015 and later papers; the 1997
paper put the first marker among the first ten steps) and 0 elsewhere. The target is the sum of the two marked
values. Predicting the mean 1.0 gives an MSE of Var(U1 + U2) = 2/12 = 0.1667, the baseline a network that
cannot remember across ~T/2 steps stays at.

Training and test use torch's ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (fused loops, fast on a CPU); the
lecture's LSTM cell written from its gate equations (``lecture/lstm.py``) is shown equal to ``nn.LSTM``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn

from tenuki.lecture.common import LectureError

BASELINE_MSE = 2.0 / 12.0
KINDS = ("rnn_tanh", "rnn_relu", "irnn", "lstm", "gru")


def adding_batch(n: int, length: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs [n, T, 2] = (value, marker), targets [n]) of the adding problem."""
    values = torch.rand(n, length, generator=generator)
    markers = torch.zeros(n, length)
    rows = torch.arange(n)
    markers[rows, torch.randint(0, length // 2, (n,), generator=generator)] = 1.0
    markers[rows, torch.randint(length // 2, length, (n,), generator=generator)] = 1.0
    return torch.stack([values, markers], dim=-1), (values * markers).sum(dim=1)


class RecurrentRegressor(nn.Module):
    """One recurrent layer (``kind`` in KINDS) and a linear read-out of the last hidden state."""

    def __init__(self, kind: str, n_hidden: int, n_inputs: int = 2, forget_bias: float = 1.0) -> None:
        super().__init__()
        if kind not in KINDS:
            raise LectureError(f"unknown recurrent model {kind!r}; choose one of {', '.join(KINDS)}")
        self.kind = kind
        if kind == "lstm":
            self.rnn: nn.Module = nn.LSTM(n_inputs, n_hidden, batch_first=True)
            with torch.no_grad():  # forget gate opened at the start (Gers et al. 2000): torch's gate order i, f, g, o
                self.rnn.bias_ih_l0[n_hidden:2 * n_hidden] = forget_bias
                self.rnn.bias_hh_l0[n_hidden:2 * n_hidden] = 0.0
        elif kind == "gru":
            self.rnn = nn.GRU(n_inputs, n_hidden, batch_first=True)
        elif kind == "irnn":  # ReLU RNN started from W = identity, b = 0 (Le, Jaitly & Hinton 2015)
            self.rnn = nn.RNN(n_inputs, n_hidden, batch_first=True, nonlinearity="relu")
            with torch.no_grad():
                self.rnn.weight_hh_l0.copy_(torch.eye(n_hidden))
                self.rnn.bias_ih_l0.zero_()
                self.rnn.bias_hh_l0.zero_()
        else:
            self.rnn = nn.RNN(n_inputs, n_hidden, batch_first=True, nonlinearity=kind.removeprefix("rnn_"))
        self.readout = nn.Linear(n_hidden, 1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:  # [B, T, D] -> [B]
        outputs, _ = self.rnn(inputs)
        return self.readout(outputs[:, -1]).squeeze(-1)

    def state_gradient_norms(self, inputs: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
        """||dE_T/ds_k|| for every k, one row per sequence: [B, T] (column k = state after step k).

        E_T is the squared error at the last step, the only loss of the adding problem. The recurrence is
        stepped one step at a time so that each state s_k (``h_k`` for the LSTM; its cell ``c_k`` is carried
        alongside) is a tensor whose gradient can be read; summing the per-sequence errors keeps each row the
        gradient of that sequence's own E_T.
        """
        n_steps = inputs.shape[1]
        hidden: Any = None
        states = []
        for t in range(n_steps):
            outputs, carried = self.rnn(inputs[:, t:t + 1], hidden)
            state = outputs.transpose(0, 1)  # [1, B, H]: the very tensor the next step reads
            state.retain_grad()
            states.append(state)
            hidden = (state, carried[1]) if self.kind == "lstm" else state
        prediction = self.readout(states[-1][0]).squeeze(-1)
        ((prediction - targets) ** 2).sum().backward()
        return torch.stack([s.grad[0].norm(dim=-1) for s in states], dim=1).numpy()


def train_adding(kind: str, length: int, n_hidden: int, steps: int, batch_size: int, lr: float, seed: int,
                 test_size: int = 1000, eval_every: int = 100, stop_mse: float = 0.0,
                 clip_norm: float = 1.0) -> dict[str, Any]:
    """Train one regressor on fresh adding-problem batches with Adam; its test MSE on ``test_size`` sequences.

    Training stops early once the MSE on a separate validation batch falls below ``stop_mse`` (0 = never).
    Returns test_mse, the curve of (step, validation MSE), steps run, seconds (wall and CPU) and the model.
    """
    torch.manual_seed(seed)
    model = RecurrentRegressor(kind, n_hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    train_stream = torch.Generator().manual_seed(seed)
    valid_inputs, valid_targets = adding_batch(test_size, length, torch.Generator().manual_seed(seed + 10_000))
    test_inputs, test_targets = adding_batch(test_size, length, torch.Generator().manual_seed(seed + 20_000))
    wall, cpu = time.perf_counter(), time.process_time()
    curve: list[tuple[int, float]] = []
    step = 0
    for step in range(1, steps + 1):
        inputs, targets = adding_batch(batch_size, length, train_stream)
        error = ((model(inputs) - targets) ** 2).mean()
        optimizer.zero_grad()
        error.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        if step % eval_every == 0 or step == steps:
            with torch.no_grad():
                valid_mse = float(((model(valid_inputs) - valid_targets) ** 2).mean())
            curve.append((step, round(valid_mse, 5)))
            if valid_mse < stop_mse:
                break
    with torch.no_grad():
        test_mse = float(((model(test_inputs) - test_targets) ** 2).mean())
    return {"test_mse": test_mse, "steps": step, "curve": curve, "model": model,
            "wall_seconds": round(time.perf_counter() - wall, 1), "cpu_seconds": round(time.process_time() - cpu, 1)}
