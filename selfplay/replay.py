"""The replay store: a sliding window of training positions, preallocated and typed.

``ReplayStore`` is plain Python (tested without Ray); ``tenuki.selfplay.actors.ReplayBuffer`` is the Ray
actor around it. Storage is a ring of ``capacity`` (= ``replay.window_max``) samples, one
preallocated array per field (``fields``: name -> (shape, dtype)); a ``"bool"`` field (the 0/1
input planes) is stored bit-packed, 8 planes-points a byte, and unpacked when sampled.

Window (KataGo, Wu 2019, "Accelerating Self-Play Learning in Go", section 5): with n positions
added so far and c = ``window_min``, the window is the newest

    c * (1 + beta * ((n / c) ** alpha - 1) / alpha)       (for n > c; n itself before)

positions, capped at ``capacity``; early data, played by weak networks, leaves the window fast.

Sampling is uniform over the window, with a seeded RNG owned by the store; with ``symmetries``
each sampled position is transformed by a random one of the 8 board symmetries (planes and the
policy target together; the pass entry and the value are unchanged).

A game is added once: its ``game_id`` is remembered (also across snapshots), and a game sent
again (a retried call after a worker or buffer restart) is ignored. ``snapshot(path)`` writes the
window atomically (temporary file, fsync, rename) as an ``.npz`` of plain arrays that ``restore``
reads with ``allow_pickle=False``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from tenuki.common.atomic import atomic_write

SNAPSHOT_FORMAT = 1


class ReplayError(ValueError):
    """A replay snapshot that cannot be read or does not match the buffer."""


def window_size(total: int, window_min: int, exponent: float, beta: float, capacity: int) -> int:
    """KataGo's growing window for ``total`` positions seen (see the module docstring)."""
    if total <= window_min:
        return min(total, capacity)
    c = float(window_min)
    grown = c * (1.0 + beta * ((total / c) ** exponent - 1.0) / exponent)
    return int(min(grown, total, capacity))


def symmetry_indices(size: int) -> np.ndarray:
    """int64[8, N*N]: ``out[k][j]`` = the point whose value lands on point j under symmetry k
    (the same convention as ``tenuki.search.symmetry.apply_symmetry``)."""
    from tenuki.search.symmetry import apply_symmetry

    base = np.arange(size * size).reshape(size, size)
    return np.stack([apply_symmetry(base, k).reshape(-1) for k in range(8)])


class ReplayStore:
    def __init__(self, fields: dict[str, tuple[tuple[int, ...], str]], capacity: int, window_min: int,
                 window_exponent: float = 0.75, window_beta: float = 0.4, symmetries: bool = True,
                 board_size: int | None = None, seed: int = 0):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.fields = {name: (tuple(shape), dtype) for name, (shape, dtype) in fields.items()}
        self.capacity = int(capacity)
        self.window_min = int(window_min)
        self.window_exponent = float(window_exponent)
        self.window_beta = float(window_beta)
        self.symmetries = bool(symmetries) and board_size is not None
        self.board_size = board_size
        self.rng = np.random.default_rng(seed)
        self._data: dict[str, np.ndarray] = {}
        for name, (shape, dtype) in self.fields.items():
            if dtype == "bool":
                packed = (int(np.prod(shape)) + 7) // 8
                self._data[name] = np.zeros((self.capacity, packed), np.uint8)
            else:
                self._data[name] = np.zeros((self.capacity, *shape), np.dtype(dtype))
        self.total_added = 0  # positions ever added (the ring's write cursor is total_added % capacity)
        self.games_added = 0
        self._game_ids: set[int] = set()
        self._sym = symmetry_indices(board_size) if self.symmetries else None

    # ------------------------------------------------------------------ adding

    def __len__(self) -> int:
        return min(self.total_added, self.capacity)

    def has_game(self, game_id: int) -> bool:
        return int(game_id) in self._game_ids

    def add(self, game_id: int, samples: dict[str, np.ndarray]) -> int:
        """Add one game's samples; returns how many were added (0 for a game already seen)."""
        game_id = int(game_id)
        if game_id in self._game_ids:
            return 0
        if set(samples) != set(self.fields):
            raise ReplayError(f"game {game_id}: fields {sorted(samples)} do not match the buffer's {sorted(self.fields)}")
        count = int(next(iter(samples.values())).shape[0]) if samples else 0
        for name, (shape, _) in self.fields.items():
            if samples[name].shape != (count, *shape):
                raise ReplayError(f"game {game_id}: field {name!r} has shape {samples[name].shape}, "
                                  f"expected {(count, *shape)}")
        if count > self.capacity:  # only the newest fit
            samples = {name: array[-self.capacity :] for name, array in samples.items()}
            count = self.capacity
        slots = (self.total_added + np.arange(count)) % self.capacity
        for name, (shape, dtype) in self.fields.items():
            values = samples[name]
            if dtype == "bool":  # reshape(count, -1) is ambiguous for an empty game
                values = np.packbits(values.reshape(count, int(np.prod(shape))).astype(bool), axis=1)
            self._data[name][slots] = values
        self.total_added += count
        self.games_added += 1
        self._game_ids.add(game_id)
        return count

    def add_games(self, games: Iterable[tuple[int, dict[str, np.ndarray]]]) -> int:
        return sum(self.add(game_id, samples) for game_id, samples in games)

    # ------------------------------------------------------------------ sampling

    def window(self) -> int:
        return window_size(self.total_added, self.window_min, self.window_exponent, self.window_beta, self.capacity)

    def sample_indices(self, batch_size: int) -> np.ndarray:
        window = self.window()
        if window == 0:
            raise ReplayError("cannot sample from an empty replay buffer")
        back = self.rng.integers(0, window, size=batch_size)  # 0 = the newest position
        return (self.total_added - 1 - back) % self.capacity

    def gather(self, slots: np.ndarray) -> dict[str, np.ndarray]:
        """The samples at ring ``slots``, unpacked, without symmetry."""
        out = {}
        for name, (shape, dtype) in self.fields.items():
            values = self._data[name][slots]
            if dtype == "bool":
                size = int(np.prod(shape))
                values = np.unpackbits(values, axis=1, count=size).reshape(len(slots), *shape)
            out[name] = values
        return out

    def sample(self, batch_size: int) -> dict[str, np.ndarray]:
        """``batch_size`` samples drawn uniformly from the window, each under a random symmetry."""
        batch = self.gather(self.sample_indices(batch_size))
        if self._sym is not None:
            ks = self.rng.integers(0, 8, size=batch_size)
            batch = self.apply_symmetries(batch, ks)
        return batch

    def apply_symmetries(self, batch: dict[str, np.ndarray], ks: np.ndarray) -> dict[str, np.ndarray]:
        """Transform sample i by symmetry ks[i]: ``planes`` [B, C, N, N], the board part of
        ``policy`` [B, N*N+1] and ``ownership`` [B, N*N]; other fields are invariant."""
        n = self.board_size
        points = n * n
        index = self._sym[ks]  # [B, N*N]
        out = dict(batch)
        if "planes" in batch:
            planes = batch["planes"]
            flat = planes.reshape(planes.shape[0], planes.shape[1], points)
            out["planes"] = np.take_along_axis(flat, index[:, None, :], axis=2).reshape(planes.shape)
        if "policy" in batch:
            policy = batch["policy"].copy()
            policy[:, :points] = np.take_along_axis(batch["policy"][:, :points], index, axis=1)
            out["policy"] = policy
        if "ownership" in batch:
            out["ownership"] = np.take_along_axis(batch["ownership"], index, axis=1)
        return out

    # ------------------------------------------------------------------ snapshots

    def ordered_slots(self) -> np.ndarray:
        """Ring slots of the stored positions, oldest first."""
        held = len(self)
        return (self.total_added - held + np.arange(held)) % self.capacity

    def snapshot(self, path: str | Path, keep: int | None = None) -> Path:
        """Write the newest ``keep`` (default: the window's) positions atomically to ``path``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        slots = self.ordered_slots()
        keep = self.window() if keep is None else keep
        slots = slots[len(slots) - min(keep, len(slots)) :]
        arrays = {f"field_{name}": self._data[name][slots] for name in self.fields}
        arrays["meta"] = np.array([SNAPSHOT_FORMAT, self.total_added, self.games_added], np.int64)
        arrays["game_ids"] = np.fromiter(sorted(self._game_ids), np.int64, len(self._game_ids))
        return atomic_write(path, lambda stream: np.savez(stream, **arrays))

    def restore(self, path: str | Path) -> int:
        """Load a snapshot into this (empty) store; returns the positions restored."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as archive:
                contents = {name: archive[name] for name in archive.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:  # truncated zip, bad CRC
            raise ReplayError(f"replay snapshot {path} cannot be read: {error}") from error
        meta = contents.get("meta")
        if meta is None or meta.shape != (3,) or int(meta[0]) != SNAPSHOT_FORMAT:
            raise ReplayError(f"replay snapshot {path}: missing or unknown format header")
        held = None
        for name in self.fields:
            stored = contents.get(f"field_{name}")
            shape, dtype = self.fields[name]
            if dtype == "bool" and stored is not None and stored.dtype == np.uint8 and stored.shape[1:] == shape:
                # a snapshot written before the planes were bit-packed: pack them now
                stored = np.packbits(stored.reshape(stored.shape[0], -1).astype(bool), axis=1)
                contents[f"field_{name}"] = stored
            if stored is None or stored.shape[1:] != self._data[name].shape[1:] or stored.dtype != self._data[name].dtype:
                raise ReplayError(f"replay snapshot {path}: field {name!r} is missing or has the wrong shape/dtype")
            if held is not None and stored.shape[0] != held:
                raise ReplayError(f"replay snapshot {path}: fields hold different numbers of positions")
            held = stored.shape[0]
        held = min(held or 0, self.capacity)
        total = int(meta[1])
        slots = (total - held + np.arange(held)) % self.capacity
        for name in self.fields:
            self._data[name][slots] = contents[f"field_{name}"][-held:] if held else self._data[name][:0]
        self.total_added = total
        self.games_added = int(meta[2])
        self._game_ids = {int(g) for g in contents.get("game_ids", np.zeros(0, np.int64))}
        return held

    def stats(self) -> dict[str, int]:
        return {"positions": len(self), "window": self.window(), "total_added": self.total_added,
                "games_added": self.games_added}
