"""Expert games (Tom, KGS, SGF) to dataset shards: each game read, checked, encoded as a
``StoredGame``, deduplicated, assigned to its split and written by ``dataset.shards``.

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

import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from tenuki.agents.go.dataset.shards import (
    BOARD_SIZE,
    FORMAT_NAME,
    FORMAT_VERSION,
    KO_RULE,
    META_FILE,
    PASS_ACTION,
    SPLITS,
    WHITE_BIT,
    DatasetError,
    StoredGame,
    _atomic_write,
    _progress,
    _ShardWriter,
    replay,
)
from tenuki.envs.go.board import BLACK, EMPTY, WHITE, GoError
from tenuki.envs.go.sgf import GameRecord, SGFError
from tenuki.envs.go.sgf_archives import LoadStats, iter_games

MAX_KEPT_MESSAGES = 100
SKIP_REASONS = ("unreadable", "not_19x19", "no_moves", "illegal_setup", "illegal_move", "mid_game_setup",
                "duplicate", "below_min_rank")


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
