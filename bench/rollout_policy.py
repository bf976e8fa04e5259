"""Benchmark: AlphaGo's rollout policy in full 19x19 playouts (moves/s), next to the uniform random
playout of ``tenuki.envs.go.playout`` measured in the same run, its from-scratch feature extraction time,
and (with trained weights) its top-1 accuracy on held-out expert games.

    python -m bench.rollout_policy --json
    python -m bench.rollout_policy --weights agents/go/weights/rollout19 --accuracy-games 200 --json

AlphaGo's figure: 2 microseconds a move (500k moves/s per thread) and 24.2% accuracy (Silver et al.
2016, Methods). Work unit: playouts from the empty 19x19 board until two passes or 3*N*N moves, one
thread, in batches; the two playout kernels are measured in alternating slices so both see the
same background load (the ratio is the figure to compare across machines).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.common import interleaved, print_result

DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "agents" / "go" / "weights" / "rollout19"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.rollout_policy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=None,
                        help=f"rollout weights (default {DEFAULT_WEIGHTS.name} when shipped, else all-zero weights)")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds per playout kernel (default 6)")
    parser.add_argument("--rounds", type=int, default=6, help="alternating slices per kernel (default 6)")
    parser.add_argument("--batch", type=int, default=16, help="playouts per kernel call (default 16)")
    parser.add_argument("--accuracy-games", type=int, default=100, metavar="N",
                        help="held-out games of the weights' sidecar to measure accuracy on, 0 = skip (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()

    import numpy as np

    from tenuki.agents.go.rollout import RolloutPolicy, Workspace, held_out_games, run_games
    from tenuki.agents.go.rollout.features import candidate_features
    from tenuki.envs.go.board import Board
    from tenuki.envs.go.playout import playouts

    weights = args.weights or (str(DEFAULT_WEIGHTS) if DEFAULT_WEIGHTS.with_suffix(".json").is_file() else None)
    policy = RolloutPolicy.load(weights) if weights else RolloutPolicy.zeros()
    n = 19
    board = Board(n, komi=7.5)
    st = board.state  # read-only: RolloutPolicy.playouts gets a board's view wherever it is called
    scratch = board.state.copy()  # writable: the light playouts' kernel type (flat-mc's scratch states)
    max_moves = 3 * n * n
    out = np.zeros(args.batch, np.int64)
    t_compile = time.perf_counter()
    policy.playouts(st, args.seed, 1, max_moves, out)  # warm-up: numba cache load or compile
    first_call_s = time.perf_counter() - t_compile
    playouts(scratch, args.seed, 1, max_moves, out)
    counter = [args.seed]

    def rollout_batch() -> int:  # moves of args.batch playouts
        counter[0] += 1
        return policy.playouts(st, counter[0], args.batch, max_moves, out)

    def random_batch() -> int:
        counter[0] += 1
        return playouts(scratch, counter[0], args.batch, max_moves, out)

    totals = interleaved({"rollout": rollout_batch, "random": random_batch}, args.seconds, args.rounds)
    rollout_rate, random_rate = totals["rollout"].rate, totals["random"].rate

    # From-scratch extraction: every candidate's features on positions sampled along real rollouts.
    ws = Workspace.new(n)
    positions = []
    probe = Board(n, komi=7.5, ko_rule="simple")
    rng = np.random.default_rng(args.seed)
    for k in range(240):
        if k % 8 == 0:
            positions.append(probe.state.copy())
        action = policy.sample(probe, seed=int(rng.integers(1 << 30)))
        probe.play(action)
        if probe.is_game_over:
            break
    candidates = 0
    reps = 20
    t = time.perf_counter()
    for _ in range(reps):
        for s in positions:
            candidates += candidate_features(s, int(s[3]), int(max(s[12], 0)), 0, policy.hash_seed, policy.mask,
                                             *ws.args())
    extract_s = time.perf_counter() - t
    per_position_us = extract_s / (reps * len(positions)) * 1e6

    accuracy = None
    accuracy_positions = 0
    if weights and args.accuracy_games > 0 and (policy.meta.get("sources") or policy.meta.get("data")):
        try:
            games = held_out_games(policy.meta, args.accuracy_games)
        except (OSError, ValueError) as error:
            print(f"bench.rollout_policy: no accuracy: {error}", file=sys.stderr)
            games = []
        if games:
            check = run_games(policy, games, update=False)
            accuracy, accuracy_positions = round(check["accuracy"], 4), check["positions"]

    result = {
        "benchmark": "rollout_policy",
        "size": n,
        "work_unit": "playout from the empty board to two passes or 3*N*N moves, one thread",
        "weights": weights,
        "table_bits": policy.table_bits,
        "rollout_moves_per_s": round(rollout_rate, 1),
        "rollout_us_per_move": round(1e6 / rollout_rate, 3),
        "rollout_moves_per_playout": round(totals["rollout"].units / max(totals["rollout"].calls * args.batch, 1), 1),
        "random_playout_moves_per_s": round(random_rate, 1),
        "random_moves_per_playout": round(totals["random"].units / max(totals["random"].calls * args.batch, 1), 1),
        "rollout_vs_random_speed": round(rollout_rate / random_rate, 4),
        "alphago_us_per_move": 2.0,
        "feature_extraction_us_per_position": round(per_position_us, 2),
        "feature_extraction_ns_per_candidate": round(extract_s / max(candidates, 1) * 1e9, 1),
        "candidates_per_position": round(candidates / (reps * len(positions)), 1),
        "accuracy": accuracy,
        "accuracy_positions": accuracy_positions,
        "accuracy_games": args.accuracy_games if accuracy is not None else 0,
        "trained_val_accuracy": policy.meta.get("val_accuracy"),
        "alphago_accuracy": 0.242,
        "first_call_s": round(first_call_s, 3),
    }
    return print_result(result, t0)


if __name__ == "__main__":
    main()
