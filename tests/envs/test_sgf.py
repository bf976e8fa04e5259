"""SGF records: fields, round trips, setup / handicap / passes, typed errors, archive readers,
and (``@pytest.mark.data``) every game of the shared KGS, Tom and GNU Go collections replayed."""

from __future__ import annotations

import io
import itertools
import random
import re
import tarfile
import time
from pathlib import Path

import pytest

from tenuki.envs.go.board import Board
from tenuki.envs.go.coords import from_gtp, from_sgf
from tenuki.envs.go.layout import BLACK, EMPTY, WHITE
from tenuki.envs.go.sgf import (
    GameRecord,
    LoadStats,
    Setup,
    SGFError,
    TomIndexEntry,
    iter_games,
    iter_sgf_archive,
    iter_tom_archive,
    load_sgf,
    read_sgf,
    read_tom_line,
    record_from_board,
    write_sgf,
)

GAME = """(;GM[1]FF[4]CA[UTF-8]SZ[19]PB[Honinbo \\] Shusaku]BR[6d]PW[Gennan Inseki]WR[9d]
DT[1846-09-11]KM[0]RE[B+2]RU[Japanese]EV[Ear-reddening game]
;B[qd];W[dc];B[pq];W[oc];B[cp];W[cf](;B[ep];W[tt];B[])(;B[aa]))"""

HANDICAP = "(;SZ[9]KM[0.5]HA[2]AB[cc][gg]PW[w]PB[b];W[ee];B[ge];W[])"


def sgf_action(point: str, size: int = 19) -> int:
    return from_sgf(point, size)


# ------------------------------------------------------------------------------ fields, round trip


def test_root_fields_and_main_line():
    record = read_sgf(GAME, name="ear-reddening")
    assert (record.size, record.komi, record.handicap, record.result) == (19, 0.0, 0, "B+2")
    assert (record.black_name, record.black_rank) == ("Honinbo ] Shusaku", "6d")
    assert (record.white_name, record.white_rank) == ("Gennan Inseki", "9d")
    assert (record.date, record.rules, record.name) == ("1846-09-11", "Japanese", "ear-reddening")
    assert record.extra == {"EV": ["Ear-reddening game"]}
    # Main line only: the first variation (B[ep] W[tt] B[]), never B[aa].
    assert record.moves[:2] == [(BLACK, sgf_action("qd")), (WHITE, sgf_action("dc"))]
    assert record.moves[-3:] == [(BLACK, sgf_action("ep")), (WHITE, 361), (BLACK, 361)]
    assert len(record.moves) == 9


def test_round_trip_is_identity_on_every_field():
    originals = [
        read_sgf(GAME),
        read_sgf(HANDICAP),
        read_sgf("(;SZ[13]PL[W]AB[aa:bc]AW[dd]C[a root comment];W[ee];AE[aa]AW[ab]PL[B];B[ff];PL[W])"),
        read_sgf("(;SZ[2]KM[-3.25]RE[0]PB[黒]PW[白];B[aa];W[];B[])"),
    ]
    for record in originals:
        text = write_sgf(record)
        again = read_sgf(text)
        assert again == record, text
        assert write_sgf(again) == text
        assert record.to_sgf() == text
    assert originals[2].setups == [Setup(1, [], [sgf_action("ab", 13)], [sgf_action("aa", 13)], BLACK),
                                   Setup(2, [], [], [], WHITE)]


def test_record_from_board_round_trips_through_sgf():
    board = Board(9, komi=5.5)
    board.set_stones(black=["C3", "G7"], white=["E5"])
    board.set_to_play("white")
    for move in ["C7", "G3", "pass", "D4", "E4"]:
        board.play(move)
    record = record_from_board(board, result="W+R", black_name="a", white_name="b")
    assert record.to_play == WHITE and record.komi == 5.5
    assert sorted(record.setup_black) == sorted(from_gtp(v, 9) for v in ("C3", "G7"))
    again = read_sgf(write_sgf(record))
    assert again == record
    replayed = again.replay()
    assert (replayed.stones() == board.stones()).all()
    assert replayed.moves == board.moves and replayed.to_play == board.to_play


def test_passes_empty_and_tt():
    record = read_sgf("(;SZ[9];B[];W[tt];B[ee];W[])")
    assert record.moves == [(BLACK, 81), (WHITE, 81), (BLACK, 40), (WHITE, 81)]
    board = record.replay()
    assert board.move_number == 4 and board.consecutive_passes == 1
    assert "B[]" in write_sgf(record) and "tt" not in write_sgf(record)


def test_handicap_setup_white_moves_first():
    record = read_sgf(HANDICAP)
    assert record.handicap == 2 and record.to_play is None
    assert record.setup_black == [sgf_action("cc", 9), sgf_action("gg", 9)]
    assert record.first_player() == WHITE
    assert record.start_board().to_play == WHITE
    board = record.replay()
    assert board.color_at("C7") == BLACK and board.color_at("E5") == WHITE
    assert board.to_play == BLACK  # after W E5, B G5, W pass
    # Without moves the handicap alone decides; PL overrides everything.
    assert read_sgf("(;SZ[9]HA[2]AB[cc][gg])").first_player() == WHITE
    assert read_sgf("(;SZ[9]HA[2]AB[cc][gg]PL[B])").start_board().to_play == BLACK
    assert read_sgf("(;SZ[9]AB[cc]AW[gg])").first_player() == BLACK


def test_setup_in_later_nodes_resets_history():
    record = read_sgf("(;SZ[5];B[cc];W[bb];AE[cc]AB[dd]PL[W];W[aa])")
    assert record.setups == [Setup(2, [sgf_action("dd", 5)], [], [sgf_action("cc", 5)], WHITE)]
    board = record.replay()
    assert board.color_at("C3") == EMPTY and board.color_at("D2") == BLACK and board.color_at("B4") == WHITE
    # Board.set_stones starts a new history: only the move after the setup is left.
    assert board.moves == [(WHITE, 0)]


def test_positions_yield_each_move_on_one_board():
    record = read_sgf(GAME)
    seen = []
    for board, color, action in record.positions():
        assert board.move_number == len(seen)
        assert board.is_legal(action, color)
        seen.append((color, action))
    assert seen == record.moves
    assert (board.stones() == record.replay().stones()).all()  # played forward to the end


def test_pl_as_digits_and_compressed_point_lists():
    record = read_sgf("(;SZ[5]PL[2]AB[aa:bb]AW[ee])")
    assert record.to_play == WHITE
    assert record.setup_black == [0, 1, 5, 6]


def test_bytes_are_decoded_per_ca():
    latin = "(;CA[ISO-8859-1]PB[Jos\xe9])".encode("latin-1")
    assert read_sgf(latin).black_name == "José"
    assert read_sgf("(;CA[UTF-8]PB[José])".encode()).black_name == "José"
    assert read_sgf("(;PB[José])".encode()).black_name == "José"  # no CA: UTF-8 when it decodes
    assert read_sgf("(;PB[Jos\xe9])".encode("latin-1")).black_name == "José"  # else ISO-8859-1
    assert read_sgf(b"(;CA[base64]PB[x])").black_name == "x"  # not a text codec: UTF-8


# ------------------------------------------------------------------------------ typed errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("this is not an sgf file", r"not a readable SGF game: no SGF data found"),
        ("(;SZ[9];B[aa];W[bb]", r"not a readable SGF game: unexpected end"),
        ("", r"no SGF data found"),
        ("(;SZ[nine])", r"SZ\[nine\] is not a board size"),
        ("(;SZ[25];B[aa])", r"SZ\[25\]: board size 25 is not supported \(allowed 2..19\)"),
        ("(;SZ[1])", r"board size 1 is not supported"),
        ("(;SZ[19:13])", r"rectangular boards are not supported"),
        ("(;GM[2])", r"GM\[2\] is not a game of Go"),
        ("(;SZ[9];B[ee];W[zz])", r"move 2 \(node 2\): W\[zz\].*off a 9x9 board"),
        ("(;SZ[9];B[e])", r"move 1 \(node 1\): B\[e\].*not two letters"),
        ("(;SZ[9]AB[ee:zz])", r"root node: AB\[ee:zz\]"),
        ("(;SZ[9]AB[tt])", r"AB\[tt\]: a setup stone cannot be a pass"),
        ("(;KM[six])", r"KM\[six\] is not a number"),
        ("(;KM[nan])", r"KM\[nan\] is not a finite number"),
        ("(;HA[two])", r"HA\[two\] is not an integer"),
        ("(;SZ[9];B[aa]W[bb])", r"node 1 .*both a B and a W move"),
        ("(;SZ[9];B[aa][bb])", r"move 1 .*B has 2 values"),
        ("(;SZ[9];PL[X])", r"node 1 .*PL\[X\] is not a colour"),
    ],
)
def test_malformed_sgf_raises_sgferror_naming_the_problem(text, message):
    with pytest.raises(SGFError, match=message) as info:
        read_sgf(text, name="bad.sgf")
    assert str(info.value).startswith("bad.sgf: ")


def test_illegal_move_in_main_line_names_move_and_vertex():
    record = read_sgf("(;SZ[9];B[ee];W[dd];B[ee])", name="occupied.sgf")
    with pytest.raises(SGFError, match=r"occupied.sgf: move 3 B\[ee\] \(E5\) is illegal: occupied"):
        record.replay()
    with pytest.raises(SGFError, match="move 3"):
        read_sgf("(;SZ[9];B[ee];W[dd];B[ee])", check=True)
    # An illegal move in a variation is never played.
    read_sgf("(;SZ[9];B[ee](;W[dd])(;W[ee]))").replay()


def test_suicide_and_ko_are_named():
    suicide = read_sgf("(;SZ[5]AB[ba][ab];W[aa])", name="s")
    with pytest.raises(SGFError, match=r"move 1 W\[aa\] \(A5\) is illegal: suicide"):
        suicide.replay()
    # With suicide allowed the stone goes at once; simple ko, since the position repeats.
    assert suicide.replay(ko_rule="simple", allow_suicide=True).color_at("A5") == EMPTY
    # W takes the ko at B4 capturing C4; B retakes C4 at once.
    ko = read_sgf("(;SZ[5]AB[ba][ab][bc][cb]AW[db][ca][cc]PL[W];W[bb];B[cb])")
    with pytest.raises(SGFError, match=r"move 2 B\[cb\] \(C4\) is illegal: ko"):
        ko.replay(ko_rule="simple")


def test_setup_stone_without_liberty():
    record = read_sgf("(;SZ[5]AB[aa]AW[ba][ab];B[cc])", name="nolib.sgf")
    with pytest.raises(SGFError, match=r"nolib.sgf: root setup \(AB / AW\): .*A5 would have no liberty"):
        record.replay()
    later = read_sgf("(;SZ[5];B[cc];AW[ba][ab]AB[aa])", name="later.sgf")
    with pytest.raises(SGFError, match=r"later.sgf: setup before move 2 .*no liberty"):
        later.replay()


def test_corrupted_sgf_never_escapes_a_raw_exception():
    """Seeded mutations of valid files: every outcome is a record or an SGFError."""
    sources = [GAME.encode(), HANDICAP.encode(), b"(;SZ[5]AB[aa:bb]PL[W];W[cc];AE[aa];B[])"]
    rng = random.Random(7)
    alphabet = b"()[];:\\ABWabcdeSZKMHAPLtt19 \n\xff"
    outcomes = {"record": 0, "error": 0}
    for _ in range(3000):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 5)):
            i = rng.randrange(len(data))
            kind = rng.random()
            if kind < 0.4:
                data[i] = rng.choice(alphabet)
            elif kind < 0.7:
                del data[i]
            else:
                data.insert(i, rng.choice(alphabet))
        try:
            record = read_sgf(bytes(data))
            assert read_sgf(write_sgf(record)) == record
            record.replay(ko_rule="simple")
            outcomes["record"] += 1
        except SGFError:
            outcomes["error"] += 1
    assert outcomes["record"] > 100 and outcomes["error"] > 100


# ------------------------------------------------------------------------------ archives


def _tar(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


TOM_INDEX = "11\t2005.01.02 10:00\twhite1\t黑\t6.5\tB+R\t3\t30/3 5m\n12\t2005.01.03 11:00\tw2\tb2\t7.5\tW+0.5\t2\t-\n"
TOM_KIFU = b"11\t;B[pd];W[dd];B[pp]\n12\t;B[dd];W[pp]\n"


def test_read_tom_line_attaches_index_fields():
    entry = TomIndexEntry.parse(TOM_INDEX.splitlines()[0])
    record = read_tom_line("11\t;B[pd];W[dd];B[pp]", entry)
    assert (record.komi, record.result, record.date) == (6.5, "B+R", "2005-01-02")
    assert (record.white_name, record.black_name, record.size) == ("white1", "黑", 19)
    assert len(record.moves) == entry.move_count == 3
    assert read_tom_line("11\t;B[pd]").komi == 0.0
    with pytest.raises(SGFError, match="not 'id<TAB>"):
        read_tom_line("11 ;B[pd]")
    with pytest.raises(SGFError, match="index entry 11 given for game 99"):
        read_tom_line("99\t;B[pd]", entry)
    with pytest.raises(SGFError, match="8"):
        TomIndexEntry.parse("1\t2\t3")


@pytest.mark.parametrize("index_first", [True, False])
def test_iter_tom_archive_with_the_index_before_or_after_the_kifu(tmp_path, index_first):
    members = [("Tom/Kifu.index", TOM_INDEX.encode()), ("Tom/kifu/2005-01", TOM_KIFU)]
    path = _tar(tmp_path / "tom.tar.gz", members if index_first else members[::-1])
    records = list(iter_tom_archive(path))
    assert [r.result for r in records] == ["B+R", "W+0.5"]
    assert [r.komi for r in records] == [6.5, 7.5]
    assert [r.name for r in iter_games(path)] == ["tom.tar.gz:Tom/kifu/2005-01:11", "tom.tar.gz:Tom/kifu/2005-01:12"]


def test_iter_sgf_archive_errors_raise_or_skip(tmp_path):
    path = _tar(tmp_path / "kgs.tar.gz", [("g/a.sgf", GAME.encode()), ("g/README", b"x"),
                                           ("g/b.sgf", b"(;SZ[30])"), ("g/c.sgf", HANDICAP.encode()),
                                           ("g/d.sgf", b"(;SZ[9];B[ee];W[ee])")])
    with pytest.raises(SGFError, match=r"kgs.tar.gz:g/b.sgf: root node: SZ\[30\]"):
        list(iter_sgf_archive(path))
    stats = LoadStats()
    records = list(iter_sgf_archive(path, errors="skip", stats=stats))
    assert [r.name for r in records] == ["kgs.tar.gz:g/a.sgf", "kgs.tar.gz:g/c.sgf", "kgs.tar.gz:g/d.sgf"]
    assert (stats.games, stats.skipped) == (3, 1) and "SZ[30]" in stats.messages[0]
    checked = LoadStats()
    assert len(list(iter_games(path, errors="skip", check=True, stats=checked))) == 2
    assert "g/d.sgf: move 2 W[ee] (E5) is illegal: occupied" in checked.messages[1]
    assert [r.name for r in iter_sgf_archive(path, every=2)] == ["kgs.tar.gz:g/a.sgf", "kgs.tar.gz:g/c.sgf"]
    with pytest.raises(ValueError, match="errors='ignore'"):
        list(iter_sgf_archive(path, errors="ignore"))


def test_truncated_archive_is_an_sgferror(tmp_path):
    path = _tar(tmp_path / "a.tar.gz", [(f"g/{i}.sgf", GAME.encode() * 40) for i in range(30)])
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(SGFError, match="unreadable tar archive"):
        list(iter_sgf_archive(cut))


def test_iter_games_dispatch(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "x.sgf").write_text(GAME)
    (tmp_path / "d" / "sub" / "y.SGF").write_text(HANDICAP)
    (tmp_path / "d" / "notes.txt").write_text("not a game")
    assert len(list(iter_games(tmp_path / "d"))) == 2
    assert load_sgf(tmp_path / "d" / "x.sgf") == next(iter_games(tmp_path / "d" / "x.sgf"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SGFError, match="not a .sgf file"):
        list(iter_games(tmp_path / "notes.txt"))
    with pytest.raises(FileNotFoundError):
        list(iter_games(tmp_path / "missing.sgf"))


def test_default_record_replays_empty_board():
    board = GameRecord(size=7).replay()
    assert board.size == 7 and not board.stones().any()


# ------------------------------------------------------------------------------ shared data

# Verified independently (sgfmill.boards): each move recreates the position of 3..8 moves before
# (triple ko, sending-two-returning-one). Legal under the simple ko these games were played with.
KGS_POSITIONAL_SUPERKO = {
    "KGS-2002-19-3646-.tar.gz:KGS2002/2002-02-16-8.sgf": 352,
    "KGS-2003-19-7582-.tar.gz:KGS2003/2003-02-03-5.sgf": 108,  # RE[Void]: triple ko
    "KGS-2003-19-7582-.tar.gz:KGS2003/2003-09-20-29.sgf": 188,
    "KGS-2003-19-7582-.tar.gz:KGS2003/2003-11-15-12.sgf": 301,
    "KGS-2006-19-10388-.tar.gz:kgs-19-2006/2006-11-12-28.sgf": 141,
    "KGS-2015-19-8133-.tar.gz:kgs-19-2015/2015-07-21-16.sgf": 217,
}
GNUGO_POSITIONAL_SUPERKO = {
    "regression/games/gwe.sgf": 233, "regression/games/filllib10.sgf": 237,
    "regression/games/reading41.sgf": 132, "regression/games/incident74.sgf": 79,
    "regression/games/pending/ko6.sgf": 248, "regression/games/verybad.sgf": 122,
    "regression/games/gifu2006/gnugo-gorimu.sgf": 381,  # RE[W+Repetition]
    "regression/games/nngs/gnugo-3.1.22-heeroy-200201252006.sgf": 443,
}
# Files GNU Go's lenient reader accepts and we reject on purpose.
GNUGO_UNREADABLE = {
    "regression/games/owl42.sgf": "unexpected end of SGF data",  # the closing ')' is missing
    "regression/games/pending/nightmare.sgf": "no SGF data found",  # an empty file
    "regression/games/buzco1.sgf": "both a B and a W move",  # node 267 is B[tt]W[tt]
}
# Tom records illegal under every rule: the line holds 1-2 more moves than Kifu.index counts.
# Five immediate single-stone ko recaptures (checked with sgfmill.boards) and one doubled move.
TOM_CORRUPT = {"5763412": "move 296 W[pa] (Q19) is illegal: ko", "7737502": "move 284 W[qa] (R19) is illegal: ko",
               "6877580": "move 318 W[sr] (T2) is illegal: ko", "7032636": "move 343 B[hr] (H2) is illegal: ko",
               "2627800": "move 319 B[pq] (Q3) is illegal: ko", "21463234": "move 2 B[qd] (R16) is illegal: occupied"}
TOM_POSITIONAL_SUPERKO = {"78627874", "94407560", "25464417", "17696046", "32324768", "101654758", "111831786",
                          "81564770", "4717407"}


def replay_all(records) -> dict:
    """Replay under positional superko, then under simple ko where that fails. Returns counts,
    {name: message} of superko-only failures and of games illegal under simple ko too."""
    out = {"games": 0, "moves": 0, "superko": {}, "illegal": {}, "seconds": time.perf_counter()}
    for record in records:
        out["games"] += 1
        out["moves"] += len(record.moves)
        try:
            record.replay()
        except SGFError as error:
            try:
                record.replay(ko_rule="simple")
                out["superko"][record.name] = str(error)
            except SGFError as simple_error:
                out["illegal"][record.name] = str(simple_error)
    out["seconds"] = round(time.perf_counter() - out["seconds"], 1)
    return out


@pytest.mark.data
@pytest.mark.parametrize("archive", ["KGS-2001-19-2298-", "KGS-2002-19-3646-", "KGS-2003-19-7582-",
                                     "KGS-2006-19-10388-", "KGS-2015-19-8133-"])
def test_kgs_archive_replays_without_illegal_moves(data_dir, archive):
    """Every game (about 7 s per 10,000 games, sgfmill parsing ~75% of it)."""
    path = data_dir / "go" / "kgs" / f"{archive}.tar.gz"
    stats = LoadStats()
    result = replay_all(iter_sgf_archive(path, stats=stats))
    print(f"\n{archive}: {result['games']} games, {result['moves']} moves, {result['seconds']} s")
    assert stats.skipped == 0 and result["games"] == int(archive.split("-")[3])
    assert result["illegal"] == {}
    expected = {k: v for k, v in KGS_POSITIONAL_SUPERKO.items() if k.startswith(archive)}
    assert set(result["superko"]) == set(expected)
    for name, message in result["superko"].items():
        assert f"move {expected[name]} " in message and "superko" in message


@pytest.mark.data
def test_gnugo_regression_games_replay(data_dir):
    path = data_dir / "go" / "regression" / "gnugo-regression.tar.gz"
    stats = LoadStats()
    result = replay_all(iter_sgf_archive(path, errors="skip", stats=stats))
    assert result["games"] + stats.skipped == 1761
    assert stats.skipped == len(GNUGO_UNREADABLE)
    for name, reason in GNUGO_UNREADABLE.items():
        assert any(m.startswith(f"gnugo-regression.tar.gz:{name}: ") and reason in m for m in stats.messages)
    assert result["illegal"] == {}
    superko = {name.split(":", 1)[1]: message for name, message in result["superko"].items()}
    assert set(superko) == set(GNUGO_POSITIONAL_SUPERKO)
    for name, move in GNUGO_POSITIONAL_SUPERKO.items():
        assert f"move {move} " in superko[name]
    sizes = {r.size for r in iter_sgf_archive(path, errors="skip")}
    assert {9, 13, 19} <= sizes


@pytest.mark.data
def test_tom_archive_replays_with_index_fields(data_dir, full_data):
    """The first 2,000 games streamed (all 50,956 with TENUKI_FULL_DATA=1, about 50 s)."""
    path = data_dir / "go" / "tom9d.tar.gz"

    def checked(records):  # streamed: the games are never all in memory
        for record in records:
            assert record.komi in (6.5, 7.5), record.name
            assert re.fullmatch(r"[BW]\+(\d+(\.5)?|R|T|[A-Za-z]+)", record.result), (record.name, record.result)
            assert record.black_name and record.white_name and re.fullmatch(r"20\d\d-\d\d-\d\d", record.date)
            yield record

    games = iter_tom_archive(path)
    records = checked(games if full_data else itertools.islice(games, 2000))
    result = replay_all(records)
    print(f"\nTom: {result['games']} games, {result['moves']} moves, {result['seconds']} s")
    illegal = {name.rsplit(":", 1)[1]: message for name, message in result["illegal"].items()}
    assert set(illegal) <= set(TOM_CORRUPT)
    for game_id, message in illegal.items():
        assert TOM_CORRUPT[game_id] in message
    superko = {name.rsplit(":", 1)[1] for name in result["superko"]}
    assert superko <= TOM_POSITIONAL_SUPERKO
    if full_data:
        assert result["games"] == 50956
        assert set(illegal) == set(TOM_CORRUPT) and superko == TOM_POSITIONAL_SUPERKO
