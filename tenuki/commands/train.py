"""``tenuki train ...`` and ``tenuki eval ...``: the AlphaGo pipeline's jobs (argument parsing only)."""

from __future__ import annotations

import argparse
import json
import sys

DEFAULT_SL_CONFIG = "configs/sl/policy19.yaml"
DEFAULT_SL_VALUE_CONFIG = "configs/sl/value19.yaml"


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
    from tenuki.agents.go.sl.trainer import TrainingDiverged, load_sl_config, train_sl_policy
    from tenuki.selfplay.config import ConfigError

    try:
        config = load_sl_config(args.config)
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
        print(f"try it: tenuki gtp --player alphago --value-weights {best}")
    else:
        print(f"best validation top-1 {summary['best_val_top1']:.3f}; network: {best}")
        print(f"try it: tenuki play --player policy --weights {best}")
    return 0


def _run_eval(name: str, args: argparse.Namespace, compute, errors: tuple[type[BaseException], ...]) -> int:
    """Run an evaluation job: ONE JSON object with --json, else aligned ``key: value`` lines; a
    known error is one line ``tenuki eval NAME: ...`` on stderr and exit status 2."""
    try:
        result = compute()
    except errors as error:
        print(f"tenuki eval {name}: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        width = max(map(len, result), default=0)
        for key, value in result.items():
            print(f"{key:>{width}}: {value}")
    return 0


def cmd_eval_policy(args: argparse.Namespace) -> int:
    """Score a network checkpoint on real games: top-1 / top-5 accuracy of its policy on the
    human moves, and the value's mean squared error against the results. Prints ONE JSON object
    with --json."""
    from tenuki.agents.go.dataset.shards import DatasetError
    from tenuki.agents.go.networks.checkpoint import CheckpointError
    from tenuki.agents.go.sl.evaluate import EvaluationError, evaluate_checkpoint
    from tenuki.envs.go.sgf import SGFError

    return _run_eval("policy", args, lambda: evaluate_checkpoint(
        args.checkpoint, args.games, max_positions=args.max_positions, held_out=args.held_out),
        (CheckpointError, SGFError, EvaluationError, DatasetError, FileNotFoundError))


def cmd_eval_value(args: argparse.Namespace) -> int:
    """Train and test mean squared error of an AlphaGo value network: the train MSE on the positions
    of its run's replay snapshot, the test MSE on fresh positions generated like the training data
    (seeds no training game uses; cached in the run directory), with the always-0 and mean-outcome
    baselines. Prints ONE JSON object with --json."""
    from tenuki.agents.go.networks.checkpoint import CheckpointError
    from tenuki.selfplay.alphago.value_eval import ValueEvalError, evaluate_value_run
    from tenuki.selfplay.cluster import ClusterError

    return _run_eval("value", args, lambda: evaluate_value_run(
        args.checkpoint, args.run_dir, test_games=args.test_games, address=args.address, num_cpus=args.num_cpus,
        progress=not args.json), (CheckpointError, ValueEvalError, ClusterError, FileNotFoundError))


def cmd_eval_policy_match(args: argparse.Namespace) -> int:
    """Two policy networks play each other, each sampling its moves from its softmax over the
    sensible moves (no search), as the RL policy was measured against the SL policy in Silver et al.
    (2016). The colour of --policy is drawn at random in each game. Prints ONE JSON object with
    --json (win rate of --policy, its 95% interval, per colour)."""
    from tenuki.agents.go.networks.checkpoint import CheckpointError
    from tenuki.selfplay.alphago.policy_match import policy_match
    from tenuki.selfplay.cluster import ClusterError, connect
    from tenuki.selfplay.config import ClusterConfig

    def compute() -> dict:
        connect(ClusterConfig(), address=args.address, num_cpus=args.num_cpus)
        return policy_match(args.policy, args.opponent, games=args.games, size=args.size, komi=args.komi,
                            seed=args.seed)

    return _run_eval("policy-match", args, compute, (CheckpointError, ClusterError, ValueError, FileNotFoundError))


def add_train_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="train the AlphaGo pipeline's networks (sl-policy, rollout, ...)",
                            description="Training jobs of the AlphaGo pipeline (Silver et al. 2016).")
    jobs = parser.add_subparsers(dest="job", metavar="JOB", required=True)
    for name, help_text, command, default in (
            ("sl-policy", "supervised policy network from expert games", cmd_train_sl_policy, DEFAULT_SL_CONFIG),
            ("sl-value", "value network from the results of expert games (a deviation from the paper)",
             cmd_train_sl_value, DEFAULT_SL_VALUE_CONFIG)):
        sl = jobs.add_parser(name, help=help_text, description=command.__doc__)
        sl.add_argument("--config", default=default, help=f"YAML config (default {default})")
        sl.add_argument("--data", default=None, help="dataset folder of `tenuki data build` (default: the config's)")
        sl.add_argument("--run-dir", default=None, help="where checkpoints and logs go (default: the config's)")
        sl.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (resumes included)")
        sl.add_argument("--max-hours", type=float, default=None,
                        help="stop after this many hours (resumes included)")
        sl.add_argument("--json", action="store_true", help="print ONE JSON summary at the end, nothing else")
        sl.set_defaults(func=command)
    from tenuki.commands.selfplay import add_launch_arguments

    rl = jobs.add_parser("rl-policy", help="REINFORCE self-play of the policy against a pool of its earlier versions",
                         description="AlphaGo's RL policy network on the self-play actors (embedded local Ray by "
                                     "default): the policy starts from the SL checkpoint named in the config "
                                     "(network.init_checkpoint) and plays against earlier versions. Same options as "
                                     "`tenuki selfplay launch`.")
    add_launch_arguments(rl, "configs/rl/policy19.yaml")
    value = jobs.add_parser("value", help="value network from SL/RL policy games (one position per game)",
                            description="AlphaGo's value network on the self-play actors: each game gives one "
                                        "position (SL policy to a random move U, a random move, RL policy to the "
                                        "end). Same options as `tenuki selfplay launch`.")
    add_launch_arguments(value, "configs/rl/value19.yaml")
    try:
        from tenuki.commands.train_rollout import add_parser as add_rollout_parser
    except ImportError:  # pragma: no cover - the rollout policy ships with the package
        add_rollout_parser = None
    if add_rollout_parser is not None:
        add_rollout_parser(jobs)


def add_eval_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="evaluate networks on real games", description="Evaluation jobs.")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    policy = kinds.add_parser("policy", help="accuracy of a checkpoint on the moves of real games",
                              description=cmd_eval_policy.__doc__)
    policy.add_argument("--checkpoint", required=True, help="a network checkpoint (.safetensors with its .json)")
    policy.add_argument("--games", required=True,
                        help="an SGF file, a folder of SGFs, a .tar.gz of SGFs (KGS) or the Tom archive")
    policy.add_argument("--max-positions", type=int, default=0, help="stop after this many positions (0: all)")
    policy.add_argument("--held-out", metavar="DATASET",
                        help="score only the games this dataset (tenuki data build --out DATASET) put in its "
                             "validation split: the games a network trained on it never saw")
    policy.add_argument("--json", action="store_true", help="print ONE JSON object")
    policy.set_defaults(func=cmd_eval_policy)
    value = kinds.add_parser("value", help="train / test MSE of a value network of a `tenuki train value` run",
                             description=cmd_eval_value.__doc__)
    value.add_argument("--checkpoint", required=True, help="the value network (.safetensors with its .json)")
    value.add_argument("--run-dir", required=True, help="the `tenuki train value` run it comes from")
    value.add_argument("--test-games", type=int, default=400,
                       help="fresh games for the test set, one position each (default 400)")
    value.add_argument("--address", default=None, help="a Ray cluster's address (default: embedded local Ray)")
    value.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray instance (default: all)")
    value.add_argument("--json", action="store_true", help="print ONE JSON object")
    value.set_defaults(func=cmd_eval_value)
    match = kinds.add_parser("policy-match", help="two policy networks play each other, sampling their moves",
                             description=cmd_eval_policy_match.__doc__)
    match.add_argument("--policy", required=True, help="the policy network scored (e.g. the RL policy)")
    match.add_argument("--opponent", required=True, help="its opponent (e.g. the SL policy)")
    match.add_argument("--games", type=int, default=200, help="games (default 200)")
    match.add_argument("--size", type=int, default=19, help="board size (default 19)")
    match.add_argument("--komi", type=float, default=7.5, help="komi (default 7.5)")
    match.add_argument("--seed", type=int, default=0, help="seed of the games (default 0)")
    match.add_argument("--address", default=None, help="a Ray cluster's address (default: embedded local Ray)")
    match.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray instance (default: all)")
    match.add_argument("--json", action="store_true", help="print ONE JSON object")
    match.set_defaults(func=cmd_eval_policy_match)
