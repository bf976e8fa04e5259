"""Training and validation positions of a supervised run, read from the shards of ``tenuki data build``
(``tenuki.agents.go.dataset``).

Silver et al. 2016, Methods, "Supervised learning of policy networks": positions of strong human games,
the 48 feature planes (``tenuki.agents.go.features``; 49 for the value network), a random one of the 8
symmetries. Here:

- the dataset is split by game into train and validation (``tenuki data build``); the validation
  figures use a fixed set of the first ``train.val_positions`` positions of the validation split,
  without symmetries (``validation_set``);
- training batches come from a shuffled ``PositionStream`` in the training process, or from
  ``train.loader_workers`` DataLoader processes, worker i of k reading every k-th game
  (``training_batches``);
- ``target: value`` labels each position with the game's result for the side to move, games without
  a winner left out, and draws ``data.positions_per_game`` random positions of each game an epoch
  (1 in ``configs/sl/value19.yaml``). The paper generated value data by self-play (``tenuki train
  value``) because successive positions of one game are strongly correlated and training on all of
  them overfits (KGS: 0.19 train / 0.37 test MSE); one position per game per epoch keeps that
  correlation out of a batch while using real games that cost nothing to generate (a self-play game
  costs ~1 s of this CPU).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from tenuki.agents.go.features import feature_fn
from tenuki.agents.go.sl.config import SLConfig
from tenuki.common.yaml_config import ConfigError


def _labels(config: SLConfig) -> int:
    """The field of a ``Batch`` a target learns: the move (1) or the result for the mover (2)."""
    return 2 if config.target == "value" else 1


def _batches(stream, epochs: int | None = 1, labels: int = 1) -> Any:
    """(planes, labels) of ``epochs`` passes over the stream (None: for ever); ``labels``: the
    field of the batch (1: the moves, 2: the results)."""
    epoch = 0
    while epochs is None or epoch < epochs:
        empty = True
        for batch in stream:
            empty = False
            yield batch[0], batch[labels]
        if empty:
            raise ConfigError("data.dir: a split of the dataset has no positions")
        epoch += 1


def _open_stream(config: SLConfig, split: str, seed: int, symmetries: bool, max_positions: int | None,
                 batch_size: int, shuffle_buffer: int, part: tuple[int, int] | None = None):
    from tenuki.agents.go.dataset import PositionStream

    features = feature_fn(value=config.target == "value")
    per_game = config.data.positions_per_game
    if split == "val" and config.data.val_positions_per_game:
        per_game = config.data.val_positions_per_game
    return PositionStream(config.data.dir, split, features, batch_size=batch_size, shuffle_buffer=shuffle_buffer,
                          symmetries=symmetries, seed=seed, max_positions=max_positions, progress=False, part=part,
                          positions_per_game=per_game or None, decided_only=config.target == "value")


class _StreamParts(torch.utils.data.IterableDataset):
    """The training stream split over DataLoader workers: worker i of k reads every k-th game
    (``PositionStream(part=(i, k))``) with a shuffle buffer of its own."""

    def __init__(self, config: SLConfig, seed: int):
        super().__init__()
        self.config, self.seed = config, seed
        self._stream = None  # one per worker, kept across epochs (persistent workers): each epoch a new order

    def __iter__(self):
        if self._stream is None:
            info = torch.utils.data.get_worker_info()
            part = (info.id, info.num_workers) if info is not None else None
            c = self.config
            self._stream = _open_stream(c, "train", seed=self.seed, symmetries=c.data.symmetries, max_positions=None,
                                        batch_size=c.optim.batch_size, shuffle_buffer=c.data.shuffle_buffer, part=part)
        labels = _labels(self.config)
        for batch in self._stream:
            yield torch.from_numpy(batch[0]), torch.from_numpy(batch[labels])


def training_batches(config: SLConfig, seed: int):
    """Endless (planes, labels) training batches: from the stream in this process, or from
    ``train.loader_workers`` DataLoader processes (pinned memory for a GPU)."""
    workers = config.train.loader_workers
    if workers <= 0:
        stream = _open_stream(config, "train", seed=seed, symmetries=config.data.symmetries, max_positions=None,
                              batch_size=config.optim.batch_size, shuffle_buffer=config.data.shuffle_buffer)
        yield from _batches(stream, epochs=None, labels=_labels(config))
        return
    loader = torch.utils.data.DataLoader(_StreamParts(config, seed), batch_size=None, num_workers=workers,
                                         pin_memory=config.train.device != "cpu", persistent_workers=True,
                                         prefetch_factor=4)
    while True:
        empty = True
        for planes, actions in loader:
            empty = False
            yield planes, actions
        if empty:
            raise ConfigError("data.dir: the train split of the dataset has no positions")


def validation_set(config: SLConfig, split: str = "val") -> tuple[np.ndarray, np.ndarray]:
    """The fixed validation positions: (planes uint8[V, C, N, N], labels[V]): the moves (int64) for
    the policy, the results for the side to move (float32) for the value network. ``split="train"``:
    as many fixed positions of the training games (the value run's train MSE)."""
    planes, labels = [], []
    dtype = np.float32 if config.target == "value" else np.int64
    stream = _open_stream(config, split, seed=12345, symmetries=False, max_positions=config.train.val_positions,
                          batch_size=256, shuffle_buffer=2048)
    for x, y in _batches(stream, labels=_labels(config)):
        planes.append(np.asarray(x, np.uint8))
        labels.append(np.asarray(y, dtype))
    if not planes:
        raise ConfigError(f"data.dir: {config.data.dir} has no {split} positions")
    return np.concatenate(planes)[: config.train.val_positions], np.concatenate(labels)[: config.train.val_positions]
