"""``tenuki lecture run NAME|all`` and ``tenuki lecture list`` (argument parsing only)."""

from __future__ import annotations

import argparse
import json
import sys

from tenuki.common.config_files import config_names, resolve_config
from tenuki.common.yaml_config import ConfigError


def cmd_lecture_list(args: argparse.Namespace) -> int:
    """The lecture's experiments and the claim each one shows."""
    from tenuki.lecture.registry import EXPERIMENTS, experiment

    for name in EXPERIMENTS:
        print(f"{name:14s} {experiment(name).CLAIM}")
    return 0


def cmd_lecture_run(args: argparse.Namespace) -> int:
    """Run a lecture experiment (or all of them); print ONE JSON object with --json."""
    from tenuki.lecture.common import LectureError, load_experiment_config, run_experiment
    from tenuki.lecture.registry import EXPERIMENTS, experiment

    names = list(EXPERIMENTS) if args.name == "all" else [args.name]
    if args.name == "all" and (args.config or args.set):
        print("tenuki lecture run: --config and --set go with one experiment, not 'all'", file=sys.stderr)
        return 2
    records = {}
    try:
        config_path = resolve_config(args.config, "lecture") if args.config else None
        if len(names) == 1:  # a missing file, an unknown key or a wrong type: said before any work
            module = experiment(names[0])
            load_experiment_config(names[0], args.quick, config_path, args.set, getattr(module, "DEFAULTS", None))
        for name in names:
            out = None if args.out is None else (args.out if len(names) == 1 else f"{args.out}/{name}")
            if not args.json:
                print(f"running {name}{' (quick)' if args.quick else ''} ...", file=sys.stderr, flush=True)
            record = run_experiment(experiment(name), quick=args.quick, out_dir=out, config_path=config_path,
                                    overrides=args.set)
            records[name] = record
            if not args.json:
                head = record["headline"]
                print(f"{name}: {head['name']} = {head['value']:.4g} "
                      f"({'passed' if head['passed'] else 'NOT passed'}, threshold {head['threshold']:g}); "
                      f"{record['seconds']:.0f} s; results in {record['results_dir']}")
    except (LectureError, ConfigError) as error:
        print(f"tenuki lecture run: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(records[names[0]] if len(names) == 1 else {"experiments": records}))
    return 0 if all(r["headline"]["passed"] for r in records.values()) or not args.strict else 1


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``lecture`` (jobs ``run``, ``list``) to the ``tenuki`` sub-commands; returns its parser."""
    from tenuki.lecture.registry import EXPERIMENTS

    lecture = subparsers.add_parser("lecture", help="the lecture's models, each with a reproducible experiment",
                             description="Experiments of the course 'Introduction to Deep Learning' (see lecture/README.md).")
    jobs = lecture.add_subparsers(dest="lecture_command", metavar="JOB", required=True)
    run = jobs.add_parser("run", help="run an experiment", description=cmd_lecture_run.__doc__)
    run.add_argument("name", choices=[*EXPERIMENTS, "all"], help="the experiment, or 'all'")
    run.add_argument("--quick", action="store_true", help="a small version (seconds), as in CI")
    run.add_argument("--json", action="store_true", help="print ONE JSON object")
    run.add_argument("--out", help="results folder (default runs/lecture/NAME under the current folder)")
    run.add_argument("--config", help="a shipped lecture config by name (" + ", ".join(config_names("lecture"))
                     + ") or a YAML file, instead of the experiment's own")
    run.add_argument("--strict", action="store_true", help="exit 1 when a headline misses its threshold")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override one setting of the experiment's config, applied after --quick's, e.g. "
                          "--set epochs=2 --set conv_channels=[8,16] (repeatable; an unknown key or a value "
                          "of another type than the shipped one is an error)")
    run.set_defaults(func=cmd_lecture_run)
    listing = jobs.add_parser("list", help="list the experiments", description=cmd_lecture_list.__doc__)
    listing.set_defaults(func=cmd_lecture_list)
    return lecture
