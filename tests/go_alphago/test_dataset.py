"""The expert-game dataset: shards written and replayed exactly (real KGS handicap and Tom games,
synthetic games), every skipped game counted under its reason, the split by game, typed errors on
corrupt files, the symmetry augmentation of planes and labels, the streaming loader and the CLI."""

from __future__ import annotations

import itertools
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tenuki.agents.go.dataset import (
    ACTION_SYMMETRIES,
    PASS_ACTION,
    DatasetError,
    GameShards,
    PositionStream,
    augment,
    build_dataset,
    load_shard,
    parse_rank,
    parse_winner,
    read_meta,
    replay,
)
from tenuki.commands import data as dataset_cli
from tenuki.envs.go.board import BLACK, WHITE, Board
from tenuki.envs.go.sgf import GameRecord, write_sgf
from tenuki.envs.go.sgf_archives import iter_games
from tenuki.search.symmetry import apply_symmetry

N = 19


def random_record(seed: int, moves: int = 60, result: str | None = "B+R") -> GameRecord:
    """A legal game of random moves (captures and passes included)."""
    rng = np.random.default_rng(seed)
    board = Board(N, komi=6.5, ko_rule="simple")
    record = GameRecord(size=N, komi=6.5, result=result)
    for _ in range(moves):
        legal = board.legal_moves()
        action = int(legal[-1] if rng.random() < 0.03 else rng.choice(legal[:-1]))
        record.moves.append((board.to_play, action))
        board.play(action)
    return record


def write_games(folder: Path, records: dict[str, GameRecord | str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, record in records.items():
        (folder / f"{name}.sgf").write_text(record if isinstance(record, str) else write_sgf(record))
    return folder


def all_games(directory: Path) -> dict[str, tuple[str, object]]:
    """name -> (split, StoredGame) of every game of a dataset."""
    return {g.name: (split, g) for split in ("train", "val") for g in GameShards(directory, split).iter_games()}


def assert_replays_like(stored, record: GameRecord) -> None:
    """The stored game yields the record's moves, positions and final stones (simple ko)."""
    ours = [(b.stones().copy(), c, a) for b, c, a in replay(stored)]
    theirs = [(b.stones().copy(), c, a) for b, c, a in record.positions(ko_rule="simple")]
    assert [(c, a) for _, c, a in ours] == record.moves == [(c, a) for _, c, a in theirs]
    for (s1, _, _), (s2, _, _) in zip(ours, theirs):
        assert np.array_equal(s1, s2)
    board = None
    for board, _, _ in replay(stored):  # once exhausted, the board holds the last move too
        pass
    assert np.array_equal(board.stones(), record.replay(ko_rule="simple").stones())


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    """30 random games as .sgf files."""
    folder = tmp_path_factory.mktemp("synthetic")
    results = ["B+R", "W+0.5", "B+T", "0", "?", None]
    return write_games(folder, {f"g{i:02d}": random_record(i, 40 + i, results[i % 6]) for i in range(30)})


@pytest.fixture(scope="module")
def synthetic_dataset(synthetic, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic-ds")
    build_dataset([synthetic], out, val_fraction=0.3, shard_games=7, progress=False)
    return out


# ------------------------------------------------------------------------------- round trip


def test_synthetic_games_round_trip(synthetic, synthetic_dataset):
    meta = read_meta(synthetic_dataset)
    games = all_games(synthetic_dataset)
    assert meta["counts"]["kept"] == len(games) == 30 and sum(meta["counts"]["skipped"].values()) == 0
    assert len(meta["shards"]["train"]) == -(-meta["games"]["train"] // 7)  # shards of 7 games
    for record in iter_games(synthetic):
        _, stored = games[record.name]
        assert_replays_like(stored, record)
        assert stored.komi == 6.5 and stored.first_player == BLACK
        assert stored.winner == parse_winner(record.result)[0]
    assert meta["positions"]["train"] + meta["positions"]["val"] == sum(40 + i for i in range(30))
    files = sum(p.stat().st_size for p in synthetic_dataset.glob("*.npz"))
    assert meta["bytes_per_position"]["all"] == round(files / sum(meta["positions"].values()), 3)


@pytest.mark.data
def test_real_kgs_handicap_and_tom_games_round_trip(data_dir: Path, tmp_path: Path):
    """A few KGS games (handicap ones with AB setup stones among them) and Tom games."""
    kgs = tmp_path / "kgs"
    kgs.mkdir()
    with tarfile.open(data_dir / "go" / "kgs" / "KGS-2001-19-2298-.tar.gz", "r|*") as tar:
        members = (m for m in tar if m.isfile() and m.name.endswith(".sgf"))
        for member in itertools.islice(members, 12):
            (kgs / Path(member.name).name).write_bytes(tar.extractfile(member).read())
    tom = data_dir / "go" / "tom9d.tar.gz"
    out = tmp_path / "ds"
    meta = build_dataset([kgs, tom], out, max_games=6, val_fraction=0.5, progress=False)
    records = {r.name: r for source in (kgs, tom) for r in itertools.islice(iter_games(source), 30)}
    games = all_games(out)
    assert meta["counts"]["kept"] == len(games) == 6 + 6
    assert meta["bytes_per_position"]["all"] < 4  # ~1.3 with 5000-game shards; here zip headers weigh
    assert meta["counts"]["handicap_kept"] >= 2 and meta["counts"]["skipped"]["no_moves"] >= 0
    handicap = tom_games = 0
    for name, (_, stored) in games.items():
        record = records[name]
        assert_replays_like(stored, record)
        assert sorted(stored.setup_black.tolist()) == record.setup_black
        assert sorted(stored.setup_white.tolist()) == record.setup_white
        assert stored.first_player == record.first_player() and stored.komi == pytest.approx(record.komi)
        assert stored.handicap == record.handicap and stored.winner == parse_winner(record.result)[0]
        handicap += stored.setup_black.size >= 2 and stored.first_player == WHITE
        tom_games += name.startswith("tom9d.tar.gz:")
    assert handicap >= 2 and tom_games == 6


# ------------------------------------------------------------------------------- what is skipped


def test_bad_games_are_skipped_and_counted(tmp_path: Path):
    good = random_record(1, 30)
    illegal = random_record(2, 30)
    illegal.moves.append((illegal.moves[-1][0] ^ 3, illegal.moves[-2][1]))  # on an occupied point
    mid_setup = "(;SZ[19];B[dd];W[pp];AB[qq];B[dp])"
    trivial_setup = "(;SZ[19];B[dd];W[pp];AB[dd]PL[B];B[dp])"  # restates a stone that is there
    folded = "(;SZ[19]HA[2];AB[dd][pp]PL[W];W[dp];B[pd])"  # handicap stones in node 1
    handicap = "(;SZ[19]HA[2]KM[0.5]AB[dd][pp]RE[W+3.5];W[dp];B[pd];W[])"
    folder = write_games(tmp_path / "sgf", {
        "good": good, "illegal": illegal, "nine": "(;SZ[9];B[ee];W[cc])", "empty": "(;SZ[19]KM[6.5])",
        "mid": mid_setup, "trivial": trivial_setup, "folded": folded, "handicap": handicap, "dup": good,
        "broken": "(;SZ[19];B[dd]", "suicide": "(;SZ[19]AW[ba][ab];B[aa])",
        "no_liberty": "(;SZ[19]AB[aa]AW[ba][ab];W[dd])",
    })
    meta = build_dataset([folder], tmp_path / "ds", val_fraction=0.0, progress=False)
    skipped = meta["counts"]["skipped"]
    assert skipped == {"unreadable": 1, "not_19x19": 1, "no_moves": 1, "illegal_setup": 1, "illegal_move": 2,
                       "mid_game_setup": 1, "duplicate": 1, "below_min_rank": 0}
    assert meta["counts"]["read"] == 12 and meta["counts"]["kept"] == 4 and meta["counts"]["handicap_kept"] == 2
    assert any("illegal.sgf: move 31" in m for m in meta["messages"])
    assert any(m.startswith("mid_game_setup: ") and "mid.sgf" in m for m in meta["messages"])
    games = {Path(name).stem: game for name, (_, game) in all_games(tmp_path / "ds").items()}
    assert set(games) == {"dup", "trivial", "folded", "handicap"}  # files in name order: "good" is the copy
    for name in ("folded", "handicap"):
        game = games[name]
        assert game.setup_black.tolist() == [3 * N + 3, 15 * N + 15] and game.first_player == WHITE
        assert [b.to_play for b, _, _ in replay(game)][:2] == [WHITE, BLACK]
    assert games["handicap"].actions[-1] == PASS_ACTION and games["handicap"].winner == -1
    assert games["handicap"].komi == 0.5 and games["handicap"].handicap == 2


def test_min_rank_skips_weaker_games_and_keeps_unranked(tmp_path: Path):
    folder = write_games(tmp_path / "sgf", {
        "strong": "(;SZ[19]BR[7d]WR[1p];B[dd])", "weak": "(;SZ[19]BR[7d]WR[2k];B[dd])",
        "unranked": "(;SZ[19];B[pp])"})
    meta = build_dataset([folder], tmp_path / "ds", min_rank="6d", progress=False)
    assert meta["counts"]["kept"] == 2 and meta["counts"]["skipped"]["below_min_rank"] == 1
    assert [parse_rank(r) for r in ("30k", "1k", "1d", "9d", "1p", "?", None)] == [-29, 0, 1, 9, 10, None, None]
    with pytest.raises(DatasetError, match="min_rank"):
        build_dataset([folder], tmp_path / "ds2", min_rank="strong", progress=False)


@pytest.mark.parametrize("text, winner, kind", [
    ("B+0.5", 1, "black"), ("W+R", -1, "white"), ("B+T", 1, "black"), ("W+Resign", -1, "white"),
    ("b+f", 1, "black"), ("0", 0, "draw"), ("Draw", 0, "draw"), ("Jigo", 0, "draw"), ("?", 0, "unknown"),
    ("Void", 0, "unknown"), (None, 0, "unknown"), ("", 0, "unknown")])
def test_parse_winner(text, winner, kind):
    assert parse_winner(text) == (winner, kind)


# ------------------------------------------------------------------------------- split


def test_split_is_by_game_deterministic_and_seeded(synthetic, synthetic_dataset, tmp_path: Path):
    first = {name: split for name, (split, _) in all_games(synthetic_dataset).items()}
    assert 0 < sum(s == "val" for s in first.values()) < 30  # both splits hold games, each game once
    build_dataset([synthetic], tmp_path / "again", val_fraction=0.3, shard_games=7, progress=False)
    assert {name: split for name, (split, _) in all_games(tmp_path / "again").items()} == first
    for name in ("train-00000.npz", "val-00000.npz"):
        assert load_shard(tmp_path / "again" / name)["moves"].tobytes() == \
            load_shard(synthetic_dataset / name)["moves"].tobytes()
    build_dataset([synthetic], tmp_path / "seed1", val_fraction=0.3, seed=1, progress=False)
    assert {name: split for name, (split, _) in all_games(tmp_path / "seed1").items()} != first
    with pytest.raises(DatasetError, match="already holds a dataset"):
        build_dataset([synthetic], tmp_path / "again", progress=False)
    meta = build_dataset([synthetic], tmp_path / "again", val_fraction=0.0, progress=False, overwrite=True)
    assert meta["games"] == {"train": 30, "val": 0} and not list((tmp_path / "again").glob("val-*"))


# ------------------------------------------------------------------------------- corrupt files


def test_corrupt_shards_and_meta_raise_typed_errors(synthetic_dataset: Path, tmp_path: Path):
    import shutil

    ds = tmp_path / "ds"
    shutil.copytree(synthetic_dataset, ds)
    shard = ds / "train-00000.npz"
    data = shard.read_bytes()

    def read_all():
        return sum(1 for _ in GameShards(ds, "train").iter_games())

    shard.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="train-00000.npz: unreadable shard"):
        read_all()
    shard.write_bytes(b"not a zip file at all")
    with pytest.raises(DatasetError, match="train-00000.npz"):
        read_all()
    arrays = load_shard(synthetic_dataset / "train-00000.npz")
    for change, message in [
        ({"moves": arrays["moves"].astype(np.int32)}, "moves is int32"),
        ({"move_offsets": arrays["move_offsets"][:-1]}, "move_offsets does not index moves"),
        ({"moves": np.where(arrays["moves"] == 0, 500, arrays["moves"]).astype(np.int16)}, "codes outside"),
        ({"winner": np.full_like(arrays["winner"], 3)}, "winner"),
        ({"komi": arrays["komi"][:-1]}, "games"),
    ]:
        np.savez(shard, **{**arrays, **change})
        with pytest.raises(DatasetError, match=message):
            read_all()
    shard.unlink()
    with pytest.raises(DatasetError, match="train-00000.npz: shard listed in meta.json is missing"):
        read_all()
    (ds / "meta.json").write_text("{not json")
    with pytest.raises(DatasetError, match="meta.json: unreadable"):
        GameShards(ds, "train")
    (ds / "meta.json").write_text(json.dumps({"format": "tenuki-go-games", "format_version": 99}))
    with pytest.raises(DatasetError, match="format version 99"):
        GameShards(ds, "train")
    meta = read_meta(synthetic_dataset)
    meta["shards"]["train"][0]["file"] = "../../etc/passwd"
    (ds / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match="malformed"):
        GameShards(ds, "train")
    with pytest.raises(DatasetError, match="missing"):
        GameShards(tmp_path / "nowhere", "train")
    with pytest.raises(DatasetError, match="split 'test'"):
        GameShards(synthetic_dataset, "test")


# ------------------------------------------------------------------------------- symmetries


def test_action_symmetries_follow_the_planes():
    """A one-hot plane of each action, under each of the 8 symmetries: the label lands where the
    stone does; pass stays pass; the 8 maps are 8 different permutations."""
    actions = np.arange(N * N + 1)
    planes = np.zeros((actions.size, 1, N, N), np.float32)
    planes[np.arange(N * N), 0, actions[:-1] // N, actions[:-1] % N] = 1
    for k in range(8):
        moved, labels = augment(planes, actions, np.full(actions.size, k))
        hot = moved[:-1, 0].reshape(N * N, -1).argmax(axis=1)
        assert np.array_equal(hot, labels[:-1]) and labels[-1] == PASS_ACTION
        assert np.array_equal(np.sort(ACTION_SYMMETRIES[k]), actions)
    assert len({m.tobytes() for m in ACTION_SYMMETRIES}) == 8
    assert np.array_equal(ACTION_SYMMETRIES[0], actions)
    # the corner D16 (row 3, column 3) visits the 4 corners' 3-3 neighbourhoods
    corners = {int(ACTION_SYMMETRIES[k][3 * N + 3]) for k in range(8)}
    assert corners == {3 * N + 3, 3 * N + 15, 15 * N + 3, 15 * N + 15}


def stone_planes(board: Board) -> np.ndarray:
    """[3, 19, 19] uint8: black stones, white stones, side to move is black."""
    stones = board.stones()
    return np.stack([stones == BLACK, stones == WHITE, np.full((N, N), board.to_play == BLACK)]).astype(np.uint8)


def test_stream_labels_and_values_match_a_recorded_position_under_some_symmetry(synthetic_dataset: Path):
    """Every sample of an augmented epoch, mapped back by one of the 8 symmetries, is a recorded
    position with its recorded move and outcome; all 8 symmetries occur."""
    recorded: dict[bytes, set] = {}
    for game in GameShards(synthetic_dataset, "train").iter_games():
        for board, colour, action in replay(game):
            value = game.winner if colour == BLACK else -game.winner
            recorded.setdefault(stone_planes(board).tobytes(), set()).add((action, float(value)))
    stream = PositionStream(synthetic_dataset, "train", stone_planes, batch_size=64, shuffle_buffer=200, seed=3)
    used, count = set(), 0
    for planes, actions, values in stream:
        assert planes.dtype == np.uint8 and actions.dtype == np.int64 and values.dtype == np.float32
        for p, a, v in zip(planes, actions, values):
            matches = [k for k in range(8)
                       if (apply_symmetry(p, k).tobytes() in recorded
                           and (int(ACTION_SYMMETRIES[k][a]), float(v)) in recorded[apply_symmetry(p, k).tobytes()])]
            assert matches, "a sample matches no recorded position under any symmetry"
            # k undoes the sample's symmetry; a position symmetric under several k tells nothing
            used.update(matches if len(matches) == 1 else [])
            count += 1
    assert count == GameShards(synthetic_dataset, "train").positions
    assert len(used) == 8


# ------------------------------------------------------------------------------- stream


def test_stream_epochs_sizes_limits_and_determinism(synthetic_dataset: Path):
    shards = GameShards(synthetic_dataset, "train")
    stream = PositionStream(synthetic_dataset, "train", stone_planes, batch_size=50, shuffle_buffer=100,
                            symmetries=False, seed=7)
    epoch1 = list(stream)
    epoch2 = list(stream)
    assert sum(b.actions.size for b in epoch1) == shards.positions
    assert all(b.planes.shape == (50, 3, N, N) for b in epoch1[:-1]) and epoch1[-1].actions.size <= 50
    assert not np.array_equal(epoch1[0].actions, epoch2[0].actions)  # a new order each epoch
    again = list(PositionStream(synthetic_dataset, "train", stone_planes, batch_size=50, shuffle_buffer=100,
                                symmetries=False, seed=7))
    assert all(np.array_equal(a.planes, b.planes) and np.array_equal(a.actions, b.actions)
               for a, b in zip(epoch1, again))
    # without shuffling and symmetries the stream is the games' positions in order
    plain = PositionStream(synthetic_dataset, "train", stone_planes, batch_size=1000, shuffle_buffer=0,
                           symmetries=False, shuffle_games=False)
    expected = [a for g in shards.iter_games() for _, _, a in replay(g)]
    assert np.concatenate([b.actions for b in plain]).tolist() == expected
    limited = PositionStream(synthetic_dataset, "train", stone_planes, batch_size=32, max_positions=70)
    assert [b.actions.size for b in limited] == [32, 32, 6]
    sampled = PositionStream(synthetic_dataset, "train", stone_planes, batch_size=1000, positions_per_game=3)
    assert sum(b.actions.size for b in sampled) == 3 * len(shards)
    parts = [np.concatenate([b.actions for b in PositionStream(synthetic_dataset, "train", stone_planes, seed=5,
                                                               symmetries=False, part=(i, 3))]) for i in range(3)]
    assert sorted(np.concatenate(parts).tolist()) == sorted(expected)  # 3 loaders cover the split once
    names = [{g.name for g in shards.iter_games(True, 5, part=(i, 3))} for i in range(3)]
    assert sum(map(len, names)) == len(set().union(*names)) == len(shards)
    with pytest.raises(DatasetError, match="part"):
        PositionStream(synthetic_dataset, "train", stone_planes, part=(3, 3))
    with pytest.raises(DatasetError, match="batch_size"):
        PositionStream(synthetic_dataset, "train", stone_planes, batch_size=0)
    with pytest.raises(DatasetError, match="feature_fn returned shape"):
        list(PositionStream(synthetic_dataset, "train", lambda board: np.zeros((N, N)), max_positions=1))


# ------------------------------------------------------------------------------- CLI


def test_cli_build_and_info(synthetic: Path, tmp_path: Path, capsys):
    out = tmp_path / "ds"
    assert dataset_cli.main(["build", "--source", str(synthetic), "--out", str(out), "--max-games", "5",
                             "--json", "--val-fraction", "0.2"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["counts"]["kept"] == 5 and meta == read_meta(out)
    assert dataset_cli.main(["info", str(out)]) == 0
    assert "bytes / position" in capsys.readouterr().out
    assert dataset_cli.main(["build", "--source", str(synthetic), "--out", str(out), "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert dataset_cli.main(["build", "--source", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert dataset_cli.main(["info", str(tmp_path)]) == 2


@pytest.mark.data
def test_cli_build_on_the_kgs_folder(data_dir: Path, tmp_path: Path, capsys):
    """A folder of archives is read archive by archive, --max-games from each."""
    out = tmp_path / "ds"
    assert dataset_cli.main(["build", "--source", str(data_dir / "go" / "kgs"), "--out", str(out),
                             "--max-games", "8", "--quiet"]) == 0
    assert "kept 40" in capsys.readouterr().out
    meta = read_meta(out)
    assert len(meta["sources"]) == 5 and all(s.endswith(".tar.gz") for s in meta["sources"])
    assert len(GameShards(out, "train")) + len(GameShards(out, "val")) == 40


def test_progress_bars_run(synthetic: Path, tmp_path: Path, capsys):
    build_dataset([synthetic], tmp_path / "ds", max_games=4, progress=True)
    assert "kept 4" in capsys.readouterr().out
    for batch in PositionStream(tmp_path / "ds", "train", stone_planes, progress=True, max_positions=30):
        pass
    assert "positions/s" in capsys.readouterr().out
