"""``tenuki selfplay launch|status``: argument parsing and the console (the loop is in coordinator)."""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
from pathlib import Path

from tenuki.commands import options as shared
from tenuki.common.config_files import config_names, resolve_config

DEFAULT_CONFIG = "go9x9"  # the shipped selfplay/go9x9.yaml (tenuki.configs), found from any folder


def _render(coordinator) -> object:
    from rich.table import Table

    state = coordinator.state
    stats = coordinator.buffer_stats
    table = Table(title=f"tenuki self-play - {coordinator.run_dir}", show_header=False, expand=False)
    table.add_column(style="bold")
    table.add_column()
    gph = coordinator.games_per_hour()
    table.add_row("time", str(datetime.timedelta(seconds=int(coordinator.elapsed))))
    table.add_row("games", f"{state.games}  ({'-' if math.isnan(gph) else f'{gph:.0f}'} / hour, "
                           f"{len(coordinator.workers)} workers, {len(coordinator.inflight)} calls in flight)")
    table.add_row("replay", f"{stats.get('positions', 0)} positions, window {stats.get('window', 0)}, "
                            f"{state.positions} recorded")
    table.add_row("network", f"version {state.version}, {state.samples_trained} samples trained "
                             f"({state.samples_trained / max(state.positions, 1):.1f} per position)")
    m = state.last_metrics
    if m:
        table.add_row("loss", f"policy {m.get('policy_loss', math.nan):.3f}  value {m.get('value_loss', math.nan):.3f}")
    table.add_row("best", f"version {state.best_version}, Elo {state.best_elo:+.0f}")
    if state.gnugo:
        g = state.gnugo[-1]
        table.add_row("GNU Go", f"level {g['level']}: v{g['version']} won {g['wins']}/{g['games']}")
    table.add_row("resign", f"threshold {state.resign_threshold:.3f}")
    table.add_row("faults", f"worker {state.worker_failures}, buffer {state.buffer_failures}, "
                            f"learner {state.learner_failures}")
    for event in list(coordinator.events)[-4:]:
        table.add_row("", event)
    return table


def _check_init_checkpoint(name: str) -> None:
    """A ConfigError, before Ray starts, when ``network.init_checkpoint`` names no checkpoint."""
    from tenuki.agents.checkpoint_io import shipped_names
    from tenuki.agents.go.networks.checkpoint import SHIPPED_WEIGHTS_DIR, resolve_checkpoint
    from tenuki.common.yaml_config import ConfigError

    found = resolve_checkpoint(name)
    if not (found.is_file() or found.with_name(found.name + ".safetensors").is_file()):
        shipped = ", ".join(shipped_names(SHIPPED_WEIGHTS_DIR))
        raise ConfigError(f"network.init_checkpoint {name}: no such checkpoint (a .safetensors file, or a shipped "
                          f"network by name: {shipped})")


def cmd_launch(args: argparse.Namespace) -> int:
    """Start (or resume) a self-play run: AlphaZero training on Ray actors."""
    from tenuki.common.yaml_config import ConfigError, load_yaml_config
    from tenuki.selfplay.cluster import ClusterError, connect
    from tenuki.selfplay.config import config_from_dict
    from tenuki.selfplay.coordinator import Coordinator
    from tenuki.selfplay.run_state import RunDirError, prepare_run_dir
    from tenuki.selfplay.status import format_summary, summarize_run

    try:
        if args.resume:
            if args.set or args.init_from:
                raise ConfigError(f"--set and --init-from change the config of a new run; the run in {args.resume} "
                                  "goes on with its stored config (--workers and --max-hours still apply)")
            run_dir = Path(args.resume)
            config = prepare_run_dir(None, run_dir, resume=True)
        else:
            overrides = list(args.set or [])
            if args.init_from:  # the same as --set network.init_checkpoint=PATH
                overrides.append(f"network.init_checkpoint={args.init_from}")
            config = load_yaml_config(resolve_config(args.config, args.config_kind), config_from_dict, ConfigError,
                                      overrides=overrides)
            if args.workers:
                config.workers.count = args.workers
        if args.resume and args.workers:  # a fresh run has it in its saved config already
            config.workers.count = args.workers
        if args.max_hours is not None:
            config.run.max_hours = args.max_hours
        config.validate()
        if not args.resume and config.network.init_checkpoint:
            _check_init_checkpoint(config.network.init_checkpoint)
        # Ray first: a cluster that cannot be reached leaves no run folder behind
        info = connect(config.cluster, address=args.address, num_cpus=args.num_cpus)
        if not args.resume:
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            run_dir = Path(args.run_dir) if args.run_dir else Path("runs") / f"{config.run.name}-{stamp}"
            config = prepare_run_dir(config, run_dir, resume=False)
    except (ConfigError, RunDirError, ClusterError) as error:
        print(f"tenuki selfplay: {error}", file=sys.stderr)
        return 2
    where = "local Ray instance" if info["local"] else f"Ray cluster at {info['address']}"
    print(f"tenuki selfplay: {'resuming' if args.resume else 'starting'} {run_dir} on a {where} "
          f"({info['nodes']} node(s), {info['cpus']:g} CPUs, {info['gpus']:g} GPUs)", flush=True)
    live_console = sys.stdout.isatty() and not args.plain
    if live_console:
        from rich.live import Live

        live = Live(refresh_per_second=1, transient=False)
        coordinator = Coordinator(config, run_dir, resume=bool(args.resume), console=lambda c: live.update(_render(c)))
    else:
        live = None
        last = [0.0]

        def plain(c):
            if c.elapsed - last[0] >= args.print_every:
                last[0] = c.elapsed
                s = c.state
                print(f"[selfplay] {c.elapsed:7.0f}s games {s.games} positions {s.positions} version {s.version} "
                      f"loss {s.last_metrics.get('loss', float('nan')):.3f} best v{s.best_version} "
                      f"Elo {s.best_elo:+.0f}", flush=True)

        coordinator = Coordinator(config, run_dir, resume=bool(args.resume), console=None)
        coordinator.console = plain
    coordinator.install_signal_handlers()
    try:
        if live is not None:
            with live:
                reason = coordinator.run()
        else:
            reason = coordinator.run()
    except RunDirError as error:
        print(f"tenuki selfplay: {error}", file=sys.stderr)
        return 2
    print(f"tenuki selfplay: stopped ({reason})")
    command = shared.tenuki_command()
    print(f"resume with: {command} selfplay launch --resume {run_dir}")
    # the summary ends with how to play the network ("play it: ... play ..."), written as this shell runs it
    print(format_summary(summarize_run(run_dir), command=command))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Summarise a self-play run from its directory."""
    from tenuki.selfplay.run_state import RunDirError
    from tenuki.selfplay.status import format_summary, summarize_run

    try:
        summary = summarize_run(args.run_dir)
    except RunDirError as error:
        print(f"tenuki selfplay: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=1) if args.json else format_summary(summary, command=shared.tenuki_command()))
    return 0


def add_launch_arguments(launch: argparse.ArgumentParser, default_config: str, kind: str = "selfplay") -> None:
    """The options of a run on the self-play actors (`selfplay launch`, `train rl-policy`, `train value`);
    ``--config NAME`` looks NAME up among the shipped configs of ``kind`` (``selfplay``, ``rl``)."""
    launch.add_argument("--config", default=default_config,
                        help=f"a shipped {kind} config by name ({', '.join(config_names(kind))}) or a YAML file "
                             f"(default {default_config})")
    launch.add_argument("--address", default=None,
                        help="join a Ray cluster: 'auto' (started with `ray start --head` here) or HOST:PORT; a "
                             "cluster with token authentication needs its token here (~/.ray/auth_token, "
                             "RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH); default: start a local Ray instance "
                             "sized to this machine")
    launch.add_argument("--workers", type=int, default=None, help="self-play workers (default: the config's)")
    launch.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray instance (default: all)")
    launch.add_argument("--run-dir", default=None,
                        help="where the run is written (default runs/NAME-DATE under the current folder)")
    launch.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue the run in RUN_DIR")
    launch.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                        help="start a new run's network from CHECKPOINT (a shipped name such as az9x9, or a path; "
                             "its optimizer state too when NAME.optimizer.safetensors lies beside it): training that "
                             "continues a committed network. Same as --set network.init_checkpoint=CHECKPOINT")
    launch.add_argument("--max-hours", type=float, default=None, help="stop after this many hours (all sessions)")
    launch.add_argument("--plain", action="store_true", help="print progress lines instead of a live table")
    launch.add_argument("--print-every", type=float, default=30.0, help="seconds between progress lines (--plain)")
    shared.add_set(launch)
    launch.set_defaults(func=cmd_launch, config_kind=kind)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``selfplay`` (verbs ``launch``, ``status``) to the ``tenuki`` sub-commands; returns its parser."""
    parser = subparsers.add_parser("selfplay", help="AlphaZero self-play training on Ray (launch, status)",
                                   description="Self-play training: workers, replay buffer, learner and gatekeeper "
                                               "as Ray actors, on this machine by default or on a Ray cluster.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    launch = verbs.add_parser("launch", help="start or resume a run", description=cmd_launch.__doc__)
    add_launch_arguments(launch, DEFAULT_CONFIG)
    status = verbs.add_parser("status", help="summarise a run", description=cmd_status.__doc__)
    status.add_argument("run_dir", help="the run directory")
    status.add_argument("--json", action="store_true", help="print the summary as JSON")
    status.set_defaults(func=cmd_status)
    return parser
