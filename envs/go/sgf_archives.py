"""Streaming readers for game collections: a directory of .sgf files, a tar archive of SGF files
(the KGS archives), and the Tom archive (an index plus one game per line).

Archives are read with ``tarfile`` in streaming mode (``r|*``): one member at a time, nothing
extracted to disk, never more than one game's text in memory (the Tom index, ~50k short entries,
is held as a dict). Every reader yields ``GameRecord`` objects and takes

- ``errors``: ``"raise"`` (the first bad game raises SGFError) or ``"skip"`` (a bad game is
  logged, counted in ``stats`` and left out);
- ``check``: also replay each game under ``ko_rule`` so an illegal move counts as a bad game;
- ``every``: keep every k-th game only (a deterministic sample; skipped games are not parsed);
- ``stats``: a ``LoadStats`` the reader fills (games yielded, games skipped, their messages).

These names are also importable from ``tenuki.envs.go.sgf``.
"""

from __future__ import annotations

import functools
import logging
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tenuki.envs.go.sgf import GameRecord, SGFError, load_sgf, read_sgf

log = logging.getLogger(__name__)

ERROR_MODES = ("raise", "skip")
MAX_KEPT_MESSAGES = 100
TOM_INDEX = "Kifu.index"


@dataclass
class LoadStats:
    """What a reader did: ``games`` yielded, ``skipped`` bad games, the first 100 ``messages``."""

    games: int = 0
    skipped: int = 0
    messages: list[str] = field(default_factory=list)

    def skip(self, error: SGFError) -> None:
        self.skipped += 1
        if len(self.messages) < MAX_KEPT_MESSAGES:
            self.messages.append(str(error))
        log.warning("skipped a game: %s", error)


@dataclass(frozen=True)
class TomIndexEntry:
    """One line of ``Tom/Kifu.index``: id, date and time, white, black, komi, result, moves,
    time control (tab-separated; the date and time share one field)."""

    game_id: str
    date: str  # YYYY-MM-DD
    time: str  # HH:MM
    white: str
    black: str
    komi: float
    result: str
    move_count: int
    time_control: str

    @classmethod
    def parse(cls, line: str, where: str = TOM_INDEX) -> TomIndexEntry:
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) != 8:
            raise SGFError(f"{where}: {len(fields)} tab-separated fields instead of 8 in {line[:80]!r}")
        game_id, when, white, black, komi, result, moves, time_control = fields
        date, _, time = when.partition(" ")
        try:
            return cls(game_id, date.replace(".", "-"), time, white, black, float(komi), result,
                       int(moves), time_control)
        except ValueError as e:
            raise SGFError(f"{where}: game {game_id}: bad komi {komi!r} or move count {moves!r}") from e


def _check_mode(errors: str, every: int) -> None:
    if errors not in ERROR_MODES:
        raise ValueError(f"errors={errors!r} is not allowed (allowed: {', '.join(ERROR_MODES)})")
    if every < 1:
        raise ValueError(f"every={every} must be a positive integer")


def _members(path: Path) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    """Stream the regular files of a tar archive."""
    with tarfile.open(path, "r|*") as tar:
        for member in tar:
            if member.isfile():
                yield tar, member


def _archive_errors(reader):
    """Turn the errors of a corrupt or truncated archive (raised while streaming) into SGFError."""

    @functools.wraps(reader)
    def wrapper(path, *args, **kwargs):
        try:
            yield from reader(path, *args, **kwargs)
        except (tarfile.TarError, EOFError, zlib.error) as e:
            raise SGFError(f"{path}: unreadable tar archive: {e}") from e

    return wrapper


def _guarded(stats: LoadStats, errors: str, read, *args, **kwargs) -> GameRecord | None:
    """``read(*args, **kwargs)``, or None after counting the SGFError when errors == "skip"."""
    try:
        record = read(*args, **kwargs)
    except SGFError as e:
        if errors == "raise":
            raise
        stats.skip(e)
        return None
    stats.games += 1
    return record


@_archive_errors
def iter_sgf_archive(path: str | Path, errors: str = "raise", check: bool = False,
                     ko_rule: str = "positional", every: int = 1,
                     stats: LoadStats | None = None) -> Iterator[GameRecord]:
    """The games of every ``*.sgf`` member of a tar archive (e.g. the KGS archives), in archive
    order; records are named ``<archive>:<member>``."""
    _check_mode(errors, every)
    path, stats = Path(path), stats if stats is not None else LoadStats()
    seen = 0
    for tar, member in _members(path):
        if not member.name.lower().endswith(".sgf"):
            continue
        seen += 1
        if (seen - 1) % every:
            continue
        data = tar.extractfile(member).read()
        name = f"{path.name}:{member.name}"
        record = _guarded(stats, errors, read_sgf, data, name=name, check=check, ko_rule=ko_rule)
        if record is not None:
            yield record


def read_tom_line(line: str, index_entry: TomIndexEntry | None = None, check: bool = False,
                  ko_rule: str = "positional", where: str = "tom") -> GameRecord:
    """One game of a Tom kifu file, ``id<TAB>;B[pd];W[dd];...`` (19x19, no setup).

    ``index_entry`` (from ``Kifu.index``) supplies komi, result, players and date; without it
    those fields stay empty (komi 0)."""
    game_id, tab, moves = line.rstrip("\r\n").partition("\t")
    if not tab or not moves.startswith(";"):
        raise SGFError(f"{where}: {line[:60]!r} is not 'id<TAB>;B[..];W[..]...'")
    record = read_sgf(f"(;GM[1]SZ[19]{moves})", name=f"{where}:{game_id}")
    if index_entry is not None:
        if index_entry.game_id != game_id:
            raise SGFError(f"{where}: index entry {index_entry.game_id} given for game {game_id}")
        record.komi, record.result, record.date = index_entry.komi, index_entry.result, index_entry.date
        record.white_name, record.black_name = index_entry.white, index_entry.black
    if check:
        record.replay(ko_rule=ko_rule)
    return record


def _lines(stream: IO[bytes]) -> list[str]:
    """The lines of one archive member (a month of Tom games is ~600 kB; the index ~4 MB).
    Read whole: tarfile's streaming members are not seekable, which io.TextIOWrapper wants."""
    return stream.read().decode("utf-8", "replace").splitlines()


def _read_tom_index(stream: IO[bytes], where: str) -> dict[str, TomIndexEntry]:
    index = {}
    for line in _lines(stream):
        if line.strip():
            entry = TomIndexEntry.parse(line, where)
            index[entry.game_id] = entry
    return index


def _is_tom_kifu(member: tarfile.TarInfo) -> bool:
    return "/kifu/" in f"/{member.name}"


def read_tom_index(path: str | Path) -> dict[str, TomIndexEntry]:
    """The ``Kifu.index`` of a Tom archive (one streaming pass), keyed by game id."""
    for tar, member in _members(Path(path)):
        if member.name.endswith(TOM_INDEX):
            return _read_tom_index(tar.extractfile(member), f"{Path(path).name}:{member.name}")
    raise SGFError(f"{path}: no {TOM_INDEX} in the archive")


@_archive_errors
def iter_tom_archive(path: str | Path, errors: str = "raise", check: bool = False,
                     ko_rule: str = "positional", every: int = 1, require_index: bool = True,
                     stats: LoadStats | None = None) -> Iterator[GameRecord]:
    """The games of the Tom archive (``Tom/Kifu.index`` + ``Tom/kifu/YYYY-MM``), index fields
    attached. One streaming pass when the index comes first in the archive (it does in
    tom9d.tar.gz), else a first pass reads the index. ``require_index``: a game missing from
    the index is an error (else it gets no komi / result / players)."""
    _check_mode(errors, every)
    path, stats = Path(path), stats if stats is not None else LoadStats()
    index: dict[str, TomIndexEntry] | None = None
    seen = 0
    for attempt in range(2):
        for tar, member in _members(path):
            if member.name.endswith(TOM_INDEX):
                if index is None:
                    index = _read_tom_index(tar.extractfile(member), f"{path.name}:{member.name}")
                continue
            if not _is_tom_kifu(member):
                continue
            if index is None:
                break  # kifu before the index: read the index first, then start over
            where = f"{path.name}:{member.name}"
            for line in _lines(tar.extractfile(member)):
                if not line.strip():
                    continue
                seen += 1
                if (seen - 1) % every:
                    continue
                record = _guarded(stats, errors, _tom_game, line, index, where, check, ko_rule, require_index)
                if record is not None:
                    yield record
        else:
            return  # the whole archive was read
        if attempt == 0:
            index = read_tom_index(path)
    raise AssertionError("unreachable: the second pass reads the whole archive")


def _tom_game(line: str, index: dict[str, TomIndexEntry], where: str, check: bool, ko_rule: str,
              require_index: bool) -> GameRecord:
    game_id = line.partition("\t")[0]
    entry = index.get(game_id)
    if entry is None and require_index:
        raise SGFError(f"{where}: game {game_id} is not in {TOM_INDEX}")
    return read_tom_line(line, entry, check=check, ko_rule=ko_rule, where=where)


def is_tom_archive(path: str | Path) -> bool:
    """True when one of the first members of the tar archive is a Tom index or kifu file."""
    for count, (_, member) in enumerate(_members(Path(path))):
        if member.name.endswith(TOM_INDEX) or _is_tom_kifu(member):
            return True
        if count >= 8:
            break
    return False


def iter_games(path: str | Path, errors: str = "raise", check: bool = False, ko_rule: str = "positional",
               every: int = 1, stats: LoadStats | None = None) -> Iterator[GameRecord]:
    """Games from ``path``: a .sgf file, a directory (every .sgf below it, sorted), a tar
    archive of SGF files (KGS) or the Tom archive (recognised by its member names)."""
    _check_mode(errors, every)
    path, stats = Path(path), stats if stats is not None else LoadStats()
    options = {"errors": errors, "check": check, "ko_rule": ko_rule, "every": every, "stats": stats}
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".sgf")
        for file in files[::every]:
            record = _guarded(stats, errors, load_sgf, file, check=check, ko_rule=ko_rule)
            if record is not None:
                yield record
    elif path.suffix.lower() == ".sgf":
        record = _guarded(stats, errors, load_sgf, path, check=check, ko_rule=ko_rule)
        if record is not None:
            yield record
    elif path.is_file() and tarfile.is_tarfile(path):
        reader = iter_tom_archive if is_tom_archive(path) else iter_sgf_archive
        yield from reader(path, **options)
    elif not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    else:
        raise SGFError(f"{path}: not a .sgf file, a directory or a tar archive of games")
