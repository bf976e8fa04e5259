"""tenuki.selfplay.replay.ReplayStore without Ray: KataGo's window in closed form, adding (deduplicated by
game id) into a ring, sampling from the window only, the 8 symmetries against a slow reference,
bit-packed planes, and snapshots (round trip, corrupt or mismatched files)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from tenuki.search.symmetry import apply_symmetry
from tenuki.selfplay.replay import ReplayError, ReplayStore, symmetry_indices, window_size

N = 5
POINTS = N * N
FIELDS = {"planes": ((17, N, N), "uint8"), "policy": ((POINTS + 1,), "float32"), "value": ((), "float32")}


def _store(capacity: int = 64, window_min: int = 8, fields=None, board_size: int | None = N, seed: int = 0,
           **kwargs) -> ReplayStore:
    return ReplayStore(FIELDS if fields is None else fields, capacity, window_min, board_size=board_size,
                       seed=seed, **kwargs)


def _game(count: int, first: int = 0, rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """``count`` samples whose value field is their global index (first, first + 1, ...)."""
    rng = rng or np.random.default_rng(first)
    policy = rng.random((count, POINTS + 1)).astype(np.float32)
    return {"planes": rng.integers(0, 2, (count, 17, N, N), dtype=np.uint8),
            "policy": policy / policy.sum(axis=1, keepdims=True),
            "value": np.arange(first, first + count, dtype=np.float32)}


def _fill(store: ReplayStore, sizes: list[int], first_id: int = 0) -> int:
    total = 0
    for i, count in enumerate(sizes):
        assert store.add(first_id + i, _game(count, total)) == count
        total += count
    return total


# --------------------------------------------------------------------------- window


@pytest.mark.parametrize(("total", "expected"), [
    (0, 0), (1, 1), (500, 500), (1000, 1000),  # up to window_min: everything
    # c (1 + beta ((n / c)^alpha - 1) / alpha) with c = 1000, alpha = 0.75, beta = 0.4:
    (16_000, 4733),  # 16^0.75 = 8:    1000 (1 + 0.4 * 7 / 0.75) = 4733.3
    (81_000, 14866),  # 81^0.75 = 27:   1000 (1 + 0.4 * 26 / 0.75) = 14866.7
    (625_000, 67133),  # 625^0.75 = 125: 1000 (1 + 0.4 * 124 / 0.75) = 67133.3
])
def test_window_size_closed_form(total, expected):
    assert window_size(total, 1000, 0.75, 0.4, capacity=10**9) == expected


def test_window_size_is_capped_by_capacity_and_total():
    assert window_size(16_000, 1000, 0.75, 0.4, capacity=3000) == 3000
    assert window_size(500, 1000, 0.75, 0.4, capacity=200) == 200
    # beta > alpha would make the formula exceed the data seen: the window is then everything
    assert window_size(2000, 1000, 0.5, 5.0, capacity=10**9) == 2000
    # alpha = beta = 1: the window is all the data (c (1 + (n/c - 1)) = n)
    assert window_size(12_345, 1000, 1.0, 1.0, capacity=10**9) == 12_345


def test_window_size_never_shrinks():
    sizes = [window_size(n, 100, 0.75, 0.4, 2000) for n in range(0, 20_000, 37)]
    assert sizes == sorted(sizes)
    assert sizes[-1] == 2000 and sizes.count(2000) > 1  # reaches the cap and stays there


# --------------------------------------------------------------------------- adding


def test_a_game_is_added_once():
    store = _store()
    assert store.add(7, _game(5)) == 5
    assert store.has_game(7) and not store.has_game(8)
    before = store.stats()
    assert store.add(7, _game(5, 100)) == 0  # a retried call after a restart
    assert store.stats() == before == {"positions": 5, "window": 5, "total_added": 5, "games_added": 1}
    np.testing.assert_array_equal(store.gather(store.ordered_slots())["value"], np.arange(5))
    assert store.add_games([(7, _game(2)), (9, _game(3))]) == 3
    assert store.games_added == 2 and store.total_added == 8


def test_adding_a_game_with_wrong_fields_or_shapes_is_an_error():
    store = _store()
    game = _game(3)
    with pytest.raises(ReplayError, match="fields"):
        store.add(1, {"planes": game["planes"], "value": game["value"]})
    with pytest.raises(ReplayError, match="'policy' has shape"):
        store.add(2, {**game, "policy": game["policy"][:, :-1]})
    with pytest.raises(ReplayError, match="'value' has shape"):
        store.add(3, {**game, "value": game["value"][:2]})
    assert store.total_added == 0 and store.games_added == 0 and not store.has_game(1)


def test_the_ring_keeps_the_newest_positions():
    store = _store(capacity=10, window_min=100)
    total = _fill(store, [4, 4, 4])  # 12 positions in a ring of 10
    assert len(store) == 10 and store.total_added == total == 12
    held = store.gather(store.ordered_slots())
    np.testing.assert_array_equal(held["value"], np.arange(2, 12))
    # planes and policies travel with their value
    reference = {k: np.concatenate([_game(4, 0)[k], _game(4, 4)[k], _game(4, 8)[k]])[2:] for k in ("planes", "policy")}
    np.testing.assert_array_equal(held["planes"], reference["planes"])
    np.testing.assert_array_equal(held["policy"], reference["policy"])


def test_a_game_longer_than_the_ring_keeps_its_end():
    store = _store(capacity=6, window_min=100)
    _fill(store, [3])
    assert store.add(1, _game(15, 3)) == 6
    assert store.total_added == 9
    np.testing.assert_array_equal(store.gather(store.ordered_slots())["value"], np.arange(12, 18))


def test_an_empty_game_is_remembered():
    store = _store()
    assert store.add(4, _game(0)) == 0
    assert store.has_game(4) and store.games_added == 1 and store.total_added == 0


# --------------------------------------------------------------------------- sampling


def test_sampling_draws_only_from_the_window():
    store = _store(capacity=100, window_min=10, symmetries=False)
    total = _fill(store, [7, 11, 13, 9, 20])  # 60 positions
    window = store.window()
    assert window == int(10 * (1 + 0.4 * ((60 / 10) ** 0.75 - 1) / 0.75)) == 25
    values = store.sample(4000)["value"].astype(int)
    assert values.min() >= total - window and values.max() <= total - 1
    assert set(values) == set(range(total - window, total))  # every position of the window is drawn
    counts = np.bincount(values - (total - window))
    assert counts.min() > 0.5 * 4000 / window  # roughly uniform


def test_sampling_after_wrap_around_stays_in_the_window():
    store = _store(capacity=30, window_min=20, symmetries=False)
    total = _fill(store, [13] * 7)  # 91 positions through a ring of 30
    window = store.window()
    assert window == 30  # capped by the capacity
    values = store.sample(3000)["value"].astype(int)
    assert set(values) == set(range(total - window, total))


def test_sample_slots_are_the_newest_window():
    store = _store(capacity=50, window_min=5, symmetries=False)
    total = _fill(store, [40, 30])
    slots = store.sample_indices(2000)
    window = store.window()
    newest = {(total - 1 - back) % 50 for back in range(window)}
    assert set(slots.tolist()) == newest


def test_sampling_an_empty_store_is_an_error():
    with pytest.raises(ReplayError, match="empty"):
        _store().sample(4)


# --------------------------------------------------------------------------- symmetries


def test_symmetry_indices_are_permutations_and_0_is_the_identity():
    index = symmetry_indices(N)
    assert index.shape == (8, POINTS)
    np.testing.assert_array_equal(index[0], np.arange(POINTS))
    for row in index:
        np.testing.assert_array_equal(np.sort(row), np.arange(POINTS))
    assert len({tuple(row) for row in index}) == 8


def _reference(batch: dict[str, np.ndarray], ks: np.ndarray) -> dict[str, np.ndarray]:
    """Sample by sample with tenuki.search.symmetry.apply_symmetry."""
    planes = np.stack([apply_symmetry(p, int(k)) for p, k in zip(batch["planes"], ks, strict=True)])
    policy = batch["policy"].copy()
    for i, k in enumerate(ks):
        policy[i, :POINTS] = apply_symmetry(batch["policy"][i, :POINTS].reshape(N, N), int(k)).reshape(-1)
    return {"planes": planes, "policy": policy, "value": batch["value"]}


@pytest.mark.parametrize("k", range(8))
def test_apply_symmetries_matches_the_slow_reference(k):
    store = _store()
    batch = _game(6, 10, np.random.default_rng(k))
    ks = np.full(6, k)
    out = store.apply_symmetries(batch, ks)
    expected = _reference(batch, ks)
    for name in FIELDS:
        np.testing.assert_array_equal(out[name], expected[name], err_msg=name)
    np.testing.assert_array_equal(out["policy"][:, POINTS], batch["policy"][:, POINTS])  # pass unchanged
    np.testing.assert_array_equal(out["value"], batch["value"])
    if k:
        assert not np.array_equal(out["policy"], batch["policy"])
    np.testing.assert_array_equal(batch["value"], np.arange(10, 16))  # the input is not modified


def test_apply_symmetries_with_a_different_symmetry_per_sample():
    store = _store()
    batch = _game(16, 0, np.random.default_rng(3))
    ks = np.arange(16) % 8
    out = store.apply_symmetries(batch, ks)
    expected = _reference(batch, ks)
    for name in FIELDS:
        np.testing.assert_array_equal(out[name], expected[name], err_msg=name)


def test_sampled_positions_are_symmetries_of_the_stored_one():
    store = _store(seed=1)
    game = _game(1, 0, np.random.default_rng(5))
    store.add(0, game)
    variants = [_reference(game, np.array([k])) for k in range(8)]
    seen = set()
    batch = store.sample(64)
    for i in range(64):
        matches = [k for k, v in enumerate(variants)
                   if np.array_equal(batch["planes"][i], v["planes"][0])
                   and np.array_equal(batch["policy"][i], v["policy"][0])]
        assert matches, f"sample {i} is not a symmetry of the stored position"
        seen.update(matches)
    assert len(seen) == 8  # a random symmetry for each sample


def test_without_symmetries_samples_are_the_stored_position():
    store = _store(symmetries=False)
    game = _game(1, 0)
    store.add(0, game)
    batch = store.sample(10)
    np.testing.assert_array_equal(batch["planes"], np.repeat(game["planes"], 10, axis=0))


# --------------------------------------------------------------------------- packed planes


def test_bool_fields_are_bit_packed_and_round_trip_exactly():
    fields = {"planes": ((17, N, N), "bool"), "value": ((), "float32")}
    store = _store(capacity=20, fields=fields)
    rng = np.random.default_rng(0)
    planes = rng.integers(0, 2, (13, 17, N, N), dtype=np.uint8)  # 425 bits a sample, not a multiple of 8
    store.add(0, {"planes": planes, "value": np.arange(13, dtype=np.float32)})
    assert store._data["planes"].shape == (20, (17 * POINTS + 7) // 8)
    assert store._data["planes"].dtype == np.uint8
    held = store.gather(store.ordered_slots())
    np.testing.assert_array_equal(held["planes"], planes)
    assert held["planes"].shape == (13, 17, N, N)
    # sampled with symmetries: the unpacked planes are transformed like the uint8 ones
    store.rng = np.random.default_rng(4)
    slots = store.sample_indices(8)
    ks = store.rng.integers(0, 8, size=8)
    store.rng = np.random.default_rng(4)
    sampled = store.sample(8)
    values = sampled["value"].astype(int)
    np.testing.assert_array_equal(values, store.gather(slots)["value"].astype(int))
    for i, (v, k) in enumerate(zip(values, ks, strict=True)):
        np.testing.assert_array_equal(sampled["planes"][i], apply_symmetry(planes[v], int(k)))


def test_bool_field_accepts_true_false_and_an_empty_game():
    fields = {"planes": ((17, N, N), "bool"), "value": ((), "float32")}
    store = _store(capacity=8, fields=fields)
    planes = np.random.default_rng(1).random((3, 17, N, N)) < 0.5
    assert store.add(0, {"planes": np.zeros((0, 17, N, N), bool), "value": np.zeros(0, np.float32)}) == 0
    assert store.add(1, {"planes": planes, "value": np.zeros(3, np.float32)}) == 3
    np.testing.assert_array_equal(store.gather(store.ordered_slots())["planes"], planes.astype(np.uint8))


# --------------------------------------------------------------------------- snapshots


def test_snapshot_restore_round_trip(tmp_path):
    store = _store(capacity=40, window_min=6, seed=3)
    total = _fill(store, [9, 14, 11, 12], first_id=100)  # 46 positions: wrapped around
    path = store.snapshot(tmp_path / "replay.npz")
    assert path == tmp_path / "replay.npz" and path.exists()
    assert not [p for p in tmp_path.iterdir() if p.name != "replay.npz"]  # no temporary left

    fresh = _store(capacity=40, window_min=6, seed=99)
    assert fresh.restore(path) == store.window()
    assert fresh.total_added == store.total_added == total
    assert fresh.games_added == store.games_added == 4
    assert fresh.window() == store.window()
    assert all(fresh.has_game(g) for g in range(100, 104)) and not fresh.has_game(104)
    # the window's positions are the same, in the same ring slots
    window_slots = (total - 1 - np.arange(store.window())) % 40
    for name in FIELDS:
        np.testing.assert_array_equal(fresh.gather(window_slots)[name], store.gather(window_slots)[name])
    # the same draws give the same batches
    store.rng, fresh.rng = np.random.default_rng(5), np.random.default_rng(5)
    a, b = store.sample(32), fresh.sample(32)
    for name in FIELDS:
        np.testing.assert_array_equal(a[name], b[name])
    # a game sent again after the restore is ignored; a new one goes on from the same cursor
    assert fresh.add(102, _game(5, 500)) == 0
    assert fresh.add(104, _game(3, total)) == 3 and store.add(104, _game(3, total)) == 3
    np.testing.assert_array_equal(fresh.gather(window_slots)["value"], store.gather(window_slots)["value"])


def test_snapshot_keep_limits_the_positions_written(tmp_path):
    store = _store(capacity=40, window_min=100)
    total = _fill(store, [10, 10])
    path = store.snapshot(tmp_path / "r.npz", keep=5)
    fresh = _store(capacity=40, window_min=100)
    assert fresh.restore(path) == 5
    slots = (total - 5 + np.arange(5)) % 40
    np.testing.assert_array_equal(fresh.gather(slots)["value"], np.arange(15, 20))


def test_snapshot_of_an_empty_store_restores_empty(tmp_path):
    path = _store().snapshot(tmp_path / "r.npz")
    fresh = _store()
    assert fresh.restore(path) == 0
    assert fresh.total_added == 0 and len(fresh) == 0


def test_snapshot_of_a_packed_store_round_trips(tmp_path):
    fields = {"planes": ((17, N, N), "bool"), "value": ((), "float32")}
    store = _store(capacity=16, window_min=100, fields=fields)  # the window: every position
    planes = np.random.default_rng(2).integers(0, 2, (10, 17, N, N), dtype=np.uint8)
    store.add(0, {"planes": planes, "value": np.arange(10, dtype=np.float32)})
    fresh = _store(capacity=16, window_min=100, fields=fields)
    fresh.restore(store.snapshot(tmp_path / "r.npz"))
    np.testing.assert_array_equal(fresh.gather(fresh.ordered_slots())["planes"], planes)


@pytest.fixture
def snapshot_bytes(tmp_path) -> bytes:
    store = _store(capacity=40, window_min=40)
    _fill(store, [12, 12])
    return store.snapshot(tmp_path / "good.npz").read_bytes()


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage", "empty", "missing"])
def test_a_damaged_snapshot_is_a_replay_error(tmp_path, snapshot_bytes, damage):
    path = tmp_path / "replay.npz"
    if damage == "truncated":
        path.write_bytes(snapshot_bytes[: len(snapshot_bytes) // 2])
    elif damage == "flipped":  # a byte flipped inside the first array's data
        data = bytearray(snapshot_bytes)
        data[len(data) // 4] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "garbage":
        path.write_bytes(b"not a snapshot at all" * 10)
    elif damage == "empty":
        path.write_bytes(b"")
    fresh = _store(capacity=40, window_min=40)
    with pytest.raises(ReplayError, match="replay.npz"):
        fresh.restore(path)
    assert fresh.total_added == 0 and fresh.games_added == 0


def test_the_flipped_byte_is_detected_by_the_zip_crc(snapshot_bytes):
    data = bytearray(snapshot_bytes)
    data[len(data) // 4] ^= 0xFF
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        assert archive.testzip() is not None  # the damage test above damages array data, not padding


@pytest.mark.parametrize("other", [
    {"planes": ((17, 7, 7), "uint8"), "policy": ((50,), "float32"), "value": ((), "float32")},  # another board
    {**FIELDS, "value": ((), "float64")},  # another dtype
    {**FIELDS, "visits": ((), "int32")},  # a field the snapshot lacks
])
def test_a_snapshot_of_another_shape_is_a_replay_error(tmp_path, other):
    store = _store(capacity=40, window_min=40)
    _fill(store, [12])
    path = store.snapshot(tmp_path / "r.npz")
    fresh = ReplayStore(other, 40, 40, board_size=None)
    with pytest.raises(ReplayError, match="wrong shape|missing"):
        fresh.restore(path)
    assert fresh.total_added == 0


def test_a_snapshot_without_its_header_or_with_uneven_fields_is_a_replay_error(tmp_path):
    game = _game(4)
    np.savez(tmp_path / "noheader.npz", **{f"field_{k}": v for k, v in game.items()})
    with pytest.raises(ReplayError, match="format header"):
        _store().restore(tmp_path / "noheader.npz")
    meta = np.array([2, 4, 1], np.int64)  # a future format
    np.savez(tmp_path / "future.npz", meta=meta, **{f"field_{k}": v for k, v in game.items()})
    with pytest.raises(ReplayError, match="format header"):
        _store().restore(tmp_path / "future.npz")
    uneven = {f"field_{k}": v for k, v in game.items()}
    uneven["field_value"] = uneven["field_value"][:3]
    np.savez(tmp_path / "uneven.npz", meta=np.array([1, 4, 1], np.int64), **uneven)
    with pytest.raises(ReplayError, match="different numbers"):
        _store().restore(tmp_path / "uneven.npz")
