"""The streaming loader of training positions: ``PositionStream`` replays the stored games of a
split, calls ``feature_fn`` before each move and yields shuffled, symmetry-augmented ``Batch``es."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from tenuki.agents.go.dataset.shards import BOARD_SIZE, DatasetError, GameShards, _check_part, _progress
from tenuki.envs.go.board import BLACK, Board
from tenuki.search.symmetry import apply_symmetry


class Batch(NamedTuple):
    planes: np.ndarray  # [B, C, 19, 19], feature_fn's dtype
    actions: np.ndarray  # int64[B], 0..361 (361 = pass)
    values: np.ndarray  # float32[B], outcome for the side to move: +1 won, -1 lost, 0 draw / unknown


# ------------------------------------------------------------------------------- training stream


def _action_symmetries(size: int = BOARD_SIZE) -> np.ndarray:
    """int64[8, N*N+1]: the action symmetry k of ``tenuki.search.symmetry.apply_symmetry`` sends each action
    to (a stone at a lands at maps[k, a] in the transformed planes); pass stays pass."""
    grid = np.arange(size * size).reshape(size, size)
    maps = np.empty((8, size * size + 1), np.int64)
    for k in range(8):
        moved = apply_symmetry(grid, k).reshape(-1)  # moved[new point] = old point
        maps[k, moved] = np.arange(size * size)
        maps[k, size * size] = size * size
    return maps


ACTION_SYMMETRIES = _action_symmetries()


def augment(planes: np.ndarray, actions: np.ndarray, symmetries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """planes[B, C, N, N], actions int[B], symmetries int[B] in 0..7 -> transformed copies: sample b
    under symmetry symmetries[b], its planes and its move label alike."""
    out, labels = np.empty_like(planes), np.empty(actions.shape, np.int64)
    for k in np.unique(symmetries):
        rows = symmetries == k
        out[rows] = apply_symmetry(planes[rows], int(k))
        labels[rows] = ACTION_SYMMETRIES[k][actions[rows]]
    return out, labels


class PositionStream:
    """Shuffled training batches of one split: ``for planes, actions, values in stream`` is one epoch.

    Each epoch visits the games in a new order (shards and games permuted, seed + epoch number),
    replays each one and calls ``feature_fn(board) -> planes[C, 19, 19]`` (any dtype) before each move
    (before each of ``positions_per_game`` random moves of the game when given; ``decided_only``:
    only games with a known winner, for value targets). Positions go
    through a shuffle buffer of ``shuffle_buffer`` samples (0: none) so a batch mixes many games; with
    ``symmetries`` each sample gets a uniformly random one of the 8 board symmetries, applied to
    planes and move label alike. The last batch of an epoch may be smaller; ``max_positions`` ends
    the epoch after that many positions. Batches are fresh arrays the caller may keep.

    ``part=(i, k)``: this stream reads every k-th game from the i-th (one of k loader processes,
    e.g. torch DataLoader workers, all given the same seed). The shuffle buffer holds
    ``shuffle_buffer`` samples of C x 361 feature values each (48 uint8 planes: 17 kB a sample,
    280 MB for the default 16384).
    """

    def __init__(self, directory: str | Path, split: str, feature_fn: Callable[[Board], np.ndarray],
                 batch_size: int = 256, shuffle_buffer: int = 16384, symmetries: bool = True, seed: int = 0,
                 max_positions: int | None = None, progress: bool = False, positions_per_game: int | None = None,
                 shuffle_games: bool = True, part: tuple[int, int] | None = None, decided_only: bool = False):
        for name, value, least in (("batch_size", batch_size, 1), ("shuffle_buffer", shuffle_buffer, 0),
                                   ("max_positions", max_positions, 0), ("positions_per_game", positions_per_game, 1)):
            if value is not None and (not isinstance(value, (int, np.integer)) or value < least):
                raise DatasetError(f"{name}={value!r} is not allowed (an integer >= {least})")
        self.part = _check_part(part)
        self.games = GameShards(directory, split)
        self.feature_fn, self.batch_size, self.shuffle_buffer = feature_fn, int(batch_size), int(shuffle_buffer)
        self.symmetries, self.seed, self.max_positions = symmetries, seed, max_positions
        self.progress, self.positions_per_game, self.shuffle_games = progress, positions_per_game, shuffle_games
        self.decided_only = decided_only
        self.epoch = 0

    def __iter__(self) -> Iterator[Batch]:
        rng = np.random.default_rng([self.seed, self.epoch, *self.part])  # this part's sampling
        order_seed = int(np.random.default_rng([self.seed, self.epoch]).integers(2**63))  # shared by parts
        self.epoch += 1
        total = self.max_positions
        if self.positions_per_game is None and self.part == (0, 1) and not self.decided_only:
            total = min(total if total is not None else self.games.positions, self.games.positions)
        with _progress(self.progress, f"{self.games.split} positions", "{task.fields[rate]}") as bar:
            task = bar.add_task("positions", total=total, rate="") if bar else None
            start, done = time.perf_counter(), 0
            for batch in self._batches(rng, order_seed):
                if bar:
                    done += batch.actions.size
                    rate = done / max(time.perf_counter() - start, 1e-9)
                    bar.update(task, completed=done, rate=f"{rate:,.0f} positions/s")
                yield batch

    def _samples(self, rng: np.random.Generator, order_seed: int) -> Iterator[tuple[np.ndarray, int, float]]:
        """(planes, action, value for the mover) of each chosen position, games in epoch order."""
        k = self.positions_per_game
        for game in self.games.iter_games(shuffle=self.shuffle_games, seed=order_seed, part=self.part):
            if self.decided_only and game.winner == 0:  # a draw or an unknown result (stored alike)
                continue
            chosen, last = None, game.actions.size - 1
            if k is not None and k < game.actions.size:
                picks = rng.choice(game.actions.size, k, replace=False)
                chosen, last = np.zeros(game.actions.size, bool), int(picks.max())
                chosen[picks] = True
            for i, (board, colour, action) in enumerate(self.games.replay(game)):
                if chosen is None or chosen[i]:
                    yield self.feature_fn(board), action, float(game.winner if colour == BLACK else -game.winner)
                if i == last:
                    break

    def _batches(self, rng: np.random.Generator, order_seed: int) -> Iterator[Batch]:
        limit = self.max_positions if self.max_positions is not None else np.inf
        cap, size = self.shuffle_buffer, self.batch_size
        buffer: Batch | None = None
        batch: Batch | None = None
        filled = rows = emitted = 0
        draws, next_draw = np.empty(0, np.int64), 0

        def new_batch(like: np.ndarray) -> Batch:
            return Batch(np.empty((size, *like.shape), like.dtype), np.empty(size, np.int64),
                         np.empty(size, np.float32))

        def finish(b: Batch, n: int) -> Batch:
            planes, actions, values = b.planes[:n], b.actions[:n], b.values[:n]
            if self.symmetries:
                planes, actions = augment(planes, actions, rng.integers(8, size=n))
            return Batch(planes, actions, values)

        if limit == 0:
            return
        for planes, action, value in self._samples(rng, order_seed):
            if batch is None:
                planes = np.asarray(planes)
                if planes.ndim != 3 or planes.shape[1:] != (BOARD_SIZE, BOARD_SIZE):
                    raise DatasetError(f"feature_fn returned shape {planes.shape}, expected [C, 19, 19]")
                batch = new_batch(planes)
                buffer = Batch(np.empty((cap, *planes.shape), planes.dtype), np.empty(cap, np.int64),
                               np.empty(cap, np.float32))
            if filled < cap:  # filling the buffer: nothing leaves yet
                buffer.planes[filled], buffer.actions[filled], buffer.values[filled] = planes, action, value
                filled += 1
                continue
            if cap:  # a random sample leaves the buffer for the batch, the new one takes its slot
                if next_draw == draws.size:
                    draws, next_draw = rng.integers(cap, size=4096), 0
                j = draws[next_draw]
                next_draw += 1
                batch.planes[rows], batch.actions[rows], batch.values[rows] = (
                    buffer.planes[j], buffer.actions[j], buffer.values[j])
                buffer.planes[j], buffer.actions[j], buffer.values[j] = planes, action, value
            else:
                batch.planes[rows], batch.actions[rows], batch.values[rows] = planes, action, value
            rows += 1
            emitted += 1
            if rows == size:
                yield finish(batch, rows)
                batch, rows = new_batch(batch.planes[0]), 0
            if emitted >= limit:
                break
        for j in rng.permutation(filled):  # the end of the epoch: drain the buffer
            if emitted >= limit:
                break
            batch.planes[rows], batch.actions[rows], batch.values[rows] = (
                buffer.planes[j], buffer.actions[j], buffer.values[j])
            rows += 1
            emitted += 1
            if rows == size:
                yield finish(batch, rows)
                batch, rows = new_batch(batch.planes[0]), 0
        if rows:
            yield finish(batch, rows)
