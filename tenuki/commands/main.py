"""The ``tenuki`` command: assemble the sub-commands' parsers and dispatch (KataGo's ``cpp/command/`` layout).

Each sub-command is one module of this package with ``add_parser(subparsers)``, which adds its parser and
sets ``func``, the function that runs it. Nothing outside this package parses argv.

``-v`` / ``--verbose`` and ``-q`` / ``--quiet`` set how much the library logs (``tenuki.common.logs``): given
before the sub-command (``tenuki -v selfplay launch``) or after it (``tenuki selfplay launch -v``), they add
up. A sub-command that has its own ``--quiet`` (``demo``, ``match``, ``data build``, ``train rollout``: less
output of its own) takes ``-q`` as that option, which also logs less.
"""

from __future__ import annotations

import argparse

from tenuki import version
from tenuki.commands import atari, data, demo, gtp, lecture, match, play, selfplay, tournament, train
from tenuki.commands import eval as evaluate
from tenuki.common.logs import setup_logging

# the sub-commands in the order ``tenuki --help`` lists them
SUBCOMMANDS = (demo, gtp, play, match, tournament, selfplay, data, train, evaluate, atari, lecture)
VERBOSE_HELP = "log everything (DEBUG; default INFO: progress); before or after the sub-command"
QUIET_HELP = "log problems only (WARNING); before or after the sub-command"


def _add_logging_flags(parser: argparse.ArgumentParser) -> None:
    """``-v`` / ``-q`` on every leaf parser (a sub-command that runs), where the names are free; stored apart
    from the top-level flags (a sub-parser's defaults would overwrite them) and never set unless given."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if subparsers:
        for child in subparsers[0].choices.values():
            _add_logging_flags(child)
        return
    taken = parser._option_string_actions
    verbose = [name for name in ("-v", "--verbose") if name not in taken]
    if verbose:
        parser.add_argument(*verbose, action="count", dest="sub_verbose", default=argparse.SUPPRESS,
                            help=VERBOSE_HELP)
    quiet = [name for name in ("-q", "--quiet") if name not in taken]
    if quiet:
        parser.add_argument(*quiet, action="count", dest="sub_quiet", default=argparse.SUPPRESS, help=QUIET_HELP)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``tenuki`` with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="tenuki",
        description="tenuki: reinforcement learning for Go and Atari (AlphaGo / AlphaZero, MCTS, DQN).",
    )
    parser.add_argument("--version", action="version", version=f"tenuki {version()}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help=VERBOSE_HELP)
    parser.add_argument("-q", "--quiet", action="count", default=0, dest="log_quiet", help=QUIET_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in SUBCOMMANDS:
        command.add_parser(subparsers)
    _add_logging_flags(parser)
    return parser


def verbosity(args: argparse.Namespace) -> int:
    """The ``-v`` count less the ``-q`` count, from before and after the sub-command (a sub-command's own
    ``--quiet`` counts as one ``-q``)."""
    quiet = args.log_quiet + getattr(args, "sub_quiet", 0) + int(getattr(args, "quiet", False) is True)
    return args.verbose + getattr(args, "sub_verbose", 0) - quiet


def main(argv: list[str] | None = None) -> int:
    """Run ``tenuki ARGV``; returns the exit status (argparse exits 2 on a bad option itself)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(verbosity(args))
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)
