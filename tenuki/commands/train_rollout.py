"""``tenuki train rollout``: AlphaGo's rollout policy from expert games (see tenuki.agents.go.rollout).

``add_parser(subparsers)`` adds the ``rollout`` job to the ``tenuki train`` sub-commands; ``main(argv)``
runs it on its own (``main(["--source", "games.tar.gz", "--out", "weights/rollout19"])``) and returns
the exit status (0 done, 2 bad options or data).
"""

from __future__ import annotations

import argparse
import json
import sys

EXAMPLE = """example:
  tenuki train rollout --source ../shared/data/go/tom9d.tar.gz --out agents/go/weights/rollout19 \\
      --games 8000 --val-games 500
  tenuki train rollout --data data/go19 --out runs/rollout19 --games 20000 --val-games 0   # the SL policy's split"""


def _summary(result: dict) -> str:
    head = (f"trained on {result['games_trained']} games ({result['train_positions']} positions), "
            f"{result['epochs']} epoch(s), {result['train_seconds']} s ({result['positions_per_second']} positions/s)")
    lines = [head]
    for h in result["history"]:
        lines.append(f"epoch {h['epoch']}: train accuracy {h['train_accuracy']:.4f}, "
                     f"val accuracy {h['val_accuracy']}, val cross-entropy {h['val_cross_entropy']}")
    lines.append(f"validation: {result['val_games']} games, {result['val_positions']} positions, "
                 f"accuracy {result['val_accuracy']}")
    if "weights" in result:
        lines.append(f"weights: {result['weights']} (+ {result['sidecar']})")
    return "\n".join(lines)


def cmd_train_rollout(args: argparse.Namespace) -> int:
    """Train the rollout policy (linear softmax over local features, AlphaGo Extended Data Table 4)
    on expert games with Adagrad, validate it on held-out games (split by game) and write
    OUT.safetensors + OUT.json."""
    from tenuki.agents.go.dataset.shards import DatasetError
    from tenuki.agents.go.rollout import RolloutWeightsError, train_rollout
    from tenuki.envs.go.sgf import SGFError

    progress = None
    bar = None
    if not args.json and not args.quiet:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       transient=True, console=_stderr_console())
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        bar.start()
    try:
        if (args.source is None) == (args.data is None):
            raise ValueError("give --source (SGF files / archives, repeatable) or --data (a dataset folder)")
        result = train_rollout(args.source, args.out, games=args.games, val_games=args.val_games,
                               epochs=args.epochs, lr=args.lr, seed=args.seed, table_bits=args.table_bits,
                               progress=progress, data=args.data)
    except (RolloutWeightsError, SGFError, DatasetError, OSError, ValueError) as error:
        if bar is not None:
            bar.stop()
        print(f"tenuki train rollout: {error}", file=sys.stderr)
        return 2
    if bar is not None:
        bar.stop()
    print(json.dumps(result) if args.json else _summary(result))
    return 0


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    from tenuki.agents.go.rollout import DEFAULT_TABLE_BITS, MAX_TABLE_BITS, MIN_TABLE_BITS

    parser.add_argument("--source", action="append", metavar="PATH",
                        help="a .sgf file, a directory of them, a KGS tar archive or the Tom archive; repeat for "
                             "several (split by position in the sources)")
    parser.add_argument("--data", metavar="DIR",
                        help="instead of --source: a `tenuki data build` dataset, trained on its train split and "
                             "validated on its validation split (the SL policy's split)")
    parser.add_argument("--out", required=True, metavar="PATH",
                        help="weights to write: PATH.safetensors and PATH.json")
    parser.add_argument("--games", type=int, default=5000, metavar="N", help="training games (default 5000)")
    parser.add_argument("--val-games", type=int, default=500, metavar="N",
                        help="held-out validation games (default 500; with --data, 0 = the whole validation split)")
    parser.add_argument("--epochs", type=int, default=1, metavar="E", help="passes over the training games (default 1)")
    parser.add_argument("--lr", type=float, default=0.05, help="Adagrad learning rate (default 0.05)")
    parser.add_argument("--table-bits", type=int, default=DEFAULT_TABLE_BITS, metavar="B",
                        choices=range(MIN_TABLE_BITS, MAX_TABLE_BITS + 1),
                        help=f"weight table of 2**B entries (default {DEFAULT_TABLE_BITS})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the order and the hash (default 0)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar (and log at WARNING, as tenuki -q)")
    parser.add_argument("--json", action="store_true", help="print ONE JSON object, nothing else")
    parser.set_defaults(func=cmd_train_rollout)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``rollout`` to the ``tenuki train`` jobs; returns its parser."""
    parser = subparsers.add_parser("rollout", help="AlphaGo's fast rollout policy from expert games",
                                   description=cmd_train_rollout.__doc__, epilog=EXAMPLE,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tenuki train rollout", description=cmd_train_rollout.__doc__,
                                     epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(parser)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
