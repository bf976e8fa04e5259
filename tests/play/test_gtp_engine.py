"""``tenuki gtp``: transcripts of every command, errors, handicap, fuzzing, GNU Go side by side."""

from __future__ import annotations

import io
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tenuki.play.gtp_engine import GTPEngine
from tenuki.play.registry import make
from tests.conftest import find_gnugo

ROOT = Path(__file__).resolve().parents[2]
GNUGO = find_gnugo() or "/usr/games/gnugo"  # gnugo on the PATH first (tests/conftest.py)


def engine(player: str = "random", size: int = 9, **kwargs) -> GTPEngine:
    return GTPEngine(lambda n: make(player, n, visits=32), size=size, komi=7.5, **kwargs)


def ask(e: GTPEngine, line: str) -> str:
    return e.handle(line + "\n")


def test_administrative_commands():
    e = engine()
    assert ask(e, "protocol_version") == "= 2\n\n"
    assert ask(e, "name") == "= tenuki\n\n"
    assert ask(e, "7 version").startswith("=7 0.17 (tenuki ")  # a Leela Zero version for Lizzie (test_gtp_analysis)
    assert ask(e, "known_command lz-analyze") == "= true\n\n"
    assert ask(e, "known_command kata-analyze") == "= true\n\n"
    assert ask(e, "known_command frobnicate") == "= false\n\n"
    listed = ask(e, "list_commands").split("\n")
    for command in ("protocol_version", "name", "version", "known_command", "list_commands", "quit", "boardsize",
                    "clear_board", "komi", "fixed_handicap", "place_free_handicap", "set_free_handicap", "play",
                    "genmove", "undo", "time_settings", "time_left", "final_score", "final_status_list",
                    "loadsgf", "reg_genmove", "showboard", "printsgf", "kgs-genmove_cleanup", "kgs-time_settings",
                    "lz-analyze", "lz-genmove_analyze", "kata-analyze", "kata-genmove_analyze", "list_stones",
                    "is_legal", "all_legal", "captures"):
        assert any(command in line for line in listed), command
    assert ask(e, "quit") == "= \n\n" and e.quit


def test_framing_ids_comments_errors():
    e = engine()
    assert ask(e, "") is None and ask(e, "   # only a comment") is None
    assert ask(e, "12 name # trailing comment") == "=12 tenuki\n\n"
    assert ask(e, "\tname\x01") == "= tenuki\n\n"
    assert ask(e, "frobnicate") == "? unknown command\n\n"
    assert ask(e, "3 frobnicate") == "?3 unknown command\n\n"
    assert ask(e, "boardsize") == "? syntax error\n\n"
    assert ask(e, "boardsize x") == "? syntax error\n\n"
    assert ask(e, "boardsize 25") == "? unacceptable size\n\n"
    assert ask(e, "komi abc") == "? syntax error\n\n"
    assert ask(e, "play b Z9") == "? invalid vertex\n\n"
    assert ask(e, "play purple D4") == "? invalid color\n\n"


def test_play_undo_illegal_and_queries():
    e = engine(size=5)
    ask(e, "boardsize 5")
    assert ask(e, "play b C3") == "= \n\n"
    assert ask(e, "play w C3") == "? illegal move\n\n"
    assert ask(e, "list_stones black") == "= C3\n\n"
    assert ask(e, "is_legal w C3") == "= 0\n\n" and ask(e, "is_legal w D3") == "= 1\n\n"
    assert len(ask(e, "all_legal w").split()) == 1 + 24
    for move in ("w C2", "b B2", "w D2", "b C1", "w B1", "b E5"):
        assert ask(e, "play " + move) == "= \n\n"
    assert ask(e, "captures w") == "= 0\n\n"
    assert ask(e, "play w D1") == "= \n\n"  # takes C1's last liberty
    assert ask(e, "captures w") == "= 1\n\n"
    assert "C1" not in ask(e, "list_stones black")
    assert ask(e, "undo") == "= \n\n"
    assert "C1" in ask(e, "list_stones black") and ask(e, "captures w") == "= 0\n\n"
    for _ in range(7):
        assert ask(e, "undo") == "= \n\n"
    assert ask(e, "undo") == "? cannot undo\n\n"
    assert ask(e, "clear_board") == "= \n\n" and ask(e, "list_stones black") == "= \n\n"


def test_genmove_reg_genmove_and_showboard():
    e = engine(size=7)
    ask(e, "boardsize 7")
    reply = ask(e, "genmove b")
    assert reply.startswith("= ") and ask(e, "list_stones black") != "= \n\n"
    before = ask(e, "list_stones white")
    assert ask(e, "reg_genmove w").startswith("= ")
    assert ask(e, "list_stones white") == before
    board = ask(e, "showboard")
    assert board.startswith("=\n") and "A B C D E F G" in board


def test_handicap_commands():
    e = engine(size=19)
    assert ask(e, "fixed_handicap 4") == "= D4 Q16 D16 Q4\n\n"
    assert ask(e, "fixed_handicap 2") == "? board not empty\n\n"
    ask(e, "clear_board")
    assert ask(e, "fixed_handicap 10") == "? invalid number of stones\n\n"
    assert ask(e, "fixed_handicap x") == "? syntax error\n\n"
    reply = ask(e, "place_free_handicap 12")
    assert reply.startswith("= ") and len(reply.split()) == 13
    ask(e, "clear_board")
    assert ask(e, "set_free_handicap D4 D4") == "? bad vertex list\n\n"
    assert ask(e, "set_free_handicap D4 Q16 K10") == "= \n\n"
    assert ask(e, "list_stones black") in ("= D4 K10 Q16\n\n", "= Q16 K10 D4\n\n") or len(
        ask(e, "list_stones black").split()) == 4
    ask(e, "boardsize 5")
    assert ask(e, "fixed_handicap 2") == "? invalid number of stones\n\n"


def test_time_commands_and_budget():
    e = engine(size=9)
    assert ask(e, "time_settings 300 30 5") == "= \n\n"
    assert ask(e, "time_left b 120 0") == "= \n\n"
    assert ask(e, "time_settings x 1 1") == "? syntax error\n\n"
    assert ask(e, "kgs-time_settings byoyomi 60 10 3") == "= \n\n"
    assert ask(e, "kgs-time_settings none") == "= \n\n"
    assert ask(e, "kgs-time_settings canadian 60") == "? syntax error\n\n"
    seconds = e.time.budget(1, e.board, None)
    assert seconds is None
    ask(e, "time_settings 60 10 5")
    ask(e, "time_left w 8 5")
    assert e.time.budget(2, e.board, None) == pytest.approx(8 / 5)  # the clock's allowance: the period per stone
    ask(e, "time_left w 0 0")  # main time spent, not yet in byo-yomi: one stone's share of the period
    assert e.time.budget(2, e.board, None) == pytest.approx(10 / 5)
    ask(e, "time_settings 90 0 0")
    ask(e, "time_left b 90 0")  # main time only: an even share over half the empty points (40 on 9x9)
    assert e.time.budget(1, e.board, None) == pytest.approx(90 / 40)


def test_think_time_keeps_a_margin_for_the_answer():
    from tenuki.play.gtp_engine import think_time

    assert think_time(1.0) == pytest.approx(0.93)  # 95% of the limit less 20 ms
    assert think_time(0.2) == pytest.approx(0.17)
    assert think_time(0.001) == pytest.approx(0.01)  # never below 10 ms


def test_final_score_status_and_printsgf(tmp_path):
    e = engine(size=5)
    ask(e, "boardsize 5")
    ask(e, "komi 0.5")
    for move in ("b B5", "b B4", "b B3", "b B2", "b B1", "w D5", "w D4", "w D3", "w D2", "w D1"):
        ask(e, "play " + move)
    assert ask(e, "final_score") == "= W+0.5\n\n"  # 10 points each, komi decides
    assert ask(e, "final_status_list dead") == "= \n\n"
    assert len(ask(e, "final_status_list alive").split()) == 11
    assert ask(e, "final_status_list maybe") == "? syntax error\n\n"
    sgf = ask(e, "printsgf")
    assert "SZ[5]" in sgf and "KM[0.5]" in sgf
    path = tmp_path / "game.sgf"
    assert ask(e, f"printsgf {path}") == "= \n\n"
    assert ask(e, f"loadsgf {path}").startswith("= ")
    assert len(ask(e, "list_stones white").split()) == 6


def test_loadsgf_errors_leave_the_board(tmp_path):
    e = engine(size=9)
    ask(e, "play b E5")
    bad = tmp_path / "bad.sgf"
    bad.write_text("(;SZ[9];B[zz]")
    assert ask(e, f"loadsgf {bad}").startswith(f"? cannot load file {bad}: ")
    missing = ask(e, f"loadsgf {tmp_path / 'missing.sgf'}")
    assert missing == f"? cannot load file {tmp_path / 'missing.sgf'}: no such file or directory\n\n"
    assert ask(e, f"loadsgf {tmp_path}").startswith(f"? cannot load file {tmp_path}: ")  # a directory
    assert ask(e, "list_stones black") == "= E5\n\n"


def test_lz_genmove_analyze_format():
    out = io.StringIO()
    e = GTPEngine(lambda n: make("mcts", n, visits=64), size=7, komi=7.5, out=out, visits=64)
    ask(e, "boardsize 7")
    assert e.handle("lz-genmove_analyze b 10\n") is None
    text = out.getvalue()
    lines = text.split("\n")
    assert lines[0] == "="
    assert lines[1].startswith("info move ") and " visits " in lines[1] and " winrate " in lines[1]
    assert " prior " in lines[1] and " pv " in lines[1]
    assert any(line.startswith("play ") for line in lines)
    assert text.endswith("\n\n")


def test_rejected_commands_leave_the_board_unchanged():
    e = engine(size=9)
    ask(e, "play b E5")
    for line in ("play w E5", "play b Z1", "play x D4", "boardsize 99", "fixed_handicap 3", "set_free_handicap A1",
                 "undo extra", "komi nope"):
        before = (e.board.hash, e.board.move_number, e.board.to_play)
        reply = ask(e, line)
        if reply.startswith("?"):
            assert (e.board.hash, e.board.move_number, e.board.to_play) == before, line


def test_subprocess_framing_eof_and_startup_time():
    cmd = [sys.executable, "-m", "tenuki", "gtp", "--player", "random"]
    subprocess.run(cmd, input="name\n", text=True, capture_output=True, cwd=ROOT, timeout=300, check=True)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    proc.stdin.write("1 name\n")
    proc.stdin.flush()
    first = proc.stdout.readline()
    startup = time.perf_counter() - start
    proc.stdin.write("boardsize 9\ngenmove b\n")
    proc.stdin.close()  # EOF ends the engine cleanly
    rest = proc.stdout.read()
    assert proc.wait(timeout=60) == 0
    assert first == "=1 tenuki\n" and "= " in rest
    assert startup < 2.0, f"first answer after {startup:.2f} s"


def test_weights_without_size_start_on_the_network_board(tmp_path):
    from tenuki.agents.go.networks.checkpoint import save_checkpoint
    from tenuki.agents.go.networks.resnet import AlphaZeroNet

    path = save_checkpoint(tmp_path / "net7", AlphaZeroNet(7, blocks=1, channels=4))
    cmd = [sys.executable, "-m", "tenuki", "gtp", "--player", "az-mcts", "--visits", "4", "--weights", str(path)]
    done = subprocess.run(cmd, input="query_boardsize\ngenmove b\nboardsize 19\n", text=True, capture_output=True,
                          cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    answers = done.stdout.split("\n\n")
    assert answers[0] == "= 7" and answers[1].startswith("= ")
    assert answers[2].startswith("?")  # the 7x7 network cannot play 19x19: refused, the engine keeps answering
    explicit = subprocess.run([*cmd, "--size", "9"], input="query_boardsize\n", text=True, capture_output=True,
                              cwd=ROOT, timeout=300, check=False)
    assert explicit.returncode == 2 and "7x7" in explicit.stderr  # an explicit --size is kept (and refused)


@pytest.mark.gnugo
@pytest.mark.skipif(not Path(GNUGO).exists(), reason="GNU Go is not installed")
def test_side_by_side_with_gnugo_random_games():
    from tenuki.play.gtp_client import GTPClient

    rng = random.Random(5)
    ours = engine(size=9)
    with GTPClient([GNUGO, "--mode", "gtp", "--chinese-rules", "--positional-superko", "--forbid-suicide"]) as gnugo:
        for game in range(2):
            for client in ("boardsize 9", "clear_board", "komi 7.5"):
                ask(ours, client)
                gnugo.send(*client.split())
            color = "b"
            passes = 0
            for _ in range(160):
                legal = ask(ours, f"all_legal {color}")[2:].split()
                assert sorted(legal) == sorted(gnugo.send("all_legal", color).split())
                vertex = rng.choice(legal + ["pass"]) if legal else "pass"
                assert ask(ours, f"is_legal {color} {vertex}") == "= 1\n\n" or vertex == "pass"
                assert ask(ours, f"play {color} {vertex}") == "= \n\n"
                gnugo.send("play", color, vertex)
                for c in ("black", "white"):
                    assert sorted(ask(ours, f"list_stones {c}")[2:].split()) == sorted(gnugo.send("list_stones", c).split())
                passes = passes + 1 if vertex == "pass" else 0
                if passes == 2:
                    break
                color = "w" if color == "b" else "b"


@pytest.mark.gnugo
@pytest.mark.data
@pytest.mark.skipif(not Path(GNUGO).exists(), reason="GNU Go is not installed")
def test_loadsgf_regression_files_give_gnugo_stones(data_dir, tmp_path):
    import tarfile

    from tenuki.play.gtp_client import GTPClient, GTPError

    archive = data_dir / "go" / "regression" / "gnugo-regression.tar.gz"
    with tarfile.open(archive) as tar:
        members = sorted((m for m in tar.getmembers() if m.name.endswith(".sgf")), key=lambda m: m.name)[::60]
        paths = []
        for m in members:
            target = tmp_path / Path(m.name).name
            target.write_bytes(tar.extractfile(m).read())
            paths.append(target)
    ours = engine(size=19)
    checked = 0
    refused: list[str] = []
    with GTPClient([GNUGO, "--mode", "gtp", "--chinese-rules"]) as gnugo:
        for path in paths:
            mine = ask(ours, f"loadsgf {path}")
            try:
                gnugo.send("loadsgf", str(path))
            except GTPError:
                refused.append(path.name)  # GNU Go refuses some files
                continue
            if mine.startswith("?"):
                refused.append(path.name)
                continue
            for c in ("black", "white"):
                assert sorted(ask(ours, f"list_stones {c}")[2:].split()) == sorted(gnugo.send("list_stones", c).split()), path
            checked += 1
    assert checked >= 20, (checked, refused)


def test_final_score_after_two_passes_removes_a_dead_stone():
    e = engine(size=9)
    ask(e, "komi 0.5")
    for row in range(1, 10):
        ask(e, f"play b C{row}")
    ask(e, "play w B5")  # a lone white stone inside black's two columns
    for row in range(1, 10):
        ask(e, f"play w E{row}")
    ask(e, "play b pass")
    ask(e, "play w pass")
    assert ask(e, "final_status_list dead") == "= B5\n\n"
    # black: columns A-C (27); white: E-J (45); D touches both: W+18 - komi 0.5
    assert ask(e, "final_score") == "= W+18.5\n\n"


def test_the_dead_stones_of_a_position_are_estimated_once(monkeypatch):
    from tenuki.play import dead_stones as module

    calls = []
    real = module.dead_stones
    monkeypatch.setattr(module, "dead_stones", lambda board, **kw: calls.append(kw) or real(board, **kw))
    e = engine(size=9)
    for row in range(1, 10):
        ask(e, f"play b C{row}")
    ask(e, "play w B5")
    for line in ("final_score", "final_status_list dead", "final_status_list alive", "final_score"):
        assert ask(e, line).startswith("=")
    assert len(calls) == 1  # one estimate (0.76 s on 19x19 with the rollout policy) for the same position
    ask(e, "play w E5")
    assert ask(e, "final_status_list dead") == "= B5\n\n" and len(calls) == 2  # a new position: a new estimate
