"""The rules kernels (``tenuki.envs.go.Board``) against an independent slow reference
(``tests/envs/reference_rules.py``: pure Python flood fill, tuples of boards for superko).

Random games with fixed seeds on 5x5 .. 19x19 under every ko rule ``Board`` supports (simple,
positional, situational) with suicide forbidden and allowed. At every position the two must agree on
the legal moves of the side to move and of the colour about to move (every few moves of both colours):
``legal_moves`` / ``legal_mask`` equal the reference's set, ``legality`` gives the reference's reason
for every illegal move on an empty point (ko, suicide, superko) and for a sample of occupied points,
``is_legal`` agrees on a sample; after every move on the stones, captures, side to move, move list, ko
point and end of game; now and then on chain liberties and on the area and territory scores.

The games also try illegal moves (rejected with the same reason, board unchanged), undo, moves of the
colour not to move and changes of the side to move. Passes are frequent (a ko taken is often answered
by a pass, so retaking it repeats the board) and the small boards' games are long, so boards repeat and
superko has work to do; each configuration asserts that it met superko-illegal moves, simple kos,
captures and suicides, so it cannot pass vacuously.
"""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from tenuki.envs.go.board import Board, IllegalMoveError
from tests.envs.reference_rules import BLACK, WHITE, Outcome, ReferenceGo, other

# size -> moves per (ko rule, suicide) configuration: long games on small boards, where boards repeat
MOVES = {5: 2000, 7: 1000, 9: 600, 13: 300, 19: 250}
RULES = [(rule, suicide) for rule in ("simple", "positional", "situational") for suicide in (False, True)]


def _stones(ref: ReferenceGo) -> np.ndarray:
    return np.array(ref.board, dtype=np.int8).reshape(ref.size, ref.size)


def _check_position(
    board: Board, ref: ReferenceGo, stats: Counter, colours: set[int]
) -> dict[int, list[Outcome]]:
    """Everything about the current position agrees; returns the reference's outcome of every action
    for each of ``colours``."""
    n2 = ref.size * ref.size
    assert np.array_equal(board.stones(), _stones(ref))
    assert board.to_play == ref.to_play
    assert board.captures == ref.captures
    assert board.move_number == len(ref.moves)
    assert board.moves == ref.moves
    assert board.ko_point == ref.ko_point
    assert board.is_game_over == ref.is_game_over
    chains = ref.chains()
    found: dict[int, list[Outcome]] = {}
    for colour in sorted(colours):
        outcomes = found[colour] = [ref.outcome(a, colour, chains) for a in range(n2 + 1)]
        reasons = [o.reason for o in outcomes]
        stats["board repeats with the other side to move"] += sum(
            o.repeats_board and not o.repeats_situation for o in outcomes
        )
        expected = [a for a, reason in enumerate(reasons) if reason is None]
        assert board.legal_moves(colour).tolist() == expected, (
            colour,
            ref.ko_rule,
            ref.allow_suicide,
            str(board),
        )
        assert np.flatnonzero(board.legal_mask(colour)).tolist() == expected
        # The reason of every illegal move on an empty point, of a few others, and is_legal for a sample.
        for a, reason in enumerate(reasons):
            if reason is not None and (reason != "occupied" or a % 7 == len(ref.moves) % 7):
                assert board.legality(a, colour) == reason, (
                    a,
                    colour,
                    reason,
                    ref.ko_rule,
                    ref.allow_suicide,
                )
                stats[reason] += 1
            if a % 5 == len(ref.moves) % 5:
                assert board.is_legal(a, colour) == (reason is None)
        if colour == ref.to_play:
            assert board.legal_moves().tolist() == expected
    return found


def _check_details(board: Board, ref: ReferenceGo) -> None:
    for a, colour in enumerate(ref.board):
        assert board.liberties(a) == ref.liberties(a), a
    for rule in ("area", "territory"):
        score = board.score(rule)
        assert (score.black, score.white) == ref.score(rule), rule
        assert score.winner == ref.winner(rule), rule
    assert board.score("area").owner.reshape(-1).tolist() == ref.owner()


def _illegal_move_is_rejected(
    board: Board, ref: ReferenceGo, action: int, colour: int, stats: Counter
) -> None:
    reason = ref.legality(action, colour)
    before = (
        board.to_ascii(),
        board.to_play,
        board.move_number,
        board.hash,
        dict(board.captures),
        board.ko_point,
    )
    with pytest.raises(IllegalMoveError) as err:
        board.play(action, colour)
    assert err.value.reason == reason
    assert (
        board.to_ascii(),
        board.to_play,
        board.move_number,
        board.hash,
        dict(board.captures),
        board.ko_point,
    ) == before
    stats[f"rejected {reason}"] += 1


def play_random_games(size: int, ko_rule: str, allow_suicide: bool, moves: int, seed: int) -> Counter:
    """Random games (restarted when one runs long) of ``moves`` moves in all; returns what was seen."""
    rng = random.Random(seed)
    stats: Counter = Counter()
    played = 0
    while played < moves:
        komi = rng.choice([0.0, 0.5, 5.5, 7.0])
        board = Board(
            size, komi=komi, ko_rule=ko_rule, allow_suicide=allow_suicide, _capacity=rng.choice([4, None])
        )
        ref = ReferenceGo(size, komi=komi, ko_rule=ko_rule, allow_suicide=allow_suicide)
        pass_rate = rng.choice([0.02, 0.08, 0.2])
        game_length = rng.randint(size * size, 5 * size * size)
        for turn in range(game_length):
            roll = rng.random()
            colour = ref.to_play if roll > 0.1 else other(ref.to_play)  # now and then the other colour moves
            outcomes = _check_position(
                board, ref, stats, {ref.to_play, colour, other(colour) if turn % 4 else colour}
            )
            if turn % 25 == 0:
                _check_details(board, ref)
            if roll < 0.04 and ref.moves:  # take back one to four moves
                for _ in range(rng.randint(1, min(4, len(ref.moves)))):
                    assert board.undo() == ref.moves[-1]
                    ref.undo()
                    stats["undo"] += 1
                continue
            if roll < 0.06:  # a change of the side to move (SGF PL, GTP colour changes)
                board.set_to_play(other(ref.to_play))
                ref.set_to_play(other(ref.to_play))
                stats["side changed"] += 1
                continue
            mine = outcomes[colour]
            illegal = [a for a, o in enumerate(mine) if o.reason is not None]
            repeats = [a for a in illegal if mine[a].reason in ("superko", "ko")]
            if repeats and rng.random() < 0.5 or illegal and rng.random() < 0.1:
                _illegal_move_is_rejected(board, ref, rng.choice(repeats or illegal), colour, stats)
                continue
            stones = [a for a, o in enumerate(mine[:-1]) if o.reason is None]
            captures = [a for a in stones if mine[a].captured]
            if ref.ko is not None and rng.random() < 0.7:
                action = ref.pass_action  # a ko was just taken: pass, so retaking it may repeat the board
            elif ref.moves and ref.moves[-1][1] == ref.pass_action and ref.ko is None and rng.random() < 0.3:
                action = ref.pass_action  # answer a pass with a pass
            elif not stones or rng.random() < pass_rate:
                action = ref.pass_action
            else:
                action = rng.choice(captures if captures and rng.random() < 0.3 else stones)
            outcome = ref.play(action, colour)
            board.play(action, colour)
            played += 1
            stats["moves"] += 1
            stats["captures"] += outcome.captured > 0
            stats["multi-stone captures"] += outcome.captured > 1
            stats["suicides played"] += outcome.suicided > 0
            stats["multi-stone suicides"] += outcome.suicided > 1
            stats["kos"] += outcome.ko is not None
            if played >= moves:
                break
            if ref.is_game_over:
                stats["game over"] += 1
                if rng.random() < 0.3:
                    break  # else play on after the end, as GTP allows
        _check_position(board, ref, stats, {BLACK, WHITE})
        _check_details(board, ref)
        stats["games"] += 1
    return stats


@pytest.mark.parametrize(
    ("ko_rule", "allow_suicide"), RULES, ids=[f"{r}-{'suicide' if s else 'nosuicide'}" for r, s in RULES]
)
def test_kernels_equal_the_reference_on_random_games(ko_rule: str, allow_suicide: bool) -> None:
    total: Counter = Counter()
    for size, moves in MOVES.items():
        stats = play_random_games(size, ko_rule, allow_suicide, moves, seed=1000 * size + len(ko_rule))
        assert stats["moves"] >= moves and stats["captures"] > 0, (size, stats)
        total += stats
    # Not vacuous: the games met every rule this configuration has.
    for seen in (
        "captures",
        "multi-stone captures",
        "kos",
        "ko",
        "rejected ko",
        "occupied",
        "rejected occupied",
        "undo",
        "side changed",
        "game over",
    ):
        assert total[seen] > 0, (seen, total)
    if allow_suicide:
        assert total["suicides played"] > 0 and total["multi-stone suicides"] > 0, total
    else:
        assert total["suicide"] > 0 and total["rejected suicide"] > 0, total
    if ko_rule == "simple":
        assert total["superko"] == 0
    else:
        assert total["superko"] > 0 and total["rejected superko"] > 0, total
    if ko_rule == "situational":  # boards that repeat with the other side to move are legal here
        assert total["board repeats with the other side to move"] > 0, total


def test_reference_knows_the_textbook_cases() -> None:
    """The reference itself, on positions whose answers are known by hand."""
    n = 5

    def at(vertex: str) -> int:
        col = "ABCDEFGHJ".index(vertex[0])
        return (n - int(vertex[1:])) * n + col

    ref = ReferenceGo(n)
    for v in ("B4", "C4", "A3", "D3", "B2", "C2", "pass", "B3"):  # black B4 A3 B2 pass; white C4 D3 C2 B3
        ref.play(ref.pass_action if v == "pass" else at(v))
    ref.play(at("C3"))  # black captures B3: a ko
    assert ref.captures == {BLACK: 1, WHITE: 0} and ref.ko_point == at("B3")
    assert ref.legality(at("B3")) == "ko"
    ref.play(ref.pass_action)  # white passes ...
    ref.play(ref.pass_action)  # ... black passes: the ko ban is gone, the board would repeat
    assert ref.legality(at("B3")) == "superko"
    situational = ReferenceGo(n, ko_rule="situational")
    simple = ReferenceGo(n, ko_rule="simple")
    for r in (situational, simple):
        for v in ("B4", "C4", "A3", "D3", "B2", "C2", "pass", "B3", "C3", "pass", "pass"):
            r.play(r.pass_action if v == "pass" else at(v))
    assert situational.legality(at("B3")) == "superko" and simple.legality(at("B3")) is None
    lone = ReferenceGo(n, allow_suicide=True)
    lone.play(at("B5"))
    lone.play(ref.pass_action)
    lone.play(at("A4"))
    assert lone.legality(at("A5")) == "superko"  # one-stone suicide recreates the board
    assert ReferenceGo(n).legality(at("A5")) is None
