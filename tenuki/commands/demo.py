"""``tenuki demo``: the built-in bot plays itself, printed to the terminal (argument parsing only)."""

from __future__ import annotations

import argparse
import sys
import time

from tenuki.commands import options as shared


def cmd_demo(args: argparse.Namespace) -> int:
    """A game of the built-in bot against itself, printed to the terminal."""
    from tenuki.envs.go.board import Board, GoError
    from tenuki.envs.go.render import render_board
    from tenuki.search.flat_mc import FlatMonteCarloPlayer

    problem = shared.check_board_size(args.size)
    if problem is None and args.visits < 1:
        problem = f"--visits {args.visits}: expected an integer >= 1"
    try:
        if problem is None:
            board = Board(args.size, komi=shared.resolve_komi(args.komi, args.size))
    except GoError as error:
        problem = str(error)
    if problem:
        print(f"tenuki demo: {problem}", file=sys.stderr)
        return 2
    bot = FlatMonteCarloPlayer(playouts_per_move=args.visits, seed=args.seed)
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
    shared.add_komi(demo)
    demo.add_argument("--visits", "--playouts", type=int, default=32, dest="visits", metavar="N",
                      help="light playouts per candidate move of the flat Monte-Carlo bot, what its --visits "
                           "means in gtp and play (default 32; --playouts is the old name); the demo has no "
                           "time control")
    demo.add_argument("--max-moves", type=int, default=0, help="stop after this many moves (default 2*N*N)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("-q", "--quiet", action="store_true",
                      help="print only the final position (and log at WARNING, as tenuki -q)")
    demo.set_defaults(func=cmd_demo)
    return demo
