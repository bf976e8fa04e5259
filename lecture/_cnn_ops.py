"""The lecture's convolution, activations and pooling, written by hand in numpy.

Notation (lecture, "Convolutional networks"): input image x, kernel w, feature map s,

    s[i, j] = sum_m sum_n x[i + m, j + n] w[m, n]                                  (1)

which is cross-correlation (the kernel is not flipped) -- exactly what ``torch.nn.functional.conv2d``
computes, so torch is the reference. With channels, a stride and a bias, (1) becomes

    s[o, i, j] = b[o] + sum_c sum_m sum_n x[c, stride*i + m, stride*j + n] w[o, c, m, n].

Every operation exists twice: a ``*_loop`` version that is (1) in plain Python loops (slow, the
readable reference) and a vectorised version (numpy ``sliding_window_view`` + ``einsum``). Only
"valid" windows are used (no window hangs over the border) after optional zero padding; output size
``(H + 2*padding - kernel) // stride + 1``, as in torch.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Number of valid window positions along one axis (torch's formula, floor division)."""
    if stride < 1 or kernel < 1 or padding < 0:
        raise ValueError(f"need kernel >= 1, stride >= 1, padding >= 0; got {kernel}, {stride}, {padding}")
    count = (size + 2 * padding - kernel) // stride + 1
    if count < 1:
        raise ValueError(f"kernel {kernel} does not fit an input of size {size} with padding {padding}")
    return count


def conv2d_single_loop(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Equation (1) literally: one channel, one kernel, stride 1. x [H, W], w [K_h, K_w] -> s [H_out, W_out]."""
    out_h, out_w = output_size(x.shape[0], w.shape[0]), output_size(x.shape[1], w.shape[1])
    s = np.zeros((out_h, out_w), dtype=np.result_type(x, w))
    for i in range(out_h):
        for j in range(out_w):
            total = 0.0
            for m in range(w.shape[0]):
                for n in range(w.shape[1]):
                    total += x[i + m, j + n] * w[m, n]
            s[i, j] = total
    return s


def conv2d_loop(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None, stride: int = 1,
                padding: int = 0) -> np.ndarray:
    """Multi-channel (1) in loops. x [C_in, H, W], w [C_out, C_in, K_h, K_w], bias [C_out] -> [C_out, H_out, W_out]."""
    if x.ndim != 3 or w.ndim != 4 or x.shape[0] != w.shape[1]:
        raise ValueError(f"expected x [C_in, H, W] and w [C_out, C_in, K_h, K_w]; got {x.shape}, {w.shape}")
    x = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    out_h = output_size(x.shape[1], w.shape[2], stride)
    out_w = output_size(x.shape[2], w.shape[3], stride)
    s = np.zeros((w.shape[0], out_h, out_w), dtype=np.result_type(x, w))
    for o in range(w.shape[0]):
        for i in range(out_h):
            for j in range(out_w):
                total = 0.0 if bias is None else bias[o]
                for c in range(w.shape[1]):
                    for m in range(w.shape[2]):
                        for n in range(w.shape[3]):
                            total += x[c, stride * i + m, stride * j + n] * w[o, c, m, n]
                s[o, i, j] = total
    return s


def conv2d(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None, stride: int = 1,
           padding: int = 0) -> np.ndarray:
    """Vectorised (1) over a batch. x [B, C_in, H, W], w [C_out, C_in, K_h, K_w], bias [C_out] -> [B, C_out, H_out, W_out]."""
    if x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[1]:
        raise ValueError(f"expected x [B, C_in, H, W] and w [C_out, C_in, K_h, K_w]; got {x.shape}, {w.shape}")
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    for axis in (2, 3):  # raises if the kernel does not fit
        output_size(x.shape[axis], w.shape[axis], stride)
    windows = sliding_window_view(x, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]  # [B, C, H_out, W_out, K_h, K_w]
    s = np.einsum("bcijmn,ocmn->boij", windows, w, optimize=True)
    return s if bias is None else s + bias[None, :, None, None]


def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x), element-wise."""
    return np.maximum(x, 0.0)


def tanh(x: np.ndarray) -> np.ndarray:
    """(e^x - e^-x) / (e^x + e^-x), written out; for large |x| via the equivalent 1 - 2 / (e^{2x} + 1)."""
    return 1.0 - 2.0 / (np.exp(2.0 * np.clip(x, -350.0, 350.0)) + 1.0)


def pool2d_loop(x: np.ndarray, size: int, stride: int | None = None, mode: str = "max") -> np.ndarray:
    """Max or average pooling in loops. x [C, H, W] -> [C, H_out, W_out]; stride defaults to ``size``."""
    stride = size if stride is None else stride
    reduce = _pool_reduction(mode)
    out_h, out_w = output_size(x.shape[1], size, stride), output_size(x.shape[2], size, stride)
    out = np.zeros((x.shape[0], out_h, out_w), dtype=x.dtype)
    for c in range(x.shape[0]):
        for i in range(out_h):
            for j in range(out_w):
                out[c, i, j] = reduce(x[c, stride * i:stride * i + size, stride * j:stride * j + size])
    return out


def pool2d(x: np.ndarray, size: int, stride: int | None = None, mode: str = "max") -> np.ndarray:
    """Vectorised pooling. x [B, C, H, W] -> [B, C, H_out, W_out]; stride defaults to ``size``."""
    stride = size if stride is None else stride
    _pool_reduction(mode)
    for axis in (2, 3):  # raises if the window does not fit
        output_size(x.shape[axis], size, stride)
    windows = sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    return windows.max(axis=(-2, -1)) if mode == "max" else windows.mean(axis=(-2, -1))


def _pool_reduction(mode: str):
    if mode == "max":
        return np.max
    if mode == "average":
        return np.mean
    raise ValueError(f"pooling mode {mode!r}: use 'max' or 'average'")


def fully_connected_weights(height: int, width: int, hidden_units: int) -> int:
    """Weights of a fully connected layer from a height x width image to ``hidden_units`` units (no biases)."""
    return height * width * hidden_units


def convolution_weights(feature_maps: int, kernel_h: int, kernel_w: int, in_channels: int = 1) -> int:
    """Weights of a convolution layer: one shared kernel per (feature map, input channel) (no biases);
    independent of the image size."""
    return feature_maps * in_channels * kernel_h * kernel_w
