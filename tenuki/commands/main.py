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


def cmd_gtp(args: argparse.Namespace) -> int:
    """A GTP engine on stdin / stdout (for Sabaki, GoGui, Lizzie, GNU Go's twogtp, tenuki match)."""
    from tenuki.play.gtp_engine import GTPEngine, main_loop
    from tenuki.play.registry import make
    from tenuki.search.mcts import SearchConfigError

    options = {"seed": args.seed}
    if args.resign is not None:
        options["resign_threshold"] = args.resign
    if args.size is None:
        args.size = 19
        if args.weights is not None:  # a 9x9 network starts on 9x9 (GTP's boardsize still changes it)
            from tenuki.agents.go.networks.checkpoint import CheckpointError, read_checkpoint_meta

            try:
                args.size = int(read_checkpoint_meta(args.weights).kwargs.get("board_size", 19))
            except (CheckpointError, OSError, ValueError):
                pass  # the player's own loading below names the problem

    def factory(size: int):
        return make(args.player, size, weights=args.weights, value_weights=args.value_weights, **options)

    try:
        factory(args.size)
    except (SearchConfigError, ValueError, OSError) as error:
        print(f"tenuki gtp: {error}", file=sys.stderr)
        return 2
    engine = GTPEngine(factory, name="tenuki", version=_version(), size=args.size, komi=args.komi,
                       seconds_per_move=args.seconds_per_move, visits=args.visits)
    return main_loop(engine)


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

    from tenuki.play.registry import PLAYER_NAMES

    gtp = sub.add_parser("gtp", help="run as a GTP engine on stdin/stdout", description=cmd_gtp.__doc__)
    gtp.add_argument("--player", choices=PLAYER_NAMES, default="auto",
                     help="who chooses the moves (default auto: the strongest tenuki has for the board size, chosen "
                          "again at each boardsize -- az-mcts with the shipped net on 9x9, the AlphaGo SL policy on "
                          "19x19, mcts elsewhere)")
    gtp.add_argument("--visits", type=int, default=None, help="simulations a move (overrides time control)")
    gtp.add_argument("--seconds-per-move", type=float, default=None, help="seconds a move (else GTP time control)")
    gtp.add_argument("--weights", default=None, help="network checkpoint (.safetensors) for policy/az-mcts/alphago")
    gtp.add_argument("--value-weights", default=None,
                     help="alphago only: an AlphaGo value network checkpoint (default: the shipped one "
                          "with the shipped policy, else rollouts alone)")
    gtp.add_argument("--size", type=int, default=None,
                     help="initial board size (default: the --weights network's size, else 19)")
    gtp.add_argument("--komi", type=float, default=7.5, help="initial komi (default 7.5)")
    gtp.add_argument("--resign", type=float, default=None, help="resign below this winrate, e.g. 0.05")
    gtp.add_argument("--seed", type=int, default=0)
    gtp.set_defaults(func=cmd_gtp)

    from tenuki.commands.match import add_match_parser

    add_match_parser(sub)

    from tenuki.commands.play import add_play_parser

    add_play_parser(sub)

    from tenuki.commands.selfplay import add_selfplay_parser

    add_selfplay_parser(sub)

    from tenuki.commands.data import add_parser as add_data_parser

    add_data_parser(sub)

    from tenuki.commands.train import add_eval_parser, add_train_parser

    add_train_parser(sub)
    add_eval_parser(sub)

    from tenuki.commands.atari import add_atari_parser

    add_atari_parser(sub)

    from tenuki.commands.lecture import add_lecture_parser

    add_lecture_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)
