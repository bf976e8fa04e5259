"""Benchmark: AlphaGo's self-play stages on 19x19, games played one at a time against the same games
played in lockstep batches (issue 28, item 4: more games per CPU-hour).

    python -m bench.alphago_selfplay [--generator value_data|policy_pool] [--batches 1,8,32]
                                     [--rounds 3] [--seconds 240]
    python -m bench.record alphago-selfplay-value-data-MACHINE -- python -m bench.alphago_selfplay   # kept as evidence

One process, one thread (torch.set_num_threads(1)), as a self-play worker runs. The networks are the
shipped ones the stages use (``configs/rl/value19.yaml``: the SL policy ``sl-policy19`` before the
random move, the RL policy ``rl-policy19`` after it; ``policy_pool``: ``rl-policy19`` against itself),
on the workers' inference path (``workers.fast_inference``). An engine is a batch size: its ``run()``
plays the next ``batch`` games with ``tenuki.selfplay.games.play_games`` (batch 1 = one game a call, the
way the workers played before batching) and returns the games played. Every engine plays the seeds
0, 1, 2, ... in order (the untimed warm-up plays others), so they play the same games up to the
network's rounding at each batch size (see ``tenuki.selfplay.alphago.games``): ``same_as_batch_1``
counts the seeds both played that ended the same (moves and result). The engines take turns in ``rounds`` slices of ``seconds / rounds``
each (``bench.common.interleaved``, the order reversed every other round); a slice ends after the
call that crosses its time, so a slice holds whole batches. ``vs_batch_1``: the median of the per-round
ratios of games per second to batch 1 (paired rounds); ``games_per_hour`` over all rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from bench.common import interleaved, print_result

CONFIG = "configs/rl/value19.yaml"


def _config(generator: str):
    from tenuki.selfplay.config import config_from_dict, load_config

    if generator == "value_data":
        return load_config(CONFIG)
    return config_from_dict({
        "game": {"size": 19, "komi": 7.5},
        "network": {"architecture": "alphago_policy", "filters": 64, "layers": 6},
        "workers": {"game_generator": "policy_pool"},
        "learner": {"loss": "reinforce"},
        "evaluator": {"every_versions": 0, "gnugo_every_versions": 0},
    })


def _engine(generator: str, config: Any, batch: int, state: dict, games: dict[int, tuple[int, str]], first_seed: int = 0):
    from tenuki.selfplay.games import GameContext, play_games

    evaluator = None
    if generator == "policy_pool":
        from tenuki.agents.go.evaluator import TorchEvaluator
        from tenuki.agents.go.networks.checkpoint import load_checkpoint
        from tenuki.selfplay.learner import evaluator_options

        model, _ = load_checkpoint("rl-policy19", architecture="alphago_policy")
        evaluator = TorchEvaluator(model, **evaluator_options(config))
    counter = [first_seed]

    def run() -> int:
        seeds = list(range(counter[0], counter[0] + batch))
        counter[0] += batch
        contexts = [GameContext(config, evaluator, version=0, state=state) for _ in seeds]
        records = play_games(generator, contexts, seeds, seeds)
        for seed, record in zip(seeds, records, strict=True):
            games[seed] = (record.moves, record.result)
        return len(records)

    return run


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generator", choices=("value_data", "policy_pool"), default="value_data")
    parser.add_argument("--batches", default="1,8,32", help="comma-separated batch sizes (1 is the baseline)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=240.0, help="seconds per engine over all rounds")
    args = parser.parse_args(argv)
    try:
        batches = sorted({int(b) for b in args.batches.split(",")} | {1})
    except ValueError:
        parser.error(f"--batches {args.batches}: expected comma-separated integers, e.g. 1,8,32")
    if min(batches) < 1:
        parser.error(f"--batches {args.batches}: batch sizes must be >= 1")
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds must be >= 1 and --seconds > 0")
    started = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    config = _config(args.generator)
    state: dict = {}  # the fixed SL / RL policies, loaded once (as a worker's cache)
    games: dict[int, dict[int, tuple[int, str]]] = {b: {} for b in batches}  # batch -> seed -> (moves, result)
    _engine(args.generator, config, 1, state, {}, first_seed=1 << 30)()  # warm-up on other seeds (not timed)
    runs = {f"batch_{b}": _engine(args.generator, config, b, state, games[b]) for b in batches}
    totals = interleaved(runs, args.seconds, args.rounds)
    base = totals["batch_1"].per_round
    engines = {}
    for b in batches:
        engine = totals[f"batch_{b}"]
        common = sorted(set(games[b]) & set(games[1]))
        engines[f"batch_{b}"] = {
            "games": engine.units, "seconds": round(engine.elapsed, 1),
            "games_per_hour": round(3600 * engine.rate, 1),
            "per_round_games_per_s": [round(r, 4) for r in engine.per_round],
            "vs_batch_1": round(statistics.median(r / b1 for r, b1 in zip(engine.per_round, base, strict=True)), 3),
            "mean_moves": round(statistics.fmean(m for m, _ in games[b].values()), 1) if games[b] else None,
            # the games (seeds) batch 1 played too: how many ended the same (moves and result)
            "same_as_batch_1": f"{sum(games[b][g] == games[1][g] for g in common)} of {len(common)}",
        }
    result = {
        "benchmark": "alphago_selfplay", "generator": args.generator, "board": 19,
        "networks": ({"sl_policy": config.workers.sl_policy, "rl_policy": config.workers.rl_policy}
                     if args.generator == "value_data" else {"policy": "rl-policy19", "opponent": "rl-policy19"}),
        "fast_inference": config.workers.fast_inference, "threads": 1, "rounds": args.rounds,
        "seconds_per_engine": args.seconds, "engines": engines,
    }
    return print_result(result, started)


if __name__ == "__main__":
    main()
