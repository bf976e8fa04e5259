"""An Elman RNN in numpy with back-propagation through time written by hand.

Notation of the lecture (and of Elman 1990), with biases ``b``, ``c`` added::

    s_t = tanh(U x_t + W s_{t-1} + b)        # [B, H]  hidden state
    y_t = softmax(V s_t + c)                 # [B, K]  distribution of the next symbol
    E   = (1 / (T B)) sum_t sum_batch -log y_t[target_t]

``x_t`` is one-hot over K symbols, so ``U x_t`` is the column of U of the input symbol. BPTT (Werbos 1990)
runs the chain rule backwards through the unrolled network::

    dE/dz_t = (y_t - onehot(target_t)) / (T B)          z_t = V s_t + c
    dE/ds_t = V^T dE/dz_t + W^T dE/da_{t+1}             (the second term carries the future's error back)
    dE/da_t = dE/ds_t * (1 - s_t^2)                     a_t = U x_t + W s_{t-1} + b
    dU = sum_t dE/da_t x_t^T,  dW = sum_t dE/da_t s_{t-1}^T,  dV = sum_t dE/dz_t s_t^T

Arrays are batch-major per step: inputs ``[T, B]`` symbol codes, states ``[T + 1, B, H]`` (``s_0`` first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PARAMETER_NAMES = ("U", "W", "V", "b", "c")


@dataclass
class ElmanCache:
    """What the backward pass needs from the forward pass."""

    inputs: np.ndarray   # [T, B] int symbol codes
    states: np.ndarray   # [T + 1, B, H], states[0] = s_0
    probs: np.ndarray    # [T, B, K] softmax outputs y_t


def init_parameters(n_symbols: int, n_hidden: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """U [H, K], W [H, H], V [K, H], b [H], c [K]; weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as torch's RNN."""
    def uniform(shape: tuple[int, int], fan_in: int) -> np.ndarray:
        bound = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=shape)

    return {"U": uniform((n_hidden, n_symbols), n_hidden), "W": uniform((n_hidden, n_hidden), n_hidden),
            "V": uniform((n_symbols, n_hidden), n_hidden), "b": np.zeros(n_hidden), "c": np.zeros(n_symbols)}


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def forward(params: dict[str, np.ndarray], inputs: np.ndarray, s0: np.ndarray) -> ElmanCache:
    """Unroll over ``inputs`` [T, B] from ``s0`` [B, H]."""
    n_steps, batch = inputs.shape
    states = np.empty((n_steps + 1, batch, s0.shape[1]), dtype=params["W"].dtype)
    states[0] = s0
    input_columns = params["U"].T  # [K, H]: row k is U x for the one-hot x of symbol k
    for t in range(n_steps):
        states[t + 1] = np.tanh(input_columns[inputs[t]] + states[t] @ params["W"].T + params["b"])
    probs = softmax(states[1:] @ params["V"].T + params["c"])
    return ElmanCache(inputs, states, probs)


def loss(cache: ElmanCache, targets: np.ndarray) -> float:
    """Mean cross-entropy E over the T x B predictions (nats per symbol)."""
    picked = np.take_along_axis(cache.probs, targets[..., None], axis=-1)[..., 0]
    return float(-np.log(picked).mean())


def bptt(params: dict[str, np.ndarray], cache: ElmanCache,
         targets: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(dE/dparameter for U, W, V, b, c; dE/ds_0 [B, H]) of the mean cross-entropy, by hand."""
    n_steps, batch = targets.shape
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    dz = cache.probs.copy()                                   # [T, B, K]
    np.put_along_axis(dz, targets[..., None], np.take_along_axis(dz, targets[..., None], axis=-1) - 1.0, axis=-1)
    dz /= n_steps * batch
    states = cache.states
    grads["V"] = np.einsum("tbk,tbh->kh", dz, states[1:])
    grads["c"] = dz.sum(axis=(0, 1))
    ds_from_output = dz @ params["V"]                         # [T, B, H]
    ds_future = np.zeros_like(states[0])                      # dE/ds_t through s_{t+1}
    for t in reversed(range(n_steps)):
        ds = ds_from_output[t] + ds_future
        da = ds * (1.0 - states[t + 1] ** 2)                  # through tanh
        np.add.at(grads["U"].T, cache.inputs[t], da)          # dU += da x_t^T for one-hot x_t
        grads["W"] += da.T @ states[t]
        grads["b"] += da.sum(axis=0)
        ds_future = da @ params["W"]
    return grads, ds_future


class Adam:
    """Adam (Kingma & Ba 2015) over a dict of numpy arrays."""

    def __init__(self, params: dict[str, np.ndarray], lr: float, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.steps = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.steps += 1
        correction1, correction2 = 1 - self.beta1 ** self.steps, 1 - self.beta2 ** self.steps
        for name, grad in grads.items():
            self.m[name] = self.beta1 * self.m[name] + (1 - self.beta1) * grad
            self.v[name] = self.beta2 * self.v[name] + (1 - self.beta2) * grad * grad
            params[name] -= self.lr * (self.m[name] / correction1) / (np.sqrt(self.v[name] / correction2) + self.eps)


def clip_by_global_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Scale ``grads`` in place so that their joint L2 norm is at most ``max_norm``; the norm before."""
    norm = float(np.sqrt(sum((g * g).sum() for g in grads.values())))
    if norm > max_norm:
        for grad in grads.values():
            grad *= max_norm / norm
    return norm


def sample(params: dict[str, np.ndarray], start: int, stop: int, max_length: int,
           rng: np.random.Generator) -> list[int]:
    """Draw symbols from the model after ``start`` until ``stop`` (excluded) or ``max_length`` symbols."""
    state = np.zeros((1, params["W"].shape[0]))
    symbol, drawn = start, []
    for _ in range(max_length):
        cache = forward(params, np.array([[symbol]]), state)
        state = cache.states[-1]
        symbol = int(rng.choice(len(params["c"]), p=cache.probs[0, 0]))
        if symbol == stop:
            break
        drawn.append(symbol)
    return drawn


def autograd_gradients(params: dict[str, np.ndarray], inputs: np.ndarray, targets: np.ndarray,
                       s0: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The same gradients as ``bptt`` from torch's autograd (float64): the reference BPTT is checked against."""
    import torch

    leaves = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in params.items()}
    state = torch.tensor(s0, dtype=torch.float64, requires_grad=True)
    one_hot = torch.nn.functional.one_hot(torch.as_tensor(inputs), len(params["c"])).to(torch.float64)
    initial, logits = state, []
    for t in range(inputs.shape[0]):
        state = torch.tanh(one_hot[t] @ leaves["U"].T + state @ leaves["W"].T + leaves["b"])
        logits.append(state @ leaves["V"].T + leaves["c"])
    stacked = torch.stack(logits)                                           # [T, B, K]
    error = torch.nn.functional.cross_entropy(stacked.reshape(-1, stacked.shape[-1]),
                                              torch.as_tensor(targets).reshape(-1))
    error.backward()
    return {name: leaf.grad.numpy() for name, leaf in leaves.items()}, initial.grad.numpy()
