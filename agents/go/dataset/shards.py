"""The on-disk format of the expert-game dataset: shards written and read back, ``meta.json``
checked, and the stored games replayed. Built by ``dataset.build``, streamed by ``dataset.stream``.

Format: **moves + replay**. A shard stores each game's moves (2 bytes a move) and its setup stones;
features are computed when the positions are loaded, by replaying the game on a ``Board`` and
calling an injected ``feature_fn(board) -> planes[C, 19, 19]``. Bit-packed planes would cost
48 x 361 bits = 2.2 kB a position (~36 GB for the Tom + KGS data); these shards cost about
1-2 bytes a position (``meta.json`` records the figure measured from the files).

Directory layout::

    meta.json          format version, counts per reason, games / positions / bytes per split
    train-00000.npz    np.savez_compressed, no pickled objects (np.load(allow_pickle=False))
    val-00000.npz

Arrays of a shard (G games, M moves, S setup stones)::

    format_version  int32[1]
    moves           int16[M]    action (row * 19 + col from the top-left, 361 = pass) + 1024 if white
    move_offsets    int64[G+1]  game g's moves are moves[move_offsets[g]:move_offsets[g+1]]
    setup           int16[S]    setup stones, same code (AB black, AW white)
    setup_offsets   int64[G+1]
    komi            float32[G]
    handicap        int8[G]     HA (0 when absent)
    first_player    int8[G]     1 black, 2 white: side to move after the setup
    winner          int8[G]     +1 black won, -1 white won, 0 draw or unknown result
    names           uint8[B]    UTF-8 game names, concatenated
    name_offsets    int64[G+1]

Games are replayed under the ``ko_rule`` of ``meta.json`` (``simple`` when built here).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tenuki.envs.go.board import BLACK, WHITE, Board, GoError
from tenuki.envs.go.layout import KO_RULES

FORMAT_NAME = "tenuki-go-games"
FORMAT_VERSION = 1
BOARD_SIZE = 19
PASS_ACTION = BOARD_SIZE * BOARD_SIZE  # 361
WHITE_BIT = 1024  # a move / setup code is action + WHITE_BIT for white
KO_RULE = "simple"
SPLITS = ("train", "val")
META_FILE = "meta.json"
SHARD_ARRAYS = {
    "format_version": np.int32, "moves": np.int16, "move_offsets": np.int64, "setup": np.int16,
    "setup_offsets": np.int64, "komi": np.float32, "handicap": np.int8, "first_player": np.int8,
    "winner": np.int8, "names": np.uint8, "name_offsets": np.int64,
}


class DatasetError(GoError):
    """A dataset directory, shard or ``meta.json`` that cannot be used; the message names the file
    and what is wrong with it."""


@dataclass(frozen=True)
class StoredGame:
    """One game as a shard holds it. ``colours`` int8[T] (1 black, 2 white) and ``actions`` int16[T]
    (361 = pass) are the moves; ``setup_black`` / ``setup_white`` int16 the start stones."""

    name: str
    colours: np.ndarray
    actions: np.ndarray
    setup_black: np.ndarray
    setup_white: np.ndarray
    komi: float
    handicap: int
    first_player: int
    winner: int

    @property
    def codes(self) -> np.ndarray:
        return (self.actions + (self.colours == WHITE) * WHITE_BIT).astype(np.int16)

    @property
    def setup_codes(self) -> np.ndarray:
        return np.concatenate([self.setup_black, self.setup_white + WHITE_BIT]).astype(np.int16)


# ------------------------------------------------------------------------------- replay


def replay(game: StoredGame, ko_rule: str = KO_RULE) -> Iterator[tuple[Board, int, int]]:
    """Yield ``(board, colour, action)`` before each move, then play it (like
    ``GameRecord.positions``: one Board played forward, the same object every time; copy it or
    take its features before asking for the next). The side to move is the mover's colour."""
    board = Board(BOARD_SIZE, komi=float(game.komi), ko_rule=ko_rule)
    if game.setup_black.size or game.setup_white.size:
        try:
            board.set_stones(black=game.setup_black.tolist(), white=game.setup_white.tolist())
        except GoError as e:
            raise DatasetError(f"{game.name}: setup stones: {e}") from e
    board.set_to_play(game.first_player)
    for i, (colour, action) in enumerate(zip(game.colours.tolist(), game.actions.tolist())):
        if board.to_play != colour:
            board.set_to_play(colour)
        yield board, colour, action
        try:
            board.play(action, colour)
        except GoError as e:
            raise DatasetError(f"{game.name}: move {i + 1} (action {action}) is illegal: {e}") from e


# ------------------------------------------------------------------------------- writing


def _atomic_write(path: Path, write: Callable[[object], None]) -> None:
    """``write(stream)`` into a temporary file beside ``path``, then rename it: readers see the
    old file or the new one, never a partial one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; a dataset is not
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


class _ShardWriter:
    """Collects games of one split and writes ``{split}-{index:05d}.npz`` every ``shard_games``."""

    def __init__(self, out_dir: Path, split: str, shard_games: int):
        self.out_dir, self.split, self.shard_games = out_dir, split, shard_games
        self.games: list[StoredGame] = []
        self.shards: list[dict] = []

    def add(self, game: StoredGame) -> None:
        self.games.append(game)
        if len(self.games) >= self.shard_games:
            self.flush()

    def flush(self) -> None:
        if not self.games:
            return
        games, self.games = self.games, []
        names = [g.name.encode("utf-8") for g in games]
        arrays = {
            "format_version": np.array([FORMAT_VERSION], np.int32),
            "moves": np.concatenate([g.codes for g in games]),
            "move_offsets": _offsets([g.actions.size for g in games]),
            "setup": np.concatenate([g.setup_codes for g in games]).astype(np.int16),
            "setup_offsets": _offsets([g.setup_black.size + g.setup_white.size for g in games]),
            "komi": np.array([g.komi for g in games], np.float32),
            "handicap": np.array([min(g.handicap, 127) for g in games], np.int8),
            "first_player": np.array([g.first_player for g in games], np.int8),
            "winner": np.array([g.winner for g in games], np.int8),
            "names": np.frombuffer(b"".join(names), np.uint8),
            "name_offsets": _offsets([len(n) for n in names]),
        }
        path = self.out_dir / f"{self.split}-{len(self.shards):05d}.npz"
        _atomic_write(path, lambda stream: np.savez_compressed(stream, **arrays))
        self.shards.append({"file": path.name, "games": len(games), "positions": int(arrays["moves"].size),
                            "bytes": path.stat().st_size})


def _offsets(lengths: list[int]) -> np.ndarray:
    out = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _progress(enabled: bool, what: str, fields: str):
    """A rich progress bar whose tasks carry ``fields`` (a format string over ``task.fields``), or a
    do-nothing context (yielding None) when disabled."""
    if not enabled:
        return contextlib.nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(f"[bold]{what}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn(fields))


# ------------------------------------------------------------------------------- reading


def read_meta(directory: str | Path) -> dict:
    """``meta.json`` of a dataset directory, checked (DatasetError names what is wrong)."""
    path = Path(directory) / META_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing (is {directory} a dataset built by build_dataset?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f"{path}: unreadable: {e}") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise DatasetError(f"{path}: not a {FORMAT_NAME} meta file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise DatasetError(f"{path}: format version {meta.get('format_version')!r} (this reader: {FORMAT_VERSION})")
    if meta.get("ko_rule", KO_RULE) not in KO_RULES:
        raise DatasetError(f"{path}: ko_rule {meta.get('ko_rule')!r} is unknown (allowed: {', '.join(KO_RULES)})")
    shards = meta.get("shards")
    for split in SPLITS:
        entries = shards.get(split) if isinstance(shards, dict) else None
        if not isinstance(entries, list):
            raise DatasetError(f"{path}: shards.{split} is missing or not a list")
        for entry in entries:
            if (not isinstance(entry, dict) or not isinstance(entry.get("file"), str)
                    or not re.fullmatch(rf"{split}-\d{{5}}\.npz", entry["file"])
                    or not all(isinstance(entry.get(k), int) and entry[k] >= 0 for k in ("games", "positions"))):
                raise DatasetError(f"{path}: shards.{split} entry {entry!r} is malformed")
    return meta


def load_shard(path: str | Path, games: int | None = None) -> dict[str, np.ndarray]:
    """The arrays of one shard, checked: names, dtypes, offsets, value ranges (and the number of
    games when given). Raises DatasetError naming the file and the problem."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = sorted(set(SHARD_ARRAYS) - set(archive.files))
            if missing:
                raise DatasetError(f"{path}: arrays {missing} are missing")
            arrays = {name: archive[name] for name in SHARD_ARRAYS}
    except DatasetError:
        raise
    except FileNotFoundError:
        raise DatasetError(f"{path}: shard listed in {META_FILE} is missing") from None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
        raise DatasetError(f"{path}: unreadable shard (truncated or corrupt?): {type(e).__name__}: {e}") from e
    for name, dtype in SHARD_ARRAYS.items():
        if arrays[name].dtype != dtype or arrays[name].ndim != 1:
            raise DatasetError(f"{path}: array {name} is {arrays[name].dtype}{list(arrays[name].shape)}, "
                               f"expected a 1-d {np.dtype(dtype)} array")
    if arrays["format_version"].tolist() != [FORMAT_VERSION]:
        raise DatasetError(f"{path}: format version {arrays['format_version'].tolist()} (expected {FORMAT_VERSION})")
    count = arrays["komi"].size
    if games is not None and count != games:
        raise DatasetError(f"{path}: {count} games, {META_FILE} says {games}")
    for field in ("handicap", "first_player", "winner"):
        if arrays[field].size != count:
            raise DatasetError(f"{path}: {field} has {arrays[field].size} entries for {count} games")
    for offsets, flat in (("move_offsets", "moves"), ("setup_offsets", "setup"), ("name_offsets", "names")):
        o = arrays[offsets]
        if o.size != count + 1 or o[0] != 0 or o[-1] != arrays[flat].size or np.any(np.diff(o) < 0):
            raise DatasetError(f"{path}: {offsets} does not index {flat} ({o.size} offsets, {arrays[flat].size} "
                               f"values, {count} games)")
    codes, setup = arrays["moves"], arrays["setup"]
    if np.any((codes & ~WHITE_BIT) > PASS_ACTION) or np.any(codes < 0) or np.any(codes > WHITE_BIT + PASS_ACTION):
        raise DatasetError(f"{path}: moves hold codes outside 0..{PASS_ACTION} (+{WHITE_BIT} for white)")
    if np.any((setup & ~WHITE_BIT) >= PASS_ACTION) or np.any(setup < 0) or np.any(setup >= WHITE_BIT + PASS_ACTION):
        raise DatasetError(f"{path}: setup holds codes outside 0..{PASS_ACTION - 1} (+{WHITE_BIT} for white)")
    if not np.isin(arrays["first_player"], (BLACK, WHITE)).all() or not np.isin(arrays["winner"], (-1, 0, 1)).all():
        raise DatasetError(f"{path}: first_player must be 1 / 2 and winner -1 / 0 / +1")
    return arrays


def _game_at(arrays: dict[str, np.ndarray], g: int) -> StoredGame:
    mo, so, no = arrays["move_offsets"], arrays["setup_offsets"], arrays["name_offsets"]
    codes = arrays["moves"][mo[g] : mo[g + 1]]
    setup = arrays["setup"][so[g] : so[g + 1]]
    white_setup = setup >= WHITE_BIT
    return StoredGame(
        name=arrays["names"][no[g] : no[g + 1]].tobytes().decode("utf-8", "replace"),
        colours=np.where(codes >= WHITE_BIT, WHITE, BLACK).astype(np.int8), actions=codes & ~WHITE_BIT,
        setup_black=setup[~white_setup], setup_white=setup[white_setup] - WHITE_BIT,
        komi=float(arrays["komi"][g]), handicap=int(arrays["handicap"][g]),
        first_player=int(arrays["first_player"][g]), winner=int(arrays["winner"][g]))


def _check_part(part: tuple[int, int] | None) -> tuple[int, int]:
    if part is None:
        return 0, 1
    try:
        index, count = (int(v) for v in part)
    except (TypeError, ValueError):
        raise DatasetError(f"part={part!r} is not a pair (index, count)") from None
    if not 0 <= index < count:
        raise DatasetError(f"part={part!r}: need 0 <= index < count")
    return index, count


class GameShards:
    """The games of one split of a dataset directory, read one shard at a time."""

    def __init__(self, directory: str | Path, split: str = "train"):
        if split not in SPLITS:
            raise DatasetError(f"split {split!r} is unknown (allowed: {', '.join(SPLITS)})")
        self.directory, self.split = Path(directory), split
        self.meta = read_meta(self.directory)
        self.shards = self.meta["shards"][split]

    def __len__(self) -> int:
        return sum(s["games"] for s in self.shards)

    @property
    def positions(self) -> int:
        return sum(s["positions"] for s in self.shards)

    def iter_games(self, shuffle: bool = False, seed: int = 0,
                   part: tuple[int, int] | None = None) -> Iterator[StoredGame]:
        """Every game once; ``shuffle``: shard order and the games inside each shard permuted.
        ``part=(i, k)``: only games i, i + k, i + 2k, ... of that order (k loader processes given
        the same seed read disjoint parts that cover the split)."""
        index, count = _check_part(part)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(self.shards)) if shuffle else range(len(self.shards))
        seen = 0
        for s in order:
            entry = self.shards[s]
            arrays = load_shard(self.directory / entry["file"], entry["games"])
            games = rng.permutation(entry["games"]) if shuffle else range(entry["games"])
            for g in games:
                if seen % count == index:
                    yield _game_at(arrays, int(g))
                seen += 1

    def replay(self, game: StoredGame) -> Iterator[tuple[Board, int, int]]:
        return replay(game, self.meta.get("ko_rule", KO_RULE))
