"""``tenuki train sl-policy|sl-value|rl-policy|value|rollout``: the AlphaGo pipeline's training jobs
(argument parsing only; ``tenuki eval`` scores what they train)."""

from __future__ import annotations

import argparse
import json
import sys

from tenuki.commands import options as shared
from tenuki.common.config_files import config_names, resolve_config

# shipped configs by name (tenuki.configs): sl/NAME.yaml for the supervised jobs, rl/NAME.yaml for the
# jobs on the self-play actors
DEFAULT_SL_CONFIG = "policy19"
DEFAULT_SL_VALUE_CONFIG = "value19"
DEFAULT_RL_POLICY_CONFIG = "policy19"
DEFAULT_RL_VALUE_CONFIG = "value19"


def cmd_train_sl_policy(args: argparse.Namespace) -> int:
    """Train AlphaGo's supervised policy network on expert games (shards of `tenuki data build`).
    Started again on the same run directory, it resumes from the last checkpoint."""
    return _train_supervised(args, "policy")


def cmd_train_sl_value(args: argparse.Namespace) -> int:
    """Train a value network on expert games (shards of `tenuki data build`): the result of each
    game for the side to move, data.positions_per_game random positions of each game an epoch, games
    without a known winner left out (a deviation from the
    paper, which generated its value data by self-play: `tenuki train value`). Started again on the
    same run directory, it resumes from the last checkpoint."""
    return _train_supervised(args, "value")


def _train_supervised(args: argparse.Namespace, target: str) -> int:
    from tenuki.agents.go.dataset import DatasetError
    from tenuki.agents.go.networks.checkpoint import CheckpointError
    from tenuki.agents.go.sl import TrainingDiverged, sl_config_from_dict, train_sl_policy
    from tenuki.common.yaml_config import ConfigError, load_yaml_config

    try:
        config = load_yaml_config(resolve_config(args.config, "sl"), sl_config_from_dict, ConfigError,
                                  overrides=args.set)
        if config.target != target:
            raise ConfigError(f"{args.config} trains the {config.target} network (target: {config.target}); "
                              f"use `tenuki train sl-{config.target}`")
        if args.data:
            config.data.dir = args.data
        if args.max_steps is not None:
            config.train.max_steps = args.max_steps
        if args.max_hours is not None:
            config.train.max_hours = args.max_hours
        log = (lambda _: None) if args.json else (lambda text: print(text, flush=True))
        summary = train_sl_policy(config, run_dir=args.run_dir, progress=not args.json and sys.stderr.isatty(), log=log)
    except (ConfigError, CheckpointError, DatasetError, FileNotFoundError) as error:
        print(f"tenuki train sl-{target}: {error}", file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print(f"tenuki train sl-{target}: training diverged: {error}; lower optim.learning_rate or set "
              f"optim.max_grad_norm", file=sys.stderr)
        return 3
    best = f"{summary['run_dir']}/best.safetensors"
    if args.json:
        print(json.dumps(summary))
    elif target == "value":
        print(f"best validation MSE {summary['best_val_mse']:.3f} (always answering 0: "
              f"{summary['val_zero_mse']:.3f}); network: {best}")
        print(f"try it: {shared.tenuki_command()} gtp --player alphago --value-weights {best}")
    else:
        print(f"best validation top-1 {summary['best_val_top1']:.3f}; network: {best}")
        print(f"try it: {shared.tenuki_command()} play --player policy --weights {best}")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``train`` (jobs ``sl-policy``, ``sl-value``, ``rl-policy``, ``value``, ``rollout``) to the
    ``tenuki`` sub-commands; returns its parser."""
    from tenuki.commands import train_rollout
    from tenuki.commands.selfplay import add_launch_arguments

    parser = subparsers.add_parser("train", help="train the AlphaGo pipeline's networks (sl-policy, rollout, ...)",
                                   description="Training jobs of the AlphaGo pipeline (Silver et al. 2016).")
    jobs = parser.add_subparsers(dest="job", metavar="JOB", required=True)
    for name, help_text, command, default in (
            ("sl-policy", "supervised policy network from expert games", cmd_train_sl_policy, DEFAULT_SL_CONFIG),
            ("sl-value", "value network from the results of expert games (a deviation from the paper)",
             cmd_train_sl_value, DEFAULT_SL_VALUE_CONFIG)):
        sl = jobs.add_parser(name, help=help_text, description=command.__doc__)
        sl.add_argument("--config", default=default,
                        help=f"a shipped sl config by name ({', '.join(config_names('sl'))}) or a YAML file "
                             f"(default {default})")
        sl.add_argument("--data", default=None, help="dataset folder of `tenuki data build` (default: the config's)")
        sl.add_argument("--run-dir", default=None,
                        help="where checkpoints and logs go (default: the config's run_dir, under this folder)")
        sl.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (resumes included)")
        sl.add_argument("--max-hours", type=float, default=None,
                        help="stop after this many hours (resumes included)")
        sl.add_argument("--json", action="store_true", help="print ONE JSON summary at the end, nothing else")
        shared.add_set(sl)
        sl.set_defaults(func=command)
    rl = jobs.add_parser("rl-policy", help="REINFORCE self-play of the policy against a pool of its earlier versions",
                         description="AlphaGo's RL policy network on the self-play actors (embedded local Ray by "
                                     "default): the policy starts from the SL checkpoint named in the config "
                                     "(network.init_checkpoint) and plays against earlier versions. Same options as "
                                     "`tenuki selfplay launch`.")
    add_launch_arguments(rl, DEFAULT_RL_POLICY_CONFIG, kind="rl")
    value = jobs.add_parser("value", help="value network from SL/RL policy games (one position per game)",
                            description="AlphaGo's value network on the self-play actors: each game gives one "
                                        "position (SL policy to a random move U, a random move, RL policy to the "
                                        "end). Same options as `tenuki selfplay launch`.")
    add_launch_arguments(value, DEFAULT_RL_VALUE_CONFIG, kind="rl")
    train_rollout.add_parser(jobs)
    return parser
