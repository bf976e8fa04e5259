"""``tenuki gtp``: a GTP engine on stdin / stdout (argument parsing only; the engine is tenuki.play)."""

from __future__ import annotations

import argparse
import sys


def cmd_gtp(args: argparse.Namespace) -> int:
    """A GTP engine on stdin / stdout (for Sabaki, GoGui, Lizzie, GNU Go's twogtp, tenuki match)."""
    from tenuki import version
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
    engine = GTPEngine(factory, name="tenuki", version=version(), size=args.size, komi=args.komi,
                       seconds_per_move=args.seconds_per_move, visits=args.visits)
    return main_loop(engine)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``gtp`` to the ``tenuki`` sub-commands; returns its parser."""
    from tenuki.play.registry import PLAYER_NAMES

    gtp = subparsers.add_parser("gtp", help="run as a GTP engine on stdin/stdout", description=cmd_gtp.__doc__)
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
    gtp.add_argument("--seed", type=int, default=0, help="random seed of the player (default 0)")
    gtp.set_defaults(func=cmd_gtp)
    return gtp
