"""Text rendering of a board with GTP coordinates (letters without I, lines from the bottom)."""

from __future__ import annotations

from tenuki.envs.go.coords import GTP_LETTERS


def render_board(board, mark_last: bool = True) -> str:
    """ASCII board: ``X`` black, ``O`` white, ``.`` empty, ``+`` star points; the last move is
    shown in parentheses."""
    n = board.size
    stones = board.stones()
    last = board.last_move if mark_last else None
    stars = _star_points(n)
    letters = " ".join(GTP_LETTERS[:n])
    lines = [f"    {letters}"]
    for r in range(n):
        cells = []
        for c in range(n):
            v = stones[r, c]
            ch = "X" if v == 1 else "O" if v == 2 else "+" if (r, c) in stars else "."
            cells.append(ch)
        row = " ".join(cells)
        if last is not None and last < n * n and last // n == r:
            c = last % n
            chars = list(" " + row + " ")
            chars[2 * c] = "("
            chars[2 * c + 2] = ")"
            row = "".join(chars)[1:]
            row = row.rstrip()
        lines.append(f"{n - r:>3} {row}")
    lines.append(f"    {letters}")
    caps = board.captures
    lines.append(f"captures: black {caps[1]}, white {caps[2]}; {'black' if board.to_play == 1 else 'white'} to play")
    return "\n".join(lines)


def _star_points(n: int) -> set[tuple[int, int]]:
    if n < 7:
        return set()
    edge = 3 if n >= 13 else 2
    lines = [edge, n - 1 - edge] + ([n // 2] if n % 2 == 1 and n >= 9 else [])
    return {(r, c) for r in lines for c in lines}
