"""lecture/rnn_bptt: the hand-written BPTT of the Elman RNN equals autograd (float64); the state-gradient
probe of the vanishing-gradient plot is right; a --quick run learns (held-out loss under its threshold and
under the unigram model) and shows the tanh RNN's gradient vanishing faster than the LSTM's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tenuki.lecture import _seq_elman as elman
from tenuki.lecture import rnn_bptt
from tenuki.lecture._seq_adding import RecurrentRegressor, adding_batch
from tenuki.lecture.common import run_experiment

RTOL = 1e-12  # float64 throughout: only summation-order rounding differs


def _random_problem(symbols: int, hidden: int, steps: int, batch: int, seed: int):
    rng = np.random.default_rng(seed)
    params = elman.init_parameters(symbols, hidden, rng)
    params["b"], params["c"] = rng.normal(size=hidden), rng.normal(size=symbols)
    inputs, targets = rng.integers(0, symbols, (steps, batch)), rng.integers(0, symbols, (steps, batch))
    return params, inputs, targets, 0.5 * rng.normal(size=(batch, hidden))


@pytest.mark.parametrize("symbols,hidden,steps,batch", [(5, 3, 1, 1), (7, 6, 9, 4), (31, 16, 25, 3), (4, 8, 40, 2)])
def test_bptt_equals_autograd(symbols, hidden, steps, batch) -> None:
    params, inputs, targets, s0 = _random_problem(symbols, hidden, steps, batch, seed=symbols + steps)
    cache = elman.forward(params, inputs, s0)
    ours, ours_s0 = elman.bptt(params, cache, targets)
    theirs, theirs_s0 = elman.autograd_gradients(params, inputs, targets, s0)
    for name in elman.PARAMETER_NAMES:  # dU, dW, dV and the biases
        scale = np.abs(theirs[name]).max()
        np.testing.assert_allclose(ours[name], theirs[name], rtol=0, atol=RTOL * scale, err_msg=name)
    np.testing.assert_allclose(ours_s0, theirs_s0, rtol=0, atol=RTOL * np.abs(theirs_s0).max())


def test_bptt_batch_is_mean_of_single_sequences() -> None:
    """E is the mean over the batch: its gradient is the mean of each sequence's own gradient."""
    params, inputs, targets, s0 = _random_problem(6, 5, 7, 3, seed=3)
    whole, _ = elman.bptt(params, elman.forward(params, inputs, s0), targets)
    singles = [elman.bptt(params, elman.forward(params, inputs[:, [b]], s0[[b]]), targets[:, [b]])[0]
               for b in range(3)]
    for name in elman.PARAMETER_NAMES:
        np.testing.assert_allclose(whole[name], np.mean([g[name] for g in singles], axis=0), rtol=1e-12, atol=1e-15)


def test_loss_of_uniform_prediction_is_log_k() -> None:
    params, inputs, targets, s0 = _random_problem(9, 4, 5, 2, seed=0)
    params["V"][:], params["c"][:] = 0.0, 0.0
    assert elman.loss(elman.forward(params, inputs, s0), targets) == pytest.approx(np.log(9), rel=1e-12)


def test_state_gradient_at_distance_zero_is_closed_form() -> None:
    """||dE_T/ds_T|| = |2 (y_hat - y)| ||w_readout|| for E_T = (y_hat - y)^2, y_hat = w . s_T + c."""
    torch.manual_seed(0)
    model = RecurrentRegressor("rnn_tanh", 8).double()
    inputs, targets = adding_batch(5, 12, torch.Generator().manual_seed(0))
    inputs, targets = inputs.double(), targets.double()
    norms = model.state_gradient_norms(inputs, targets)
    with torch.no_grad():
        expected = (2 * (model(inputs) - targets)).abs() * model.readout.weight.norm()
    assert norms.shape == (5, 12)
    np.testing.assert_allclose(norms[:, -1], expected.numpy(), rtol=1e-12)


def test_state_gradient_follows_the_chain_rule_through_time() -> None:
    """dE_T/ds_{T-1} = W^T diag(1 - s_T^2) dE_T/ds_T for a tanh RNN: one step of BPTT by hand."""
    torch.manual_seed(1)
    model = RecurrentRegressor("rnn_tanh", 6).double()
    inputs, targets = adding_batch(1, 4, torch.Generator().manual_seed(1))
    inputs, targets = inputs.double(), targets.double()
    norms = model.state_gradient_norms(inputs, targets)[0]
    with torch.no_grad():
        states, _ = model.rnn(inputs)
        s_last = states[0, -1]
        d_last = 2 * (model(inputs) - targets)[0] * model.readout.weight[0]
        d_before = model.rnn.weight_hh_l0.T @ ((1 - s_last ** 2) * d_last)
    assert norms[-2] == pytest.approx(float(d_before.norm()), rel=1e-12)


def test_quick_run_learns_and_shows_vanishing_gradient(tmp_path) -> None:
    record = run_experiment(rnn_bptt, quick=True, out_dir=tmp_path)
    assert record["headline"]["passed"], record["headline"]
    assert record["bptt_matches_autograd"], record["bptt_vs_autograd_max_rel_diff"]
    char_model = record["char_model"]
    assert char_model["loss_after"] < char_model["unigram_loss"] < char_model["loss_before"]
    trained = record["gradient_ratio_distance1_over_50"]["trained"]
    assert trained["rnn_tanh"] is None or trained["rnn_tanh"] > 100 * trained["lstm"], trained
    assert {"char_rnn_loss.png", "vanishing_gradient.png"} <= set(record["figures"])
