"""The dead-stone estimate with the learned rollout policy (play/dead_stones.py, 19x19): which playouts
``auto`` picks, lone stones in enemy areas on 19x19, and a capturing race from a real game where light
playouts name the wrong winner: the rollout policy gives GNU Go's count (checked against GNU Go itself
when it is installed), and bench.dead_stones on a tiny budget."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tenuki.envs.go.board import Board
from tenuki.envs.go.coords import to_gtp
from tenuki.envs.go.sgf import read_sgf
from tenuki.play.dead_stones import dead_stones, estimate_ownership, playout_policy
from tenuki.play.gtp_client import GTPClient

FIXTURES = Path(__file__).parent / "fixtures"
# Game 21 of docs/strength/alphago19/default-vs-gnugo10-40: tenuki (black) and GNU Go 10 passed in a
# crowded position; GNU Go counted B+39.5 (black's one-eyed edge group wins its race against the
# white wall), tenuki's light playouts W+17.5.
RACE = FIXTURES / "capturing-race-19x19.sgf"
RACE_GNUGO = "B+39.5"


def _race_board() -> Board:
    record = read_sgf(RACE.read_text(encoding="utf-8"))
    board = Board(19, komi=7.5)
    for _, action in record.moves:
        board.play(action)
    assert board.is_game_over
    return board


# Black's left side, white's right side; a lone stone of each colour inside the other's area.
SPLIT19 = "\n".join(
    " ".join("X" if c < 9 else "O" if c > 9 else ("X" if r % 2 else "O") for c in range(19)) for r in range(19)
)


def _split19() -> Board:
    rows = [list(line.split()) for line in SPLIT19.splitlines()]
    for r, row in enumerate(rows):
        for c in range(19):
            if c in (2, 3, 4, 14, 15, 16) and 2 <= r <= 16:
                row[c] = "."  # room for eyes and territory on both sides
    rows[9][3] = "O"  # a lone white stone in black's area
    rows[9][15] = "X"  # a lone black stone in white's area
    return Board.from_ascii("\n".join(" ".join(row) for row in rows), komi=7.5)


def test_auto_uses_the_shipped_rollout_policy_on_19x19_and_light_playouts_elsewhere():
    assert playout_policy(9) == "light"
    assert playout_policy(13) == "light"
    policy = playout_policy(19)
    assert hasattr(policy, "ownership_counts")
    assert playout_policy(19, "light") == "light" and playout_policy(19, policy) is policy
    with pytest.raises(ValueError, match="policy must be"):
        playout_policy(19, "heavy")


def test_rollout_estimate_finds_lone_stones_dead_and_leaves_the_board_alone():
    board = _split19()
    before = board.state.copy()
    dead = dead_stones(board, playouts=200, seed=0)
    assert dead == sorted([board.action("D10"), board.action("Q10")])
    np.testing.assert_array_equal(board.state, before)
    a = estimate_ownership(board, playouts=50, seed=3)
    b = estimate_ownership(board, playouts=50, seed=3)
    np.testing.assert_array_equal(a.black, b.black)
    assert np.all(a.black + a.white <= 1.0 + 1e-9)


def test_a_capturing_race_light_playouts_miscount_and_the_rollout_policy_counts_like_gnugo():
    board = _race_board()
    light = board.score("area", dead=dead_stones(board, policy="light")).result
    rollout = board.score("area", dead=dead_stones(board)).result
    assert light.startswith("W+")  # the failure this estimator replaces: the wrong winner
    assert rollout == RACE_GNUGO


@pytest.mark.gnugo
def test_gnugo_counts_the_race_as_the_rollout_estimate_does(gnugo_path):
    board = _race_board()
    with GTPClient([gnugo_path, "--mode", "gtp", "--chinese-rules"], timeout=120) as gnugo:
        gnugo.send("boardsize", 19)
        gnugo.send("clear_board")
        gnugo.send("komi", 7.5)
        for colour, action in board.moves:
            gnugo.send("play", "black" if colour == 1 else "white", to_gtp(action, 19))
        assert gnugo.send("final_score").strip() == RACE_GNUGO
    assert board.score("area", dead=dead_stones(board)).result == RACE_GNUGO


@pytest.mark.gnugo
def test_dead_stones_benchmark_smoke(gnugo_path):
    proc = subprocess.run([sys.executable, "-m", "bench.dead_stones", "--games", str(RACE), "--playouts", "50"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["benchmark"] == "dead_stones" and result["games"] == 1
    assert set(result["estimators"]) == {"light", "rollout"}
    # the race this estimator is for: light playouts name the other winner, the rollout policy GNU Go's
    assert result["estimators"]["light"]["same_winner"] == 0 and len(result["estimators"]["light"]["other_winner"]) == 1
    assert result["estimators"]["rollout"]["same_winner"] == 1 and result["estimators"]["rollout"]["other_winner"] == []


@pytest.mark.parametrize("argv, message", [(["--playouts", "0"], "--playouts must be >= 1"),
                                           (["--limit", "-1"], "--limit >= 0")])
def test_dead_stones_benchmark_rejects_bad_arguments(argv, message):
    proc = subprocess.run([sys.executable, "-m", "bench.dead_stones", *argv], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 2 and message in proc.stderr
