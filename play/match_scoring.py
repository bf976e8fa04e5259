"""How a finished game of ``tenuki match`` is counted, from the engines' ``final_score`` answers.

``adjudicate`` applies, in this order:

1. both engines answer ``final_score`` with the same result -> that result ("engines agree");
2. else an engine whose ``name`` is GNU Go answered -> GNU Go's result ("GNU Go final_score"; it
   removes dead stones, and is the most trusted scorer a match against it has);
3. else both answered and name the same winner -> that winner by the smaller margin;
4. else Tromp-Taylor area on the referee's board ("Tromp-Taylor area": stones + empty regions
   reaching one colour only, minus komi; no dead-stone removal, so it is right only for games
   played out to the end).

A margin of 0 is a draw (jigo; SGF ``RE[0]``).
"""

from __future__ import annotations

import math

from tenuki.envs.go.layout import BLACK, WHITE

__all__ = ["adjudicate", "format_result", "parse_result"]


def parse_result(text: str | None) -> float | None:
    """A GTP ``final_score`` answer as a margin for black (``B+3.5`` -> 3.5, ``W+2`` -> -2,
    ``0`` -> 0); None when it is not a result."""
    if text is None:
        return None
    words = text.strip().split()
    if not words:
        return None
    word = words[0].upper()
    if word in ("0", "DRAW", "JIGO", "B+0", "W+0"):
        return 0.0
    if len(word) < 3 or word[0] not in "BW" or word[1] != "+":
        return None
    try:
        margin = float(word[2:])
    except ValueError:
        return None
    if not math.isfinite(margin) or margin < 0:
        return None
    return margin if word[0] == "B" else -margin


def format_result(margin: float) -> str:
    """A margin for black as an SGF result: ``B+3.5``, ``W+0.5``, ``0``."""
    if margin == 0:
        return "0"
    return f"{'B' if margin > 0 else 'W'}+{abs(margin):g}"


def adjudicate(black_answer: str | None, white_answer: str | None, gnugo_colors: tuple[int, ...],
               tromp_taylor_margin: float) -> tuple[float, str]:
    """The margin for black of a counted game and how it was found (see the module docstring).

    ``black_answer`` / ``white_answer``: the engines' ``final_score`` answers (None: failed);
    ``gnugo_colors``: the colours played by GNU Go (its answer decides a disagreement)."""
    answers = {BLACK: parse_result(black_answer), WHITE: parse_result(white_answer)}
    black_margin, white_margin = answers[BLACK], answers[WHITE]
    if black_margin is not None and black_margin == white_margin:
        return black_margin, "engines agree"
    for color in gnugo_colors:
        if answers[color] is not None:
            return answers[color], "GNU Go final_score"
    if (black_margin is not None and white_margin is not None
            and black_margin * white_margin > 0):
        smaller = min(black_margin, white_margin, key=abs)
        return smaller, "engines agree on the winner (smaller margin)"
    return tromp_taylor_margin, "Tromp-Taylor area"
