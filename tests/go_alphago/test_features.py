"""AlphaGo's 48 (+1) feature planes: ASCII positions for each group, the numba kernel against a
slow reference built on ``Board`` (play every move on a copy and look), and the ladder reader
against Fuego's ladder suite and GNU Go's ``ladder_attack``."""

from __future__ import annotations

import os
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tenuki.agents.go.features import (
    NUM_PLANES,
    P_CAPTURE,
    P_COLOUR,
    P_EMPTY,
    P_LADDER_CAPTURE,
    P_LADDER_ESCAPE,
    P_LIBERTIES,
    P_LIBS_AFTER,
    P_ONES,
    P_OPPONENT,
    P_PLAYER,
    P_SELF_ATARI,
    P_SENSIBLE,
    P_TURNS,
    P_ZEROS,
    PLANE_NAMES,
    alphago_planes,
    ladder_attacks,
)
from tenuki.envs.go.board import BLACK, WHITE, Board
from tenuki.envs.go.coords import from_gtp, to_gtp
from tenuki.envs.go.sgf import SGFError, load_sgf
from tenuki.envs.go.sgf_archives import iter_games
from tests.conftest import find_gnugo

GNUGO = find_gnugo() or "/usr/games/gnugo"  # gnugo on the PATH first (tests/conftest.py)


def at(board: Board, vertex: str) -> tuple[int, int]:
    a = from_gtp(vertex, board.size)
    return divmod(a, board.size)


def marked(planes: np.ndarray, plane: int, board: Board) -> set[str]:
    rows, cols = np.nonzero(planes[plane])
    return {to_gtp(int(r) * board.size + int(c), board.size) for r, c in zip(rows, cols)}


# ---------------------------------------------------------------------------- slow reference


def chain_of(stones: np.ndarray, r: int, c: int) -> set[tuple[int, int]]:
    n = stones.shape[0]
    color = stones[r, c]
    todo, seen = [(r, c)], {(r, c)}
    while todo:
        y, x = todo.pop()
        for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            q = (y + dy, x + dx)
            if 0 <= q[0] < n and 0 <= q[1] < n and q not in seen and stones[q] == color:
                seen.add(q)
                todo.append(q)
    return seen


def is_own_eye(stones: np.ndarray, r: int, c: int, me: int) -> bool:
    n = stones.shape[0]
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        y, x = r + dy, c + dx
        if 0 <= y < n and 0 <= x < n and stones[y, x] != me:
            return False
    diagonals = [(r + dy, c + dx) for dy in (-1, 1) for dx in (-1, 1)]
    inside = [(y, x) for y, x in diagonals if 0 <= y < n and 0 <= x < n]
    bad = sum(stones[y, x] == 3 - me for y, x in inside)
    return bad == 0 if len(inside) < 4 else bad <= 1


def reference_planes(board: Board) -> np.ndarray:
    """Planes 0..43 and 46..48 by playing every move on a copy of the board (no ladders)."""
    n = board.size
    me = board.to_play
    stones = board.stones()
    out = np.zeros((49, n, n), np.uint8)
    out[P_ONES] = 1
    ages: dict[tuple[int, int], int] = {}
    for i, (color, action) in enumerate(reversed(board.moves[-7:])):
        if action < n * n:
            ages.setdefault(divmod(action, n), i + 1)
    for r in range(n):
        for c in range(n):
            a = r * n + c
            if stones[r, c] != 0:
                out[P_PLAYER if stones[r, c] == me else P_OPPONENT, r, c] = 1
                age = ages.get((r, c), 0)
                out[P_TURNS + (age - 1 if age else 7), r, c] = 1
                out[P_LIBERTIES + min(board.liberties(a), 8) - 1, r, c] = 1
                continue
            out[P_EMPTY, r, c] = 1
            if not board.is_legal(a, me):
                continue
            after = board.copy()
            before = after.captures[me]
            after.play(a, me)
            out[P_CAPTURE + min(after.captures[me] - before, 7), r, c] = 1
            libs = after.liberties(a)
            out[P_LIBS_AFTER + min(libs, 8) - 1, r, c] = 1
            if libs == 1:
                size = len(chain_of(after.stones(), r, c))
                out[P_SELF_ATARI + min(size, 8) - 1, r, c] = 1
            if not is_own_eye(stones, r, c, me):
                out[P_SENSIBLE, r, c] = 1
    if me == BLACK:
        out[P_COLOUR] = 1
    return out


def game_positions(path: Path, games: int, every: int, stride: int):
    for record in iter_games(path, errors="skip", every=every):
        if games == 0:
            return
        games -= 1
        try:
            for i, (board, _, _) in enumerate(record.positions(ko_rule="simple")):
                if i % stride == stride - 1:
                    yield board
        except SGFError:  # a game with an illegal move: its earlier positions were used
            pass


# ---------------------------------------------------------------------------- ASCII positions

CORNER = """
. . . . . . . . .
. . . . . . . . .
. . X O . . . . .
. . X . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
"""


def test_plane_names_and_constant_planes():
    assert len(PLANE_NAMES) == 49 and NUM_PLANES == 48
    board = Board.from_ascii(CORNER, to_play="B", komi=7.0)
    planes = alphago_planes(board)
    assert planes.shape == (48, 9, 9) and planes.dtype == np.uint8
    assert planes[P_ONES].all() and not planes[P_ZEROS].any()
    assert (planes[P_PLAYER] + planes[P_OPPONENT] + planes[P_EMPTY] == 1).all()
    value = alphago_planes(board, value=True)
    assert value.shape == (49, 9, 9) and value[P_COLOUR].all()
    board.set_to_play("W")
    assert not alphago_planes(board, value=True)[P_COLOUR].any()


def test_colour_planes_follow_the_side_to_move():
    board = Board.from_ascii(CORNER, to_play="W", komi=7.0)
    planes = alphago_planes(board)
    assert marked(planes, P_PLAYER, board) == {"D7"}
    assert marked(planes, P_OPPONENT, board) == {"C7", "C6"}


def test_liberties_and_liberties_after_move():
    board = Board.from_ascii(CORNER, to_play="B", komi=7.0)
    planes = alphago_planes(board)
    assert marked(planes, P_LIBERTIES + 5 - 1, board) == {"C7", "C6"}  # 5 liberties
    assert marked(planes, P_LIBERTIES + 3 - 1, board) == {"D7"}
    r, c = at(board, "C8")  # joins the black chain: 4 of its liberties remain, 3 new ones
    assert planes[P_LIBS_AFTER + 7 - 1, r, c] == 1
    r, c = at(board, "D8")  # next to the white stone: 3 liberties
    assert planes[P_LIBS_AFTER + 3 - 1, r, c] == 1
    r, c = at(board, "A9")  # corner
    assert planes[P_LIBS_AFTER + 2 - 1, r, c] == 1


def test_turns_since_counts_moves_back_and_setup_stones_are_old():
    board = Board.from_ascii(CORNER, to_play="B", komi=7.0)
    sequence = ["G3", "G4", "pass", "H4", "B2", "B1", "J1", "J2", "A1"]
    for move in sequence:
        board.play(move)
    planes = alphago_planes(board)
    # Newest first: A1 1 move ago, J2 2, J1 3, B1 4, B2 5, H4 6, (pass 7), G4 8+, G3 8+.
    for vertex, age in {"A1": 1, "J2": 2, "J1": 3, "B1": 4, "B2": 5, "H4": 6}.items():
        r, c = at(board, vertex)
        assert planes[P_TURNS + age - 1, r, c] == 1, vertex
    assert marked(planes, P_TURNS + 7, board) == {"G4", "G3", "C7", "C6", "D7"}
    assert (planes[P_TURNS : P_TURNS + 8].sum(axis=0) == planes[P_PLAYER] + planes[P_OPPONENT]).all()


def test_capture_size_and_self_atari_size():
    board = Board.from_ascii("""
        . O X . . . . . .
        O X X . . . . . .
        X X . . . . . . .
        . . . . . . . . .
        . . . . . . . . O
        . . . . . . O O .
        . . . . . . O X X
        . . . . . . O X .
        . . . . . . . O .
    """, to_play="W", komi=7.0)
    assert board.liberties("B9") == 1 and board.liberties("A8") == 1 and board.liberties("H3") == 2
    planes = alphago_planes(board)

    def point(vertex, *groups):
        r, c = at(board, vertex)
        return [int(np.argmax(planes[g : g + 8, r, c])) if planes[g : g + 8, r, c].any() else None
                for g in groups]

    # White A9 joins B9 and A8 into a chain with no liberty and captures nothing: suicide,
    # illegal, so no move plane is set there.
    assert point("A9", P_CAPTURE, P_SELF_ATARI, P_LIBS_AFTER) == [None, None, None]
    assert planes[P_SENSIBLE][at(board, "A9")] == 0
    # White J2 captures nothing and keeps one liberty (J1): a self-atari of one stone.
    assert point("J2", P_CAPTURE, P_SELF_ATARI, P_LIBS_AFTER) == [0, 0, 0]
    # White J1 joins H1: liberties G1 and J2.
    assert point("J1", P_CAPTURE, P_SELF_ATARI, P_LIBS_AFTER) == [0, None, 1]
    board.set_to_play("B")
    planes = alphago_planes(board)
    # Black A9 captures B9 and A8 (2 stones) and gets their two points as liberties.
    assert point("A9", P_CAPTURE, P_SELF_ATARI, P_LIBS_AFTER) == [2, None, 1]
    # Black J4 leaves its 4-stone chain H3 J3 H2 J4 with the single liberty J2.
    assert point("J4", P_CAPTURE, P_SELF_ATARI, P_LIBS_AFTER) == [0, 3, 0]
    # Black J2: the chain keeps J4 and J1.
    assert point("J2", P_CAPTURE, P_SELF_ATARI, P_LIBS_AFTER) == [0, None, 1]


def test_ko_point_is_not_a_legal_move_and_eyes_are_not_sensible():
    board = Board.from_ascii("""
        . X O . . . . . .
        X O . O . . . . .
        . X O . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
    """, to_play="B", komi=7.0)
    board.play("C8")  # black takes the white stone at B8: ko
    assert board.ko_point is not None
    planes = alphago_planes(board)  # white to move: B8 is the ko point
    r, c = at(board, "B8")
    assert planes[P_EMPTY, r, c] == 1
    assert planes[P_CAPTURE : P_CAPTURE + 8, r, c].sum() == 0 and planes[P_SENSIBLE, r, c] == 0
    board.play("J1")
    planes = alphago_planes(board)  # black to move
    r, c = at(board, "A9")  # a real black eye in the corner: legal, not sensible
    assert planes[P_SENSIBLE, r, c] == 0 and planes[P_LIBS_AFTER : P_LIBS_AFTER + 8, r, c].sum() == 1
    r, c = at(board, "B8")  # surrounded by black, but two white diagonals: a false eye, sensible
    assert planes[P_SENSIBLE, r, c] == 1
    r, c = at(board, "A7")  # A6 is empty: not an eye
    assert planes[P_SENSIBLE, r, c] == 1


# ---------------------------------------------------------------------------- ladders

LADDER = """
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . X . . . . . . . . .
. . . . . . . . X O . . . . . . . . .
. . . . . . . . . . X . . . . . . . .
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . . . . . . . . . . .
. . . . . . . . . . . . . . . . . . .
"""


def test_ladder_capture_on_an_empty_board_and_a_breaker_stops_it():
    board = Board.from_ascii(LADDER, to_play="B", komi=7.5)
    # The white stone K10 has two liberties, L10 and K9. Black K9 drives it up-right to the edge,
    # black L10 drives it down-left: both ladders work on an empty board.
    assert marked(alphago_planes(board), P_LADDER_CAPTURE, board) == {"K9", "L10"}
    # A white stone on the up-right diagonal breaks that ladder only.
    broken = Board.from_ascii(LADDER, to_play="B", komi=7.5)
    broken.set_stones(white=[from_gtp("P15", 19)])
    assert marked(alphago_planes(broken), P_LADDER_CAPTURE, broken) == {"L10"}


def test_ladder_escape_is_marked_only_when_the_ladder_fails():
    board = Board.from_ascii(LADDER, to_play="B", komi=7.5)
    board.play("K9")  # atari: white to move, the ladder works -> no escape
    assert marked(alphago_planes(board), P_LADDER_ESCAPE, board) == set()
    board.undo()
    board.set_stones(white=[from_gtp("P15", 19)])
    board.set_to_play("B")
    board.play("K9")
    assert marked(alphago_planes(board), P_LADDER_ESCAPE, board) == {"L10"}


def _fuego_cases(root: Path):
    """(sgf path, moves to replay or None, extra plays, vertex, expected) from Fuego's ladder.tst."""
    cases, current, plays = [], None, []
    for line in (root / "ladder.tst").read_text().splitlines():
        line = line.strip()
        if line.startswith("loadsgf"):
            parts = line.split()
            current = (root / parts[1], int(parts[2]) if len(parts) > 2 else None)
            plays = []
        elif line.startswith("play"):
            _, color, vertex = line.split()
            plays.append((color, vertex))
        elif re.match(r"^\d+ go_ladder ", line):
            vertex = line.split()[2]
            cases.append([*current, list(plays), vertex, None])
        elif line.startswith("#? [") and cases and cases[-1][4] is None:
            cases[-1][4] = line[4:-1]
    return cases


@pytest.fixture(scope="module")
def fuego_ladders(data_dir: Path, tmp_path_factory) -> Path:
    archive = data_dir / "go" / "regression" / "fuego-regression.tar.gz"
    if not archive.exists():
        pytest.skip(f"{archive} is missing")
    out = tmp_path_factory.mktemp("fuego")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if "ladder" in m.name and m.isfile()]
        tar.extractall(out, members=members, filter="data")
    return out / "regression"


@pytest.mark.data
def test_fuego_ladder_suite(fuego_ladders: Path):
    cases = _fuego_cases(fuego_ladders)
    assert len(cases) >= 10
    checked = 0
    for sgf, move_number, plays, vertex, expected in cases:
        record = load_sgf(sgf, ko_rule="simple")
        if move_number is not None:
            record.moves = record.moves[: move_number - 1]
        board = record.replay(ko_rule="simple")
        for color, v in plays:
            board.play(v, color)
        a = from_gtp(vertex, board.size)
        prey = board.color_at(a)
        libs = board.liberties(a)
        chain = {r * board.size + c for r, c in chain_of(board.stones(), *divmod(a, board.size))}
        if libs == 2:  # attacker first: a ladder capture unless the chain escapes anyway
            board.set_to_play(3 - prey)
            planes = alphago_planes(board)
            liberties = {q for q in range(board.size ** 2) if board.stones().flat[q] == 0
                         and any(abs(q // board.size - s // board.size) + abs(q % board.size - s % board.size) == 1
                                 for s in chain)}
            hits = {q for q in liberties if planes[P_LADDER_CAPTURE].flat[q]}
            assert bool(hits) == (expected != "escaped"), (sgf.name, vertex, expected)
        elif libs == 1:  # defender first: an escape unless captured anyway
            board.set_to_play(prey)
            escapes = alphago_planes(board)[P_LADDER_ESCAPE].any()
            assert bool(escapes) == (expected != "captured"), (sgf.name, vertex, expected)
        else:
            continue
        checked += 1
    assert checked >= 8


# ---------------------------------------------------------------------------- fast == slow, GNU Go


@pytest.mark.data
def test_kernel_equals_slow_reference_on_real_games(data_dir: Path):
    kgs = sorted((data_dir / "go" / "kgs").glob("KGS-*.tar.gz"))
    if not kgs:
        pytest.skip("no KGS archive")
    positions = 0
    for board in game_positions(kgs[0], games=4, every=97, stride=11):
        fast = alphago_planes(board, value=True)
        slow = reference_planes(board)
        for plane in [*range(44), 46, 47, 48]:
            if not np.array_equal(fast[plane], slow[plane]):
                diff = np.argwhere(fast[plane] != slow[plane])[:5].tolist()
                pytest.fail(f"{PLANE_NAMES[plane]} differs at move {board.move_number}: {diff}\n{board.to_ascii()}")
        positions += 1
    assert positions >= 40


@pytest.mark.gnugo
@pytest.mark.data
@pytest.mark.skipif(not os.access(GNUGO, os.X_OK), reason="GNU Go is not installed")
def test_ladder_capture_agrees_with_gnugo_ladder_attack(data_dir: Path):
    from tenuki.play.gtp_client import GTPClient

    tom = data_dir / "go" / "tom9d.tar.gz"
    client = GTPClient([GNUGO, "--mode", "gtp", "--chinese-rules"], timeout=30.0)
    agree = total = ladders = 0
    try:
        for board in game_positions(tom, games=6, every=499, stride=9):
            n = board.size
            me = board.to_play
            planes = alphago_planes(board)
            client.send("boardsize", n)
            client.send("clear_board")
            stones = board.stones()
            for color, name in ((BLACK, "black"), (WHITE, "white")):
                vertices = [to_gtp(int(a), n) for a in np.flatnonzero(stones.ravel() == color)]
                for v in vertices:
                    client.send("play", name, v)
            seen: set[int] = set()
            for a in np.flatnonzero(stones.ravel() == 3 - me):
                if int(a) in seen:
                    continue
                chain = chain_of(stones, *divmod(int(a), n))
                seen |= {r * n + c for r, c in chain}
                if board.liberties(int(a)) != 2:
                    continue
                answer = client.send("ladder_attack", to_gtp(int(a), n)).split()
                gnugo_says = answer[0] != "0"
                attacks = ladder_attacks(board, int(a))
                assert all(planes[P_LADDER_CAPTURE].flat[q] for q in attacks)
                ours = bool(attacks)
                total += 1
                ladders += gnugo_says
                agree += gnugo_says == ours
    finally:
        client.close()
    print(f"ladder_attack: {agree}/{total} agree, {ladders} ladders by GNU Go")
    assert total >= 100 and ladders >= 3
    # GNU Go's reader is a different program: it ignores some escapes by a capture that takes a ko
    # (simple ko then forbids the retake, and our reader lets the prey escape). Near-complete
    # agreement is required.
    assert agree / total >= 0.99, f"{agree}/{total} agree ({ladders} ladders by GNU Go)"
