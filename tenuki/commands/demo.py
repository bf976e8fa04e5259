"""``tenuki demo``: the built-in bot plays itself, printed to the terminal (argument parsing only)."""

from __future__ import annotations

import argparse
import sys
import time


def cmd_demo(args: argparse.Namespace) -> int:
    """A game of the built-in bot against itself, printed to the terminal."""
    from tenuki.envs.go.board import Board, GoError
    from tenuki.envs.go.render import render_board
    from tenuki.search.flat_mc import FlatMonteCarloPlayer

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


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``demo`` to the ``tenuki`` sub-commands; returns its parser."""
    demo = subparsers.add_parser("demo", help="watch the built-in bot play itself", description=cmd_demo.__doc__)
    demo.add_argument("--size", type=int, default=9, help="board size 2..19 (default 9)")
    demo.add_argument("--komi", type=float, default=7.0, help="komi (default 7.0)")
    demo.add_argument("--playouts", type=int, default=32, help="light playouts per candidate move (default 32)")
    demo.add_argument("--max-moves", type=int, default=0, help="stop after this many moves (default 2*N*N)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--quiet", action="store_true", help="print only the final position")
    demo.set_defaults(func=cmd_demo)
    return demo
