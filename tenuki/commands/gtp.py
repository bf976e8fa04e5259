"""``tenuki gtp``: a GTP engine on stdin / stdout (argument parsing only; the engine is tenuki.play)."""

from __future__ import annotations

import argparse
import sys

from tenuki.commands import options as shared


def cmd_gtp(args: argparse.Namespace) -> int:
    """A GTP engine on stdin / stdout (for Sabaki, GoGui, Lizzie, GNU Go's twogtp, tenuki match)."""
    from tenuki import version
    from tenuki.envs.go.board import GoError
    from tenuki.play.gtp_engine import GTPEngine, main_loop
    from tenuki.play.registry import player_factory
    from tenuki.search.mcts import SearchConfigError

    problem = (shared.check_board_size(args.size) if args.size is not None else None) or \
        shared.check_threads(args.threads)
    if problem:
        print(f"tenuki gtp: {problem}", file=sys.stderr)
        return 2
    options = {"seed": args.seed, "mix_lambda": args.mix_lambda, "prior": args.prior,
               "rollout_policy": args.rollout_policy}
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

    try:
        # networks loaded once per board size, and warmed up before the first move's clock starts
        factory = player_factory(args.player, weights=args.weights, value_weights=args.value_weights,
                                 threads=args.threads, **options)
        engine = GTPEngine(factory, name="tenuki", version=version(), size=args.size,
                           komi=shared.resolve_komi(args.komi, args.size),
                           seconds_per_move=args.seconds_per_move, visits=args.visits)
    except (SearchConfigError, GoError, ValueError, OSError) as error:
        print(f"tenuki gtp: {error}", file=sys.stderr)
        return 2
    return main_loop(engine)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``gtp`` to the ``tenuki`` sub-commands; returns its parser."""
    from tenuki.play.registry import PLAYER_NAMES

    gtp = subparsers.add_parser("gtp", help="run as a GTP engine on stdin/stdout", description=cmd_gtp.__doc__)
    gtp.add_argument("--player", choices=PLAYER_NAMES, default="auto",
                     help="who chooses the moves (default auto: the strongest tenuki has for the board size, chosen "
                          "again at each boardsize -- az-mcts with the shipped net on 9x9, alphago with the shipped "
                          "networks on 19x19 (SL policy and rollout policy), mcts elsewhere)")
    shared.add_budget(gtp)
    gtp.add_argument("--weights", default=None,
                     help="network checkpoint (.safetensors) for policy/az-mcts/alphago/auto (an error with the "
                          "players that use no network)")
    gtp.add_argument("--value-weights", default=None,
                     help="alphago only: an AlphaGo value network checkpoint or shipped name (rl-value19, "
                          "sl-value19; default: none, rollouts alone)")
    gtp.add_argument("--mix-lambda", type=float, default=None, metavar="LAMBDA",
                     help="alphago only: leaf value (1 - LAMBDA) v + LAMBDA z, v from the value network and z from a "
                          "rollout (default 0.5 with a value network, 1 = rollouts alone without one; 0 = the value "
                          "network alone, no rollouts)")
    gtp.add_argument("--prior", choices=("policy", "uniform"), default="policy",
                     help="alphago only: where the search's prior comes from -- the policy network of --weights "
                          "(default), or none: every legal move equal (AlphaGo's variants without the policy "
                          "network: the value network of --value-weights and/or rollouts)")
    gtp.add_argument("--rollout-policy", default=None, metavar="WEIGHTS",
                     help="alphago only: the rollouts' policy, AlphaGo's learned fast rollout policy (a file of "
                          "`tenuki train rollout`, or the shipped rollout19), or 'light': light playouts, random "
                          "moves that never fill an own eye (default: the shipped rollout policy with the shipped "
                          "policy network, else light)")
    gtp.add_argument("--size", type=int, default=None,
                     help="initial board size 2..19 (default: the --weights network's size, else 19)")
    shared.add_komi(gtp, extra=", for the initial size; a GTP komi command changes it")
    shared.add_resign(gtp)
    shared.add_threads(gtp)
    gtp.add_argument("--seed", type=int, default=0, help="random seed of the player (default 0)")
    gtp.set_defaults(func=cmd_gtp)
    return gtp
