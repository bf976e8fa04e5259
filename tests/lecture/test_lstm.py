"""lecture/lstm: the LSTM cell written from the gate equations equals torch.nn.LSTM (outputs and gradients,
float64); the gates behave as the equations say; the adding problem's data; a --quick run solves it."""

from __future__ import annotations

import pytest
import torch

from tenuki.lecture import lstm
from tenuki.lecture._seq_adding import BASELINE_MSE, adding_batch
from tenuki.lecture.common import run_experiment


@pytest.mark.parametrize("n_inputs,n_hidden,batch,length", [(1, 1, 1, 1), (3, 5, 4, 7), (2, 16, 3, 30)])
def test_cell_matches_torch_lstm(n_inputs, n_hidden, batch, length) -> None:
    gaps = lstm.compare_with_torch(n_inputs, n_hidden, batch, length, seed=n_hidden)
    assert set(gaps) >= {"outputs", "h_T", "c_T", "d_inputs", "d_h0", "d_c0", "d_weight_ih_l0",
                         "d_weight_hh_l0", "d_bias"}
    assert max(gaps.values()) < 1e-12, gaps


def test_cell_is_batch_independent() -> None:
    torch.manual_seed(0)
    cell = lstm.LectureLSTM(3, 4).double()
    inputs = torch.randn(5, 6, 3, dtype=torch.float64)
    together, _ = cell(inputs)
    alone, _ = cell(inputs[2:3])
    torch.testing.assert_close(together[2:3], alone, rtol=0, atol=1e-15)


def test_closed_forget_gate_and_open_input_gate_carry_the_cell() -> None:
    """f = 1, i = 0 (saturated gates): c_t = c_{t-1} for every step, the constant error carousel."""
    torch.manual_seed(0)
    cell = lstm.LectureLSTM(2, 3).double()
    with torch.no_grad():
        cell.b_f.fill_(60.0)    # sigmoid(60) = 1 in float64
        cell.b_i.fill_(-60.0)   # sigmoid(-60) ~ 1e-26
        cell.b_o.fill_(60.0)
    c0 = torch.tensor([[0.3, -0.7, 1.5]], dtype=torch.float64)
    outputs, (h, c) = cell(torch.randn(1, 20, 2, dtype=torch.float64), (torch.zeros(1, 3, dtype=torch.float64), c0))
    torch.testing.assert_close(c, c0, rtol=0, atol=1e-20)
    torch.testing.assert_close(h, torch.tanh(c0), rtol=0, atol=1e-15)  # o = 1: h_t = tanh(c_t)
    torch.testing.assert_close(outputs[0, -1], h[0], rtol=0, atol=0)


def test_adding_problem_data() -> None:
    inputs, targets = adding_batch(500, 40, torch.Generator().manual_seed(0))
    markers = inputs[..., 1]
    assert torch.all(markers.sum(dim=1) == 2)
    assert torch.all(markers[:, :20].sum(dim=1) == 1) and torch.all(markers[:, 20:].sum(dim=1) == 1)
    torch.testing.assert_close(targets, (inputs[..., 0] * markers).sum(dim=1))
    # predicting the mean 1.0 gives Var(U1 + U2) = 1/6
    assert ((targets - 1.0) ** 2).mean().item() == pytest.approx(BASELINE_MSE, abs=0.02)


def test_quick_run_solves_the_adding_problem(tmp_path) -> None:
    record = run_experiment(lstm, quick=True, out_dir=tmp_path)
    assert record["headline"]["passed"], record["headline"]
    assert record["cell_matches_torch"], record["cell_vs_torch_max_abs_diff"]
    runs = record["adding_problem"][f"T{min(int(n) for n in record['config']['lengths'])}"]
    assert runs["lstm"]["test_mse"] < 0.1 * BASELINE_MSE
    assert "adding_problem.png" in record["figures"]
