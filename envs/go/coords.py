"""Coordinate systems of a Go board, and conversions between them.

=================  =========================  =========================================
name               example (19x19)            meaning
=================  =========================  =========================================
action             0 .. N*N-1, N*N = pass     row-major index, row 0 = top line, col 0 = A
(row, col)         (0, 0) is the top-left     what numpy arrays of the board use
GTP vertex         "A19", "T1", "pass"        letter (A..Z without I) + line from the bottom
SGF point          "aa" = top-left            column letter then row letter, from the top;
                                              "" or "tt" (N <= 19) = pass
padded point       (row+1)*(N+1) + col + 1    the kernels' index (layout.py); 0 = pass
=================  =========================  =========================================
"""

from __future__ import annotations

GTP_LETTERS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # no I
MAX_SIZE = 25


from tenuki.envs.go.errors import CoordinateError

__all__ = ["CoordinateError", "from_gtp", "from_point", "from_sgf", "to_gtp", "to_point", "to_sgf"]


def pass_action(size: int) -> int:
    return size * size


def to_gtp(action: int, size: int) -> str:
    if action == size * size:
        return "pass"
    if not 0 <= action < size * size:
        raise CoordinateError(f"action {action} is outside 0..{size * size} for a {size}x{size} board")
    row, col = divmod(action, size)
    return f"{GTP_LETTERS[col]}{size - row}"


def from_gtp(vertex: str, size: int) -> int:
    text = vertex.strip().upper()
    if text == "PASS":
        return size * size
    if len(text) < 2 or text[0] not in GTP_LETTERS[:size] or not text[1:].isdigit():
        raise CoordinateError(
            f"{vertex!r} is not a vertex of a {size}x{size} board "
            f"(expected a letter A..{GTP_LETTERS[size - 1]} without I, a number 1..{size}, or 'pass')"
        )
    col = GTP_LETTERS.index(text[0])
    line = int(text[1:])
    if not 1 <= line <= size:
        raise CoordinateError(f"{vertex!r}: line {line} is outside 1..{size}")
    return (size - line) * size + col


def to_sgf(action: int, size: int) -> str:
    if action == size * size:
        return ""
    row, col = divmod(action, size)
    return chr(ord("a") + col) + chr(ord("a") + row)


def from_sgf(point: str, size: int) -> int:
    if point == "" or (point == "tt" and size <= 19):
        return size * size
    if len(point) != 2:
        raise CoordinateError(f"SGF point {point!r} is not two letters")
    col = ord(point[0]) - ord("a")
    row = ord(point[1]) - ord("a")
    if not (0 <= col < size and 0 <= row < size):
        raise CoordinateError(f"SGF point {point!r} is off a {size}x{size} board")
    return row * size + col


def to_point(action: int, size: int) -> int:
    """Action -> padded kernel point (pass -> 0)."""
    if action == size * size:
        return 0
    row, col = divmod(action, size)
    return (row + 1) * (size + 1) + col + 1


def from_point(point: int, size: int) -> int:
    if point == 0:
        return size * size
    row, col = divmod(point, size + 1)
    return (row - 1) * size + col - 1
