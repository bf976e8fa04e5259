"""The ``tenuki`` command: assemble the sub-commands' parsers and dispatch (KataGo's ``cpp/command/`` layout).

Each sub-command is one module of this package with ``add_parser(subparsers)``, which adds its parser and
sets ``func``, the function that runs it. Nothing outside this package parses argv.
"""

from __future__ import annotations

import argparse

from tenuki import version
from tenuki.commands import atari, data, demo, gtp, lecture, match, play, selfplay, train
from tenuki.commands import eval as evaluate

# the sub-commands in the order ``tenuki --help`` lists them
SUBCOMMANDS = (demo, gtp, play, match, selfplay, data, train, evaluate, atari, lecture)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``tenuki`` with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="tenuki",
        description="tenuki: reinforcement learning for Go and Atari (AlphaGo / AlphaZero, MCTS, DQN).",
    )
    parser.add_argument("--version", action="version", version=f"tenuki {version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in SUBCOMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``tenuki ARGV``; returns the exit status (argparse exits 2 on a bad option itself)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)
