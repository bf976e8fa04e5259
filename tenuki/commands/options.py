"""Options that mean the same in every command: one definition each, so `gtp`, `play`, `match` and `demo`
cannot drift apart (tests/test_cli_consistency.py checks every parser).

==========================  ==================================================================================
option                      one meaning everywhere
==========================  ==================================================================================
``--komi K``                default ``tenuki.play.registry.default_komi(size)``: 7.0 up to 9x9, 7.5 above
                            (``play`` with a handicap: 0.5)
``--resign W``              the bot resigns when its winrate falls below W (0..0.5; default never);
                            ``--resign-threshold`` is an old spelling, accepted with a deprecation warning
``--visits N``              simulations a move; **visits win over time**: with ``--visits`` every move
                            searches N simulations and ``--seconds-per-move`` / GTP time control is ignored
``--seconds-per-move S``    thinking time a move, used when no ``--visits`` is given
``--threads T``             torch intra-op threads of the network players (default 1; the search is
                            single-threaded numba)
``--set KEY=VALUE``         every YAML-driven command: override a config key, checked like the file
``-v`` / ``-q``             more / less logging (before or after the sub-command)
==========================  ==================================================================================
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

KOMI_RULE = "7.0 on boards up to 9x9, 7.5 on larger ones"
BUDGET_RULE = ("--visits wins over time: with --visits every move searches exactly that many simulations "
               "and --seconds-per-move (or GTP time control) is ignored")
THREADS_RULE = ("inference threads of the network players (policy, az-mcts, alphago, auto with a net: OpenVINO's "
                "where installed, else torch's intra-op threads); "
                "the tree search itself is single-threaded (default 1: predictable, and `tenuki match "
                "--parallel K` runs 2K engines side by side)")
RESIGN_RULE = "the bot resigns when its winrate falls below this, e.g. 0.05 (0..0.5; default: never)"
SET_HELP = ("override one key of the YAML config, e.g. --set search.visits=400 (dotted KEY; repeatable; "
            "checked like the file: an unknown key or a wrong type is an error)")


class _DeprecatedAlias(argparse.Action):
    """An old spelling of an option: stores like the new one and says so on stderr."""

    def __init__(self, option_strings, dest, new_name: str = "", **kwargs):
        self.new_name = new_name
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"tenuki: {option_string} is deprecated, use {self.new_name}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_komi(parser: argparse.ArgumentParser, extra: str = "") -> None:
    """``--komi`` (default None: ``resolve_komi`` applies the rule for the board size)."""
    parser.add_argument("--komi", type=float, default=None,
                        help=f"komi (default: {KOMI_RULE}{extra}; area scoring)")


def resolve_komi(komi: float | None, size: int) -> float:
    """``komi`` as given, else the default of a ``size`` board (``tenuki.play.registry.default_komi``)."""
    if komi is not None:
        return komi
    from tenuki.play.registry import default_komi

    return default_komi(size)


def add_resign(parser: argparse.ArgumentParser) -> None:
    """``--resign W`` (and the deprecated ``--resign-threshold W``), stored as ``args.resign``."""
    parser.add_argument("--resign", type=float, default=None, metavar="WINRATE", help=RESIGN_RULE)
    parser.add_argument("--resign-threshold", type=float, dest="resign", action=_DeprecatedAlias,
                        new_name="--resign", metavar="WINRATE", help="deprecated spelling of --resign")


def add_budget(parser: argparse.ArgumentParser, visits_help: str = "search simulations a move",
               seconds: bool = True) -> None:
    """``--visits`` and ``--seconds-per-move``, both with the precedence rule in their help."""
    parser.add_argument("--visits", type=int, default=None,
                        help=f"{visits_help} (default: the player's own); {BUDGET_RULE}")
    if seconds:
        parser.add_argument("--seconds-per-move", type=float, default=None, metavar="S",
                            help=f"thinking time a move in seconds, used when --visits is not given; {BUDGET_RULE}")


def add_threads(parser: argparse.ArgumentParser) -> None:
    """``--threads T`` (default ``tenuki.play.registry.DEFAULT_THREADS``, 1)."""
    from tenuki.play.registry import DEFAULT_THREADS

    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, metavar="T", help=THREADS_RULE)


def check_threads(threads: int) -> str | None:
    """The one-line problem with ``--threads``, or None."""
    return None if threads >= 1 else f"--threads {threads}: expected an integer >= 1"


def add_set(parser: argparse.ArgumentParser) -> None:
    """``--set KEY=VALUE`` (repeatable), collected in ``args.set``."""
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)


def check_board_size(size: int) -> str | None:
    """The one-line problem with ``--size``, or None."""
    from tenuki.envs.go.board import MAX_SIZE, MIN_SIZE

    if MIN_SIZE <= size <= MAX_SIZE:
        return None
    return f"--size {size}: board size {size} is not supported (allowed {MIN_SIZE}..{MAX_SIZE})"


def tenuki_command() -> str:
    """How to run tenuki from the user's shell, for the commands a command prints ("play it: ..."):
    ``tenuki`` when the PATH finds this installation's script, else that script's path (``.venv/bin/tenuki``
    under the current folder), else ``python -m tenuki`` with this interpreter."""
    script = Path(sys.executable).parent / "tenuki"
    found = shutil.which("tenuki")
    if found and script.exists() and Path(found).resolve() == script.resolve():
        return "tenuki"
    if script.exists():
        try:
            return str(script.absolute().relative_to(Path.cwd()))
        except ValueError:
            return str(script)
    return f"{sys.executable} -m tenuki"
