"""``tenuki play`` (play/terminal*.py) and the playout dead-stone estimate (play/dead_stones.py).

The game is driven through a pseudo-terminal with pexpect, as a person would type it: moves, an
illegal move, undo, hint, help, save / load, passing to the end, Ctrl-D. Rule messages (occupied,
ko, superko, suicide) and the end-of-game count are checked on a game object fed by a script.
Dead stones are checked on ASCII positions.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tenuki.envs.go.board import Board
from tenuki.envs.go.layout import BLACK, WHITE
from tenuki.envs.go.sgf import load_sgf
from tenuki.play.dead_stones import chains, dead_stones, estimate_ownership
from tenuki.play.terminal import PlayOptions, PlayOptionsError, TerminalGame, parse_vertex
from tenuki.play.terminal_view import Screen

pexpect = pytest.importorskip("pexpect")

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMPT = "to play> "

# Black owns the left (two true eyes at A9 and C9), white the right (eyes at F9, H9); each side
# has a lone enemy stone in its area.
SPLIT_BOARD = """
. X . X O . O . O
X X X X O O O O O
. . . X O . . . .
. . . X O . . . .
. . . X O . . X .
. O . X O . . . .
. . . X O . . . .
. . . X O . . . .
. . . X O . . . .
"""

# White lives inside black's area with two eyes (C2, E2): nothing is dead.
LIVING_INVADER = """
. . . . . . .
. . . . . . .
. . . . . . .
X X X X X X X
X O O O O O X
X O . O . O X
X O O O O O X
"""


def _actions(board: Board, *vertices: str) -> list[int]:
    return sorted(board.action(v) for v in vertices)


# ---------------------------------------------------------------------------------- dead stones


def test_lone_stones_in_enemy_areas_are_dead_and_walls_live() -> None:
    board = Board.from_ascii(SPLIT_BOARD, komi=7)
    dead = dead_stones(board, seed=0)
    assert dead == _actions(board, "B4", "H5")
    own = estimate_ownership(board, seed=0)
    assert own.black.shape == own.white.shape == (9, 9)
    assert np.all(own.black + own.white <= 1.0 + 1e-9)
    assert own.ownership[0, 3] == 1.0 and own.ownership[0, 4] == -1.0  # walls with two eyes: always kept
    score = board.score("area", dead=dead)
    assert (score.black, score.white) == (36.0, 45.0)


def test_living_group_inside_enemy_area_stays() -> None:
    board = Board.from_ascii(LIVING_INVADER, komi=0)
    assert dead_stones(board, seed=1) == []


def test_estimate_after_two_passes_still_plays_out() -> None:
    """The game ends with two passes; the playouts must not stop there (pass count reset)."""
    board = Board.from_ascii(SPLIT_BOARD, komi=7)
    board.pass_move()
    board.pass_move()
    assert board.is_game_over
    assert dead_stones(board, seed=2) == _actions(board, "B4", "H5")


def test_estimate_is_seeded_and_leaves_the_board_alone() -> None:
    board = Board.from_ascii(SPLIT_BOARD, komi=7)
    before = board.state.copy()
    a = estimate_ownership(board, playouts=50, seed=5)
    b = estimate_ownership(board, playouts=50, seed=5)
    np.testing.assert_array_equal(a.black, b.black)
    np.testing.assert_array_equal(board.state, before)
    with pytest.raises(ValueError):
        estimate_ownership(board, playouts=0)


def test_chains() -> None:
    stones = Board.from_ascii("X X .\n. O O\nX . O").stones()
    assert chains(stones) == [[0, 1], [4, 5, 8], [6]]


# ---------------------------------------------------------------------------------- game object


def _scripted_game(lines: list[str], **options) -> tuple[TerminalGame, io.StringIO]:
    out = io.StringIO()
    script = iter(lines)

    def read_line(prompt: str) -> str:
        out.write(prompt)
        try:
            return next(script)
        except StopIteration:
            raise EOFError from None

    opts = PlayOptions(**{"size": 5, "player": "random", "seed": 0, "color_output": False, **options})
    return TerminalGame(opts, screen=Screen(False, out), read_line=read_line), out


KO_BOARD = """
. X O . X
X O . O .
. X O . .
. . . . .
. . . . .
"""


def test_illegal_moves_are_explained(tmp_path: Path) -> None:
    game, out = _scripted_game([], sgf_out=tmp_path / "g.sgf")
    game.board = Board.from_ascii(KO_BOARD, komi=7)
    game.human = BLACK
    game.handle("c4")  # captures B4: a ko
    game.human = WHITE
    game.handle("B4")
    assert "illegal move: B4 retakes the ko" in out.getvalue()
    game.board.pass_move()  # the ko is open again, but retaking now repeats the position
    game.board.set_to_play(WHITE)
    game.handle("b4")
    assert "illegal move: B4 would repeat an earlier whole-board position (positional superko)" in out.getvalue()
    game.handle("E5")  # black's stone
    game.human = BLACK
    game.board.set_stones(white=[game.board.action("D1"), game.board.action("E2")])
    game.board.set_to_play(BLACK)
    game.handle("e1")
    game.handle("E5")
    text = out.getvalue()
    assert "illegal move: E1 would be suicide" in text
    assert "illegal move: E5 is occupied" in text


def test_bad_input_and_options() -> None:
    with pytest.raises(ValueError, match="no column I"):
        parse_vertex("I3", 9)
    with pytest.raises(ValueError, match="not a vertex"):
        parse_vertex("Z3", 9)
    with pytest.raises(PlayOptionsError, match="fixed handicap"):
        TerminalGame(PlayOptions(size=5, handicap=3, player="random"))
    with pytest.raises(PlayOptionsError, match="unknown"):
        TerminalGame(PlayOptions(size=5, player="nobody"))


def test_count_removes_dead_stones_and_records_the_result(tmp_path: Path) -> None:
    game, out = _scripted_game([], size=9, sgf_out=tmp_path / "end.sgf")
    game.board = Board.from_ascii(SPLIT_BOARD, komi=7)
    game.board.pass_move()
    game.board.pass_move()
    assert game.run() == 0
    text = out.getvalue()
    assert "Dead stones removed (judged by 1000 playouts): black H5 (1); white B4 (1)." in text
    assert "black 36, white 45 + komi 7 = 52" in text
    assert "Result: W+16" in text
    record = load_sgf(tmp_path / "end.sgf")
    assert record.result == "W+16" and "B4" in record.extra["C"][0]


# ---------------------------------------------------------------------------------- through a pty


def _spawn(tmp_path: Path, *args: str, color: bool = False, preexec_fn=None) -> pexpect.spawn:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), COLUMNS="100", LINES="50")
    env.pop("NO_COLOR", None)
    env["TERM"] = "xterm-256color" if color else "dumb"
    argv = ["-m", "tenuki.commands.play", "--player", "random", "--seed", "7", *args]
    if not color:
        argv.append("--no-color")
    return pexpect.spawn(sys.executable, argv, cwd=str(tmp_path), env=env, encoding="utf-8", timeout=60,
                         dimensions=(50, 100), preexec_fn=preexec_fn)


def _play_some_move(child: pexpect.spawn, candidates: list[str]) -> str:
    """Send candidate vertices until one is legal; returns it."""
    for vertex in candidates:
        child.sendline(vertex)
        if child.expect([r"\? illegal move[^\r\n]*", r"plays [A-HJ-T]\d+|passes"]) == 1:
            child.expect(PROMPT)
            return vertex
        child.expect(PROMPT)
    raise AssertionError(f"no legal move among {candidates}")


def test_pty_moves_illegal_undo_hint_help_save(tmp_path: Path) -> None:
    child = _spawn(tmp_path, "--size", "5", "--sgf-out", "final.sgf")
    child.expect(PROMPT)
    assert "A B C D E" in child.before and "You are black (X)" in child.before
    first = _play_some_move(child, ["C3", "B2", "D4"])
    child.sendline(first.lower())  # own stone: occupied
    child.expect(r"\? illegal move: (\w+) is occupied")
    assert child.match.group(1) == first
    child.expect(PROMPT)
    child.sendline("banana")
    child.expect(r"\? 'banana' is not a move or a command")
    child.expect(PROMPT)
    second = _play_some_move(child, [v for v in ["B4", "D2", "B2", "D4", "C2"] if v != first])
    child.sendline("undo")
    child.expect(r"Took back black (\w+), white (\w+)\.")
    assert child.match.group(1) == second
    child.expect(PROMPT)
    assert "[3] black to play" in child.before + child.after
    child.sendline("help")
    child.expect("undo +take back the bot's reply")
    child.expect(PROMPT)
    child.sendline("hint")
    child.expect(r"Hint: ([A-HJ-T]\d+|pass)")
    child.expect(PROMPT)
    saved = tmp_path / "mid.sgf"
    child.sendline(f"save {saved}")
    child.expect("Saved 2 moves to")
    child.expect(PROMPT)
    record = load_sgf(saved)
    assert record.size == 5 and len(record.moves) == 2 and record.result is None
    assert record.moves[0] == (BLACK, Board(5).action(first))
    record.replay()
    child.sendline("load nowhere.sgf")
    child.expect(r"\? cannot read nowhere.sgf")
    child.expect(PROMPT)
    child.sendline(f"load {saved}")
    child.expect("Loaded .*2 moves; black to play")
    child.expect(PROMPT)
    child.sendline("quit")
    child.expect("Game saved to final.sgf")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert len(load_sgf(tmp_path / "final.sgf").moves) == 2


def test_pty_passing_to_the_end_counts_and_saves(tmp_path: Path) -> None:
    child = _spawn(tmp_path, "--size", "5", "--komi", "0.5", "--sgf-out", "end.sgf")
    result = None
    for _ in range(200):
        if child.expect([r"Result: (\S+) - ", PROMPT]) == 0:
            result = child.match.group(1)
            break
        child.sendline("pass")
    assert result is not None, "the game did not end"
    assert "Game over: both players passed." in child.before
    assert re.search(r"Count \(area: stones \+ surrounded points\): black \d+, white \d+ \+ komi 0.5", child.before)
    child.expect("Game saved to end.sgf")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    record = load_sgf(tmp_path / "end.sgf")
    assert record.result == result and record.komi == 0.5
    board = record.replay()
    assert board.is_game_over and record.moves[-1][1] == 25 and record.moves[-2][1] == 25


def test_pty_color_board_white_and_ctrl_d(tmp_path: Path) -> None:
    """Colour output on a capable terminal; the bot opens as black; EOF saves to games/."""
    child = _spawn(tmp_path, "--size", "7", "--color", "white", color=True)
    child.expect(PROMPT)
    screen = child.before
    assert "\x1b[" in screen and "●" in screen and "A B C D E F G" in screen
    assert re.search(r"Black \(tenuki random\) plays [A-HJ]\d", screen)
    assert re.search(r"\((?:\x1b\[[0-9;]*m)+●(?:\x1b\[[0-9;]*m)+\)", screen)  # the last move is framed
    child.sendeof()
    child.expect("Game saved to runs/games/tenuki-")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    files = list((tmp_path / "runs" / "games").glob("tenuki-*.sgf"))
    assert len(files) == 1
    record = load_sgf(files[0])
    assert record.size == 7 and record.moves[0][0] == BLACK and record.black_name == "tenuki random"


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["default", "sigint-ignored-by-parent"])
def test_pty_ctrl_c_at_the_prompt_saves(tmp_path: Path, sigint_ignored: bool) -> None:
    # a parent that ignores SIGINT (a shell's background job, some test runners) passes that on: Python then
    # installs no KeyboardInterrupt handler, and Ctrl-C would do nothing without the CLI's own handler
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
    child = _spawn(tmp_path, "--size", "5", "--sgf-out", "int.sgf", preexec_fn=ignore)
    child.expect(PROMPT)
    _play_some_move(child, ["C3", "B2"])
    child.sendintr()
    child.expect("Game saved to int.sgf")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and len(load_sgf(tmp_path / "int.sgf").moves) == 2


def test_pty_mcts_hint_shows_visits_and_winrate(tmp_path: Path) -> None:
    child = _spawn(tmp_path, "--size", "5", "--player", "mcts", "--visits", "200", "--sgf-out", "h.sgf")
    child.expect(PROMPT)
    child.sendline("hint")
    child.expect(r"move +visits +winrate +sequence")
    child.expect(PROMPT)
    rows = re.findall(r"^ +([A-HJ-T]\d+|pass) +(\d+) +([\d.]+)%", child.before, re.MULTILINE)
    assert rows and sum(int(v) for _, v, _ in rows) <= 200
    child.sendline("score")
    child.expect(r"Estimate from 1000 light random playouts: (even|[BW]\+[\d.]+)")
    child.expect(PROMPT)
    child.sendline("resign")
    child.expect(r"You resign\. .* wins: W\+R")
    child.expect(pexpect.EOF)
    child.close()
    assert load_sgf(tmp_path / "h.sgf").result == "W+R"


def test_bad_option_exits_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tenuki.commands.play", "--size", "5", "--handicap", "4",
                           "--player", "random", "--no-color"], check=False, cwd=tmp_path, capture_output=True,
                          text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), timeout=60, input="")
    assert proc.returncode == 2
    assert "tenuki play:" in proc.stderr and "fixed handicap" in proc.stderr


def test_19x19_out_of_the_box_plays_alphago_with_the_shipped_networks(tmp_path: Path) -> None:
    """No --player, no --weights: on 19x19 the bot is AlphaGo's search with the shipped SL policy and rollout
    policy, 100 simulations a move (about a second)."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), COLUMNS="100", LINES="50", TERM="dumb")
    child = pexpect.spawn(sys.executable, ["-m", "tenuki.commands.play", "--size", "19", "--no-color"], cwd=str(tmp_path),
                          env=env, encoding="utf-8", timeout=120, dimensions=(50, 100))
    child.expect(PROMPT)
    assert "tenuki alphago" in child.before and "100 visits a move" in child.before
    child.sendline("D4")
    child.expect(r"plays ([A-HJ-T]\d+)")
    child.expect(PROMPT)
    child.sendline("quit")
    child.expect(pexpect.EOF)


def test_komi_defaults_by_board_size_and_visits_win_over_seconds() -> None:
    """The rules of every command: komi 7.0 up to 9x9 and 7.5 above (0.5 with a handicap); a bot given
    both --visits and --seconds-per-move searches the visits (as `tenuki gtp`)."""
    game, _ = _scripted_game([], size=9)
    assert game.board.komi == 7.0
    game, _ = _scripted_game([], size=13)
    assert game.board.komi == 7.5
    game, _ = _scripted_game([], size=13, handicap=2)
    assert game.board.komi == 0.5
    game, _ = _scripted_game([], size=5, visits=10, seconds_per_move=2.0)
    assert game._seconds() is None and game._budget() == "10 visits a move"
    game, _ = _scripted_game([], size=5, seconds_per_move=2.0)
    assert game._seconds() == 2.0
