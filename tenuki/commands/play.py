"""``tenuki play``: its command-line options and entry point.

``add_parser(subparsers)`` adds the ``play`` sub-command to the ``tenuki`` parser;
``cmd_play(args)`` runs a game. ``python -m tenuki.commands.play [options]`` runs the same thing
without the ``tenuki`` front end.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from tenuki.commands import options as shared
from tenuki.play.registry import PLAYER_NAMES

DESCRIPTION = """Play Go against the bot in the terminal. Type moves like D4 (or d4), pass, resign, undo,
hint, score, save FILE, load FILE, help, quit. Area scoring with komi, positional superko; two
passes end the game, dead stones are estimated by playouts and the game is saved as SGF."""


def add_play_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``tenuki play`` (shared by the sub-command and ``python -m``)."""
    parser.add_argument("--size", type=int, default=9, help="board size 2..19 (default 9)")
    shared.add_komi(parser, extra="; 0.5 with a handicap")
    parser.add_argument("--handicap", type=int, default=0,
                        help="fixed handicap stones for black: 2..9 on odd sizes from 9x9, 2..4 otherwise "
                             "from 7x7 (default 0; 1 = no stones, komi 0.5)")
    parser.add_argument("--color", "--colour", default="black", choices=("black", "white", "random"),
                        help="your colour (default black)")
    parser.add_argument("--player", default="auto", choices=PLAYER_NAMES,
                        help="the bot (default auto: the strongest tenuki has for the board size -- the shipped "
                             "AlphaZero net with az-mcts on 9x9, alphago with the shipped SL policy and rollout policy on "
                             "19x19, mcts (UCT with light rollouts) elsewhere)")
    parser.add_argument("--weights", default=None,
                        help="network checkpoint for the policy, az-mcts, alphago and auto players (an error "
                             "with the players that use no network)")
    parser.add_argument("--value-weights", default=None,
                        help="alphago only: an AlphaGo value network checkpoint or shipped name (rl-value19, "
                             "sl-value19; default: none, rollouts alone)")
    shared.add_budget(parser, visits_help="search simulations per bot move")
    shared.add_resign(parser)
    shared.add_threads(parser)
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed of the bot, the colour draw and the scoring playouts "
                             "(default: drawn and printed)")
    parser.add_argument("--sgf-out", type=Path, default=None,
                        help="where the game is saved at the end (default: runs/games/tenuki-DATE-TIME.sgf, "
                             "the folder is created)")
    parser.add_argument("--dead-playouts", type=int, default=None,
                        help="playouts for the dead-stone and score estimates (default 1000; the learned "
                             "rollout policy's on 19x19, light random ones on other sizes)")
    parser.add_argument("--no-color", "--no-colour", action="store_true",
                        help="plain text output (also when output is not a terminal, NO_COLOR is set "
                             "or TERM=dumb)")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``play`` to the sub-commands of the ``tenuki`` parser; returns the new parser."""
    parser = subparsers.add_parser("play", help="play Go against the bot in the terminal",
                                   description=DESCRIPTION)
    add_play_arguments(parser)
    parser.set_defaults(func=cmd_play)
    return parser


def use_color(no_color: bool) -> bool:
    """Colour only on a terminal that can show it, unless switched off (--no-color, NO_COLOR)."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM", "") in ("dumb", "unknown"):
        return False
    return sys.stdout.isatty()


def _readline_line_editing() -> bool:
    """Arrow keys and history at the prompt when stdin is a terminal (GNU readline / libedit)."""
    if not sys.stdin.isatty():
        return False
    try:
        import readline  # noqa: F401  (importing it is what hooks it into input())
    except ImportError:
        return False
    return True


def cmd_play(args: argparse.Namespace) -> int:
    """Play one game in the terminal; returns the exit code (2 for a bad option)."""
    from tenuki.play.dead_stones import DEFAULT_PLAYOUTS
    from tenuki.play.terminal import PlayOptions, PlayOptionsError, TerminalGame

    problem = shared.check_board_size(args.size) or shared.check_threads(args.threads)
    if problem:
        print(f"tenuki play: {problem}", file=sys.stderr)
        return 2

    if sys.stdin.isatty():
        # Ctrl-C saves the game and quits, even when we were started with SIGINT ignored (Python then
        # installs no handler: a shell's background job, a parent process that ignores it)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    options = PlayOptions(size=args.size, komi=args.komi, handicap=args.handicap, color=args.color,
                          player=args.player, visits=args.visits, seconds_per_move=args.seconds_per_move,
                          seed=args.seed, sgf_out=args.sgf_out, weights=args.weights, value_weights=args.value_weights,
                          resign_threshold=args.resign, threads=args.threads,
                          dead_playouts=args.dead_playouts or DEFAULT_PLAYOUTS,
                          color_output=use_color(args.no_color))
    try:
        game = TerminalGame(options, readline_active=_readline_line_editing())
    except PlayOptionsError as error:
        print(f"tenuki play: {error}", file=sys.stderr)
        return 2
    return game.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tenuki.commands.play", description=DESCRIPTION)
    add_play_arguments(parser)
    return cmd_play(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
