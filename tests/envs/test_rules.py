"""Go rules as ASCII positions (rows from the top: X black, O white, . empty)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tenuki.envs.go.board import Board, BoardSetupError, GoError, IllegalMoveError, fixed_handicap_actions
from tenuki.envs.go.coords import CoordinateError, from_gtp, to_gtp

B, W = 1, 2
KO_SHAPE = """
    .XO..
    XO.O.
    .XO..
    .....
    .....
    """


def ascii_of(board: Board) -> str:
    return board.to_ascii()


def test_single_stone_capture_and_counts():
    board = Board.from_ascii(
        """
        .....
        ..X..
        .XO..
        ..X..
        .....
        """
    )
    board.play("D3")
    assert board.color_at("C3") == 0
    assert board.captures == {B: 1, W: 0}
    assert board.to_play == W


def test_multi_stone_capture_on_the_edge():
    board = Board.from_ascii(
        """
        OO...
        XX...
        .....
        .....
        .....
        """
    )
    board.play("C5")  # the white chain A5-B5 loses its last liberty
    assert ascii_of(board).splitlines()[0] == "..X.."
    assert board.captures[B] == 2


def test_suicide_forbidden_by_default_and_board_unchanged():
    board = Board.from_ascii(
        """
        .X...
        X....
        .....
        .....
        .....
        """,
        to_play=W,
    )
    before = (ascii_of(board), board.hash, board.to_play, board.move_number)
    with pytest.raises(IllegalMoveError) as err:
        board.play("A5")
    assert err.value.reason == "suicide"
    assert "suicide" in str(err.value)
    assert (ascii_of(board), board.hash, board.to_play, board.move_number) == before


def test_setup_rejects_chain_without_liberty_and_keeps_board():
    board = Board(5)
    board.play("C3")
    with pytest.raises(BoardSetupError):
        board.set_stones(black=["B5", "A4"], white=["A5"])
    assert board.color_at("C3") == B and board.color_at("A5") == 0


def test_suicide_of_a_chain_when_allowed():
    text = """
        .OX..
        OOX..
        XX...
        .....
        .....
        """
    assert Board.from_ascii(text, to_play=W).legality("A5") == "suicide"
    board = Board.from_ascii(text, to_play=W, allow_suicide=True)
    board.play("A5")  # white fills its last liberty: its four stones die
    assert ascii_of(board).splitlines()[:3] == ["..X..", "..X..", "XX..."]
    assert board.captures[B] == 4


def test_simple_ko_and_retake_after_a_threat():
    board = Board.from_ascii(KO_SHAPE)
    board.play("C4")  # black captures B4: a ko
    assert board.ko_point == from_gtp("B4", 5)
    assert board.legality("B4", W) == "ko"
    board.play("E1")  # white plays elsewhere (a threat)
    board.play("E2")  # black answers
    board.play("B4")  # white may retake now
    assert board.color_at("C4") == 0


def test_snapback():
    board = Board.from_ascii(
        """
        .XXXX
        XOOOX
        XO..X
        XOOOX
        .XXXX
        """
    )
    board.play("C3")  # black throws in; white's chain keeps one liberty (D3)
    board.play("D3")  # white captures the throw-in ...
    assert board.captures[W] == 1 and board.color_at("C3") == 0
    board.play("C3")  # ... and black takes back the whole chain: not a ko
    assert board.captures[B] == 8
    assert board.ko_point is None
    assert ascii_of(board).splitlines()[1:4] == ["X...X", "X.X.X", "X...X"]


def test_area_score_leaves_points_touching_both_colours_neutral():
    board = Board.from_ascii(
        """
        XX.OO
        XX.OO
        XX.OO
        XX.OO
        XX.OO
        """,
        komi=0,
    )
    score = board.score("area")
    assert (score.black, score.white) == (10, 10)
    assert (score.owner[:, 2] == 0).all()
    assert score.result == "0" and score.winner == 0


def test_area_score_counts_eyes():
    board = Board.from_ascii(
        """
        .X.X.
        XXXXX
        .....
        OOOOO
        .O.O.
        """,
        komi=0.5,
    )
    score = board.score("area")
    assert score.black == 10 and score.white == 10
    assert score.result == "W+0.5"


@pytest.mark.parametrize(
    "rule, expected", [("simple", None), ("positional", "superko"), ("situational", "superko")]
)
def test_retaking_a_ko_after_passes(rule, expected):
    # Black takes the ko, both pass (which clears the simple-ko point), white retakes: that
    # recreates the start position with black to move, as at move 0.
    board = Board.from_ascii(KO_SHAPE, ko_rule=rule)
    board.play("C4")
    board.pass_move()
    board.pass_move()
    assert board.legality("B4", W) == expected


def test_superko_remembers_the_whole_history_not_a_window():
    board = Board.from_ascii(KO_SHAPE, ko_rule="positional")
    board.play("C4")
    for _ in range(60):
        board.pass_move()
    assert board.legality("B4", W) == "superko"
    with pytest.raises(IllegalMoveError):
        board.play("B4", W)
    assert board.color_at("C4") == B


def test_retaking_later_is_legal_when_the_position_is_new():
    board = Board.from_ascii(KO_SHAPE, ko_rule="positional")
    board.play("C4")
    for m in ["E1", "E2", "E3", "E4"]:
        board.play(m)
    assert board.legality("B4") is None


def test_undo_restores_everything_after_captures_and_merges():
    rng = random.Random(3)
    for size in (5, 7, 9, 13, 19):
        board = Board(size, _capacity=8)  # tiny capacity: forces the arrays to grow
        snaps = [(board.hash, ascii_of(board), board.to_play, dict(board.captures), board.ko_point)]
        for _ in range(3 * size * size):
            board.play(int(rng.choice(board.legal_moves())))
            snaps.append((board.hash, ascii_of(board), board.to_play, dict(board.captures), board.ko_point))
            if board.is_game_over:
                break
        played = board.moves
        while board.move_number:
            color, action = board.undo()
            assert (color, action) == played[board.move_number]
            assert snaps[board.move_number] == (
                board.hash,
                ascii_of(board),
                board.to_play,
                dict(board.captures),
                board.ko_point,
            )
        with pytest.raises(GoError):
            board.undo()


def test_incremental_hash_equals_hash_from_scratch_and_copy_is_independent():
    from tenuki.envs.go import kernels as K

    rng = random.Random(5)
    board = Board(9)
    for _ in range(150):
        board.play(int(rng.choice(board.legal_moves())))
        assert board.hash == int(K.position_hash(board.state))
    other = board.copy()
    other.play(other.legal_moves()[0])
    assert other.move_number == board.move_number + 1
    assert board.hash == int(K.position_hash(board.state))


# Legality against an independent slow reference (pure Python flood fill, superko over board tuples):
# tests/envs/test_rules_reference.py, which replaced a test here that compared the kernel with itself.


@pytest.mark.parametrize("size", [2, 3, 5, 7, 9, 13, 19])
def test_all_sizes_play_random_games_to_the_end(size):
    rng = random.Random(size)
    board = Board(size, komi=0.5)
    while not board.is_game_over and board.move_number < 4 * size * size:
        board.play(int(rng.choice(board.legal_moves())))
    score = board.score()
    assert score.black + score.white <= size * size
    assert score.result.startswith(("B+", "W+"))


def test_coordinates_and_bad_input_errors():
    assert to_gtp(0, 19) == "A19" and to_gtp(360, 19) == "T1" and to_gtp(361, 19) == "pass"
    assert from_gtp("j10", 19) == from_gtp("J10", 19)
    for bad in ("I5", "Z1", "A0", "A20", "", "5A"):
        with pytest.raises(CoordinateError):
            from_gtp(bad, 19)
    board = Board(9)
    with pytest.raises(CoordinateError):
        board.play(82)
    with pytest.raises(CoordinateError):
        board.play(-1)
    with pytest.raises(GoError):
        board.play("D4", color="green")
    with pytest.raises(BoardSetupError):
        Board(20)
    with pytest.raises(BoardSetupError):
        Board(1)
    with pytest.raises(GoError):
        Board(9, ko_rule="japanese")
    board.play("D4")
    with pytest.raises(IllegalMoveError) as err:
        board.play("D4")
    assert err.value.reason == "occupied"
    assert board.move_number == 1


def test_fixed_handicap_positions_and_limits():
    assert [to_gtp(a, 19) for a in fixed_handicap_actions(19, 9)] == [
        "D4",
        "Q16",
        "D16",
        "Q4",
        "D10",
        "Q10",
        "K4",
        "K16",
        "K10",
    ]
    assert sorted(to_gtp(a, 9) for a in fixed_handicap_actions(9, 5)) == sorted(
        ["C3", "G7", "C7", "G3", "E5"]
    )
    with pytest.raises(BoardSetupError):
        fixed_handicap_actions(19, 10)
    with pytest.raises(BoardSetupError):
        fixed_handicap_actions(8, 5)
    board = Board(19)
    board.place_fixed_handicap(4)
    assert board.to_play == W and int((board.stones() == B).sum()) == 4


def test_territory_scoring_with_dead_stones():
    board = Board.from_ascii(
        """
        ..X.O
        ..XO.
        .OXO.
        ..XO.
        ..XO.
        """,
        komi=0,
    )
    # The white stone at B3 is dead inside black's area; D5 touches both colours (dame).
    area = board.score("area", dead=["B3"])
    assert (area.black, area.white) == (15, 9)
    assert area.result == "B+6"
    territory = board.score("territory", dead=["B3"])
    assert (territory.black, territory.white) == (10 + 1, 4)
    assert territory.result == "B+7"


def _hash_set(board: Board) -> dict[int, int]:
    """The superko hash set as {key: multiplicity} (internal state, for consistency checks)."""
    from tenuki.envs.go.layout import H_OFF_TCOUNT, H_OFF_TKEYS, H_TSIZE

    st = board.state
    keys = st[st[H_OFF_TKEYS] : st[H_OFF_TKEYS] + st[H_TSIZE]]
    counts = st[st[H_OFF_TCOUNT] : st[H_OFF_TCOUNT] + st[H_TSIZE]]
    return {int(k): int(c) for k, c in zip(keys, counts) if c > 0}


@pytest.mark.parametrize("rule", ["positional", "situational"])
def test_grown_history_equals_history_built_move_by_move(rule):
    # Non-alternating colours (as SGF and GTP allow) and a mid-game change of the side to move.
    moves = [("E5", B), ("D4", B), ("C3", W), ("F6", B), ("G7", W), ("pass", W), ("A1", B)]
    small, big = Board(9, ko_rule=rule, _capacity=3), Board(9, ko_rule=rule)
    for i, (vertex, color) in enumerate(moves):
        for board in (small, big):
            board.play(vertex, color)
            if i == 3:
                board.set_to_play(B)
        assert _hash_set(small) == _hash_set(big)
    while big.move_number:
        small.undo()
        big.undo()
        assert _hash_set(small) == _hash_set(big)
    assert sum(_hash_set(big).values()) == 1


def test_one_stone_suicide_repeats_the_position_so_superko_forbids_it():
    board = Board(5, allow_suicide=True)
    for vertex in ("B5", "pass", "A4"):
        board.play(vertex)
    assert board.legality("A5") == "superko"
    simple = Board(5, allow_suicide=True, ko_rule="simple")
    for vertex in ("B5", "pass", "A4"):
        simple.play(vertex)
    simple.play("A5")  # legal under simple ko: the stone dies at once, white to move
    assert simple.color_at("A5") == 0 and simple.captures[B] == 1 and simple.to_play == B


def test_numpy_integer_moves_and_huge_numbers():
    board = Board(9)
    board.play(np.int32(5))
    board.play(np.uint8(7))
    board.play(np.int64(9))
    assert [a for _, a in board.moves] == [5, 7, 9]
    for bad in (2**70, -(2**70), 2.0, "2"):
        with pytest.raises(GoError):
            board.play(bad)
    assert board.move_number == 3


def test_game_over_after_two_passes_through_undo_copy_and_play_on():
    board = Board(5)
    board.play("C3")
    board.pass_move()
    assert not board.is_game_over
    board.pass_move()
    assert board.is_game_over and board.copy().is_game_over
    board.undo()
    assert not board.is_game_over
    board.pass_move()
    board.pass_move()  # a third pass: still over
    assert board.is_game_over
    board.undo()
    assert board.is_game_over  # back to two passes in a row
    board.play("D4")  # playing on after the end is allowed (GTP does it)
    assert not board.is_game_over
