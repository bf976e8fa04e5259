"""``tenuki eval policy|value|policy-match``: evaluation jobs of the AlphaGo pipeline (argument parsing only)."""

from __future__ import annotations

import argparse
import json
import sys

from tenuki.commands import options as shared


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
        return policy_match(args.policy, args.opponent, games=args.games, size=args.size,
                            komi=shared.resolve_komi(args.komi, args.size), seed=args.seed)

    return _run_eval("policy-match", args, compute, (CheckpointError, ClusterError, ValueError, FileNotFoundError))


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``eval`` (kinds ``policy``, ``value``, ``policy-match``) to the ``tenuki`` sub-commands; returns its parser."""
    parser = subparsers.add_parser("eval", help="evaluate networks on real games", description="Evaluation jobs.")
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
    shared.add_komi(match)
    match.add_argument("--seed", type=int, default=0, help="seed of the games (default 0)")
    match.add_argument("--address", default=None, help="a Ray cluster's address (default: embedded local Ray)")
    match.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray instance (default: all)")
    match.add_argument("--json", action="store_true", help="print ONE JSON object")
    match.set_defaults(func=cmd_eval_policy_match)
    return parser
