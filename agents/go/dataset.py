"""Expert games (Tom, KGS) as compact shards on disk, and a streaming loader of training positions.

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

Decisions taken when building (every one counted in ``meta.json["counts"]``, never silent):

- games are replayed under **simple ko** (the rule they were played under; a handful of KGS / Tom
  games legally repeat a position); a game with an illegal move or an impossible setup is skipped;
- handicap games are kept with their setup stones; setup in a node before the first move is folded
  into the start position; setup after a later move is skipped unless it changes nothing; setup
  after the last move (e.g. dead stones removed) is ignored;
- only 19x19 games; games without moves, unreadable games and duplicates (same setup + moves,
  e.g. one game in two archives) are skipped;
- a move played out of turn is kept, and the side to move is set to its colour before it (the
  features always see the mover as the player);
- the train / val split is by game, from a hash of the game's content and the seed: reruns give
  the same split and a duplicate can never sit on both sides.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from envs.go.board import BLACK, EMPTY, WHITE, Board, GoError
from envs.go.layout import KO_RULES
from envs.go.sgf import GameRecord, SGFError
from envs.go.sgf_archives import LoadStats, iter_games
from search.symmetry import apply_symmetry

FORMAT_NAME = "tenuki-go-games"
FORMAT_VERSION = 1
BOARD_SIZE = 19
PASS_ACTION = BOARD_SIZE * BOARD_SIZE  # 361
WHITE_BIT = 1024  # a move / setup code is action + WHITE_BIT for white
KO_RULE = "simple"
SPLITS = ("train", "val")
META_FILE = "meta.json"
MAX_KEPT_MESSAGES = 100
SHARD_ARRAYS = {
    "format_version": np.int32, "moves": np.int16, "move_offsets": np.int64, "setup": np.int16,
    "setup_offsets": np.int64, "komi": np.float32, "handicap": np.int8, "first_player": np.int8,
    "winner": np.int8, "names": np.uint8, "name_offsets": np.int64,
}
SKIP_REASONS = ("unreadable", "not_19x19", "no_moves", "illegal_setup", "illegal_move", "mid_game_setup",
                "duplicate", "below_min_rank")


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


class Batch(NamedTuple):
    planes: np.ndarray  # [B, C, 19, 19], feature_fn's dtype
    actions: np.ndarray  # int64[B], 0..361 (361 = pass)
    values: np.ndarray  # float32[B], outcome for the side to move: +1 won, -1 lost, 0 draw / unknown


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


# ------------------------------------------------------------------------------- building


class _Skip(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


_RESULT = re.compile(r"\s*([BW])\s*\+", re.IGNORECASE)
_DRAW = re.compile(r"\s*(0|draw|jigo|d\b)", re.IGNORECASE)


def parse_winner(result: str | None) -> tuple[int, str]:
    """RE -> (+1 black / -1 white / 0, kind): ``B+0.5`` ``W+R`` ``B+T`` ``B+F`` -> black / white;
    ``0``, ``Draw``, ``Jigo`` -> draw; anything else (absent, ``?``, ``Void``) -> unknown."""
    match = _RESULT.match(result or "")
    if match:
        return (1, "black") if match.group(1).upper() == "B" else (-1, "white")
    if result and _DRAW.match(result):
        return 0, "draw"
    return 0, "unknown"


def parse_rank(rank: str | None) -> int | None:
    """``30k`` .. ``1k`` -> -29 .. 0, ``1d`` .. ``9d`` -> 1 .. 9, ``1p`` .. -> 10 ..; None if unreadable."""
    match = re.fullmatch(r"\s*(\d+)\s*([kdp])\S*\s*", rank or "", re.IGNORECASE)
    if not match:
        return None
    value, kind = int(match.group(1)), match.group(2).lower()
    return 1 - value if kind == "k" else value if kind == "d" else 9 + value


def _start_position(record: GameRecord) -> tuple[list[int], list[int], int]:
    """Setup stones and side to move before the first move, setup nodes before it folded in.
    A later setup that changes stones or the side to move raises _Skip("mid_game_setup")."""
    try:
        board = record.start_board(KO_RULE)  # raises SGFError on an impossible root setup
        if not record.setups:
            return record.setup_black, record.setup_white, record.first_player()
        setups = sorted(record.setups, key=lambda s: s.before)
        for setup in (s for s in setups if s.before == 0):
            board.set_stones(black=setup.black, white=setup.white, empty=setup.empty)
            if setup.to_play is not None:
                board.set_to_play(setup.to_play)
        stones = board.stones().reshape(-1)
        start = (np.flatnonzero(stones == BLACK).tolist(), np.flatnonzero(stones == WHITE).tolist(), board.to_play)
        later = [s for s in setups if 0 < s.before < len(record.moves)]
        for i, (colour, action) in enumerate(record.moves):
            for setup in (s for s in later if s.before == i):
                wanted = [(a, c) for group, c in ((setup.black, BLACK), (setup.white, WHITE), (setup.empty, EMPTY))
                          for a in group]
                if any(board.color_at(a) != c for a, c in wanted) or setup.to_play not in (None, colour):
                    raise _Skip("mid_game_setup", f"{record.name}: setup (AB / AW / AE / PL) before move "
                                                  f"{i + 1} changes the position")
            if not later or i >= later[-1].before:
                break
            try:
                board.play(action, colour)
            except GoError as e:
                raise _Skip("illegal_move", f"{record.name}: move {i + 1}: {e}") from e
    except (GoError, SGFError) as e:
        raise _Skip("illegal_setup", f"{record.name}: {e}") from e
    return start


def encode_game(record: GameRecord, min_rank: int | None = None) -> StoredGame:
    """A parsed game as stored, after the checks of the module docstring (raises _Skip with the
    reason). The legality replay is done by the caller on the stored form."""
    if record.size != BOARD_SIZE:
        raise _Skip("not_19x19", f"{record.name}: board size {record.size}")
    if not record.moves:
        raise _Skip("no_moves", f"{record.name}: no moves")
    if min_rank is not None:
        ranks = [parse_rank(r) for r in (record.black_rank, record.white_rank)]
        if any(r is not None and r < min_rank for r in ranks):
            raise _Skip("below_min_rank", f"{record.name}: ranks {record.black_rank} / {record.white_rank}")
    black, white, first = _start_position(record)
    moves = np.asarray(record.moves, dtype=np.int16).reshape(-1, 2)
    winner, _ = parse_winner(record.result)
    return StoredGame(name=record.name or "", colours=moves[:, 0].astype(np.int8), actions=moves[:, 1].copy(),
                      setup_black=np.asarray(black, np.int16), setup_white=np.asarray(white, np.int16),
                      komi=float(record.komi), handicap=int(record.handicap), first_player=int(first),
                      winner=winner)


def _content_digest(game: StoredGame) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for part in (game.setup_black, game.setup_white, np.int8(game.first_player), game.codes):
        digest.update(np.ascontiguousarray(part).tobytes())
        digest.update(b"|")
    return digest.digest()


def split_of(digest: bytes, val_fraction: float, seed: int) -> str:
    """'val' for a fraction ``val_fraction`` of games, from the game's content digest and the seed."""
    h = hashlib.blake2b(seed.to_bytes(8, "little", signed=True) + digest, digest_size=8).digest()
    return "val" if int.from_bytes(h, "little") / 2.0**64 < val_fraction else "train"


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


def expand_sources(sources: Iterable[str | Path]) -> list[Path]:
    """Each source as given, except a directory holding tar archives (``kgs/``): its archives,
    sorted, and the directory itself when it also holds .sgf files."""
    out: list[Path] = []
    for source in map(Path, sources):
        if not source.exists():
            raise DatasetError(f"{source}: no such file or directory")
        archives = sorted(p for p in source.glob("*.tar*") if p.is_file()) if source.is_dir() else []
        if archives:
            out.extend(archives)
            if any(source.rglob("*.sgf")):
                out.append(source)
        else:
            out.append(source)
    return out


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    old = [p for p in out_dir.iterdir() if p.name == META_FILE or re.fullmatch(r"(train|val)-\d{5}\.npz", p.name)]
    if old and not overwrite:
        raise DatasetError(f"{out_dir}: already holds a dataset ({old[0].name}); pass overwrite=True "
                           f"(--overwrite) to replace it")
    for path in sorted(old, key=lambda p: p.name != META_FILE):  # meta first: never a meta without shards
        path.unlink()


class _Builder:
    """The state of one build: shard writers, counts per reason, the digests of the games kept."""

    def __init__(self, out_dir: Path, shard_games: int, val_fraction: float, seed: int, rank_floor: int | None):
        self.writers = {split: _ShardWriter(out_dir, split, shard_games) for split in SPLITS}
        self.val_fraction, self.seed, self.rank_floor = val_fraction, seed, rank_floor
        self.counts = Counter(dict.fromkeys(("read", "kept", "handicap_kept", "out_of_turn_kept",
                                             "trailing_setup_ignored"), 0))
        self.skipped = Counter(dict.fromkeys(SKIP_REASONS, 0))
        self.results: Counter = Counter()
        self.messages: list[str] = []
        self.seen: set[bytes] = set()

    def skip(self, reason: str, message: str) -> None:
        self.skipped[reason] += 1
        if len(self.messages) < MAX_KEPT_MESSAGES:
            self.messages.append(f"{reason}: {message}")

    def take(self, record: GameRecord) -> bool:
        """Check one game and write it to its split; False (counted) when skipped."""
        self.counts["read"] += 1
        try:
            game = encode_game(record, self.rank_floor)
            for _ in replay(game):  # legality, on the stored form
                pass
        except _Skip as e:
            self.skip(e.reason, str(e))
            return False
        except DatasetError as e:
            self.skip("illegal_move", str(e))
            return False
        digest = _content_digest(game)
        if digest in self.seen:
            self.skip("duplicate", game.name)
            return False
        self.seen.add(digest)
        self.writers[split_of(digest, self.val_fraction, self.seed)].add(game)
        self.counts["kept"] += 1
        self.counts["handicap_kept"] += bool(game.setup_black.size or game.handicap >= 2)
        self.counts["out_of_turn_kept"] += bool(np.any(game.colours[1:] == game.colours[:-1])
                                                or game.colours[0] != game.first_player)
        self.counts["trailing_setup_ignored"] += any(s.before >= len(record.moves) for s in record.setups)
        self.results[parse_winner(record.result)[1]] += 1
        return True

    def read(self, path: Path, max_games: int | None, tick: Callable[[], None]) -> None:
        stats, kept = LoadStats(), 0
        games = iter_games(path, errors="skip", stats=stats)
        try:
            for record in games:
                kept += self.take(record)
                if self.counts["read"] % 200 == 0:
                    tick()
                if max_games is not None and kept >= max_games:
                    break
        finally:
            games.close()
        self.counts["read"] += stats.skipped
        self.skipped["unreadable"] += stats.skipped
        self.messages.extend(f"unreadable: {m}" for m in stats.messages[: MAX_KEPT_MESSAGES - len(self.messages)])


def build_dataset(sources: Iterable[str | Path], out_dir: str | Path, val_fraction: float = 0.02,
                  shard_games: int = 5000, max_games: int | None = None, seed: int = 0, progress: bool = True,
                  min_rank: str | None = None, overwrite: bool = False) -> dict:
    """Read every game of ``sources`` (.sgf files, directories, KGS or Tom tar archives), check it,
    and write the train / val shards and ``meta.json`` to ``out_dir``; returns the meta dict.

    ``max_games``: keep at most this many games from each source (archive). ``min_rank`` (e.g.
    ``"6d"``): skip games where a player's rank is known (SGF BR / WR) and below it; Tom records
    carry no rank (all players are 9-dan) and are kept. ``overwrite``: replace a dataset already
    in ``out_dir`` (else DatasetError)."""
    if not 0.0 <= val_fraction <= 1.0:
        raise DatasetError(f"val_fraction={val_fraction} is not allowed (allowed: 0..1)")
    if shard_games < 1 or (max_games is not None and max_games < 1):
        raise DatasetError(f"shard_games={shard_games} and max_games={max_games} must be positive")
    rank_floor = None if min_rank is None else parse_rank(min_rank)
    if min_rank is not None and rank_floor is None:
        raise DatasetError(f"min_rank={min_rank!r} is not a rank (e.g. 15k, 1d, 6d, 1p)")
    paths = expand_sources(sources)
    out_dir = Path(out_dir)
    _prepare_out_dir(out_dir, overwrite)
    builder = _Builder(out_dir, shard_games, val_fraction, seed, rank_floor)
    start = time.perf_counter()
    with _progress(progress, "building", "kept {task.fields[kept]}, skipped {task.fields[skipped]}") as bar:
        task = bar.add_task("games", total=None, kept=0, skipped=0) if bar else None

        def tick() -> None:
            if bar:
                bar.update(task, completed=builder.counts["read"], kept=builder.counts["kept"],
                           skipped=sum(builder.skipped.values()))

        for path in paths:
            builder.read(path, max_games, tick)
        for writer in builder.writers.values():
            writer.flush()
        tick()
    meta = _meta(builder, paths, val_fraction, seed, min_rank, time.perf_counter() - start)
    _atomic_write(out_dir / META_FILE, lambda stream: stream.write(json.dumps(meta, indent=1).encode()))
    return meta


def _meta(builder: _Builder, paths: list[Path], val_fraction: float, seed: int, min_rank: str | None,
          seconds: float) -> dict:
    shards = {split: builder.writers[split].shards for split in SPLITS}
    total = {key: {split: sum(s[key] for s in shards[split]) for split in SPLITS}
             for key in ("games", "positions", "bytes")}
    per_position = {split: round(total["bytes"][split] / max(total["positions"][split], 1), 3) for split in SPLITS}
    per_position["all"] = round(sum(total["bytes"].values()) / max(sum(total["positions"].values()), 1), 3)
    counts = builder.counts
    return {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "board_size": BOARD_SIZE, "ko_rule": KO_RULE,
        "move_code": f"action (row * 19 + col, {PASS_ACTION} = pass) + {WHITE_BIT} if white, int16",
        "sources": [str(p) for p in paths], "val_fraction": val_fraction, "seed": seed, "min_rank": min_rank,
        "split_key": "blake2b(seed, blake2b(setup stones, first player, moves))",
        "games": total["games"], "positions": total["positions"], "bytes": total["bytes"],
        "bytes_per_position": per_position, "shards": shards,
        "counts": {**counts, "skipped": dict(builder.skipped), "results": dict(builder.results)},
        "build_seconds": round(seconds, 2), "games_per_second": round(counts["read"] / max(seconds, 1e-9), 1),
        "messages": builder.messages,
    }


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


# ------------------------------------------------------------------------------- training stream


def _action_symmetries(size: int = BOARD_SIZE) -> np.ndarray:
    """int64[8, N*N+1]: the action symmetry k of ``search.symmetry.apply_symmetry`` sends each action
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
    (before each of ``positions_per_game`` random moves of the game when given). Positions go
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
                 shuffle_games: bool = True, part: tuple[int, int] | None = None):
        for name, value, least in (("batch_size", batch_size, 1), ("shuffle_buffer", shuffle_buffer, 0),
                                   ("max_positions", max_positions, 0), ("positions_per_game", positions_per_game, 1)):
            if value is not None and (not isinstance(value, (int, np.integer)) or value < least):
                raise DatasetError(f"{name}={value!r} is not allowed (an integer >= {least})")
        self.part = _check_part(part)
        self.games = GameShards(directory, split)
        self.feature_fn, self.batch_size, self.shuffle_buffer = feature_fn, int(batch_size), int(shuffle_buffer)
        self.symmetries, self.seed, self.max_positions = symmetries, seed, max_positions
        self.progress, self.positions_per_game, self.shuffle_games = progress, positions_per_game, shuffle_games
        self.epoch = 0

    def __iter__(self) -> Iterator[Batch]:
        rng = np.random.default_rng([self.seed, self.epoch, *self.part])  # this part's sampling
        order_seed = int(np.random.default_rng([self.seed, self.epoch]).integers(2**63))  # shared by parts
        self.epoch += 1
        total = self.max_positions
        if self.positions_per_game is None and self.part == (0, 1):
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
