"""``tenuki data build|info``: expert games (Tom, KGS, SGF) to training shards (see tenuki.agents.go.dataset).

``add_parser(subparsers)`` adds the ``data`` sub-command to the ``tenuki`` parser; ``main(argv)`` runs
it on its own (``main(["build", "--source", "games.tar.gz", "--out", "data/sl"])``) and returns the
exit status (0 done, 2 bad options or data).
"""

from __future__ import annotations

import argparse
import json
import sys

EXAMPLE = """example:
  tenuki data build --source ../shared/data/go/tom9d.tar.gz --source ../shared/data/go/kgs --out data/sl
  tenuki data info data/sl"""


def _summary(meta: dict) -> str:
    counts = meta["counts"]
    skipped = ", ".join(f"{reason} {n}" for reason, n in counts["skipped"].items() if n) or "none"
    results = ", ".join(f"{kind} {n}" for kind, n in sorted(counts["results"].items()))
    lines = [
        f"games read {counts['read']}, kept {counts['kept']} (handicap {counts['handicap_kept']}), skipped: {skipped}",
        f"results: {results}",
    ]
    for split in ("train", "val"):
        lines.append(f"{split}: {meta['games'][split]} games, {meta['positions'][split]} positions, "
                     f"{len(meta['shards'][split])} shards, {meta['bytes'][split]} bytes "
                     f"({meta['bytes_per_position'][split]} bytes / position)")
    lines.append(f"built in {meta['build_seconds']} s ({meta['games_per_second']} games / s)")
    return "\n".join(lines)


def cmd_build(args: argparse.Namespace) -> int:
    """Read games (.sgf files, directories, KGS tar archives, the Tom archive), check them by replay
    (simple ko), split them by game into train / val and write compressed shards + meta.json."""
    from tenuki.agents.go.dataset import DatasetError, build_dataset
    from tenuki.envs.go.sgf import SGFError

    try:
        meta = build_dataset(args.source, args.out, val_fraction=args.val_fraction, shard_games=args.shard_games,
                             max_games=args.max_games, seed=args.seed, progress=not args.json and not args.quiet,
                             min_rank=args.min_rank, overwrite=args.overwrite)
    except (DatasetError, SGFError, OSError) as error:
        print(f"tenuki data: {error}", file=sys.stderr)
        return 2
    print(json.dumps(meta, indent=1) if args.json else _summary(meta))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """Summarise a dataset directory from its meta.json."""
    from tenuki.agents.go.dataset import DatasetError, read_meta

    try:
        meta = read_meta(args.dir)
    except DatasetError as error:
        print(f"tenuki data: {error}", file=sys.stderr)
        return 2
    print(json.dumps(meta, indent=1) if args.json else _summary(meta))
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``data`` (verbs ``build``, ``info``) to the ``tenuki`` sub-commands; returns its parser."""
    parser = subparsers.add_parser("data", help="expert games to training shards (build, info)",
                                   description=__doc__.split("\n")[0], epilog=EXAMPLE,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_verbs(parser)
    return parser


def _add_verbs(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    build = verbs.add_parser("build", help="build a dataset directory", description=cmd_build.__doc__)
    build.add_argument("--source", action="append", required=True, metavar="PATH",
                       help="a .sgf file, a directory (its .sgf files, or its tar archives), a KGS tar "
                            "archive or the Tom archive; repeat for several")
    build.add_argument("--out", required=True, metavar="DIR", help="the dataset directory to write")
    build.add_argument("--val-fraction", type=float, default=0.02, help="share of games in val (default 0.02)")
    build.add_argument("--max-games", type=int, default=None, metavar="N",
                       help="keep at most N games from each source archive (default: all)")
    build.add_argument("--shard-games", type=int, default=5000, help="games per shard file (default 5000)")
    build.add_argument("--min-rank", default=None, metavar="RANK",
                       help="skip games with a player ranked below RANK, e.g. 6d (SGF BR / WR; games "
                            "without ranks are kept)")
    build.add_argument("--seed", type=int, default=0, help="seed of the train / val split (default 0)")
    build.add_argument("--overwrite", action="store_true", help="replace a dataset already in --out")
    build.add_argument("-q", "--quiet", action="store_true", help="no progress bar (and log at WARNING, as tenuki -q)")
    build.add_argument("--json", action="store_true", help="print meta.json instead of a summary")
    build.set_defaults(func=cmd_build)
    info = verbs.add_parser("info", help="summarise a dataset directory", description=cmd_info.__doc__)
    info.add_argument("dir", help="the dataset directory")
    info.add_argument("--json", action="store_true", help="print meta.json")
    info.set_defaults(func=cmd_info)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tenuki data", description=__doc__.split("\n")[0], epilog=EXAMPLE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_verbs(parser)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
