"""The ``tenuki`` command: parse arguments, then call into the packages (no logic here)."""

from __future__ import annotations

import argparse
import sys
import time
from importlib.metadata import PackageNotFoundError, version


def _version() -> str:
    try:
        return version("tenuki")
    except PackageNotFoundError:
        return "0+unknown"


def cmd_demo(args: argparse.Namespace) -> int:
    """A game of the built-in bot against itself, printed to the terminal."""
    from envs.go.board import Board, GoError
    from envs.go.render import render_board
    from search.flat_mc import FlatMonteCarloPlayer

    try:
        board = Board(args.size, komi=args.komi)
    except GoError as error:
        print(f"tenuki demo: {error}", file=sys.stderr)
        return 2
    bot = FlatMonteCarloPlayer(playouts_per_move=args.playouts, seed=args.seed)
    max_moves = args.max_moves or 2 * args.size * args.size
    start = time.perf_counter()
    while not board.is_game_over and board.move_number < max_moves:
        color = "Black" if board.to_play == 1 else "White"
        move = bot.genmove(board)
        board.play(move)
        if not args.quiet:
            print(f"\nmove {board.move_number}: {color} {board.last_move_gtp}")
            print(render_board(board))
    score = board.score("area")
    elapsed = time.perf_counter() - start
    print(f"\nfinal position after {board.move_number} moves ({elapsed:.1f} s):")
    print(render_board(board))
    print(f"Tromp-Taylor area: black {score.black:g}, white {score.white:g}, komi {score.komi:g} "
          f"-> result {score.result}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tenuki",
        description="tenuki: reinforcement learning for Go and Atari (AlphaGo / AlphaZero, MCTS, DQN).",
    )
    parser.add_argument("--version", action="version", version=f"tenuki {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="watch the built-in bot play itself (the default job of `make run`)",
                          description=cmd_demo.__doc__)
    demo.add_argument("--size", type=int, default=9, help="board size 2..19 (default 9)")
    demo.add_argument("--komi", type=float, default=7.0, help="komi (default 7.0)")
    demo.add_argument("--playouts", type=int, default=32, help="light playouts per candidate move (default 32)")
    demo.add_argument("--max-moves", type=int, default=0, help="stop after this many moves (default 2*N*N)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--quiet", action="store_true", help="print only the final position")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)
