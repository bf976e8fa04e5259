"""Benchmark: self-play throughput on Ray, one worker against two in the same run.

    python -m bench.selfplay --json [--config go9x9] [--seconds 60]

Both phases use the same config, the same fixed weights (a seeded random network, or
``--weights``) and the same game seeds, so they play the same games: the ratio
``scaling_2_vs_1`` = games_per_hour_2_workers / games_per_hour_1_worker is the parallel speed-up
(target: >= 1.8 on a 2-core machine). A phase plays games back to back (two calls queued per
worker) for ``--seconds``; games per hour counts the games finished up to the last one's end.

- ``positions_per_s``: training positions (full searches) recorded per second with 2 workers;
- ``learner_samples_per_s``: samples the learner trains on per second (alone, its configured
  threads, batches sampled from a replay store filled with the phases' games).

``--compare-inference``: instead, two phases of two workers each, the workers' network on torch's fast
path (``workers.inference: torch``) then on OpenVINO (``auto``), same weights and game seeds;
``inference_ratio`` = games_per_hour_openvino / games_per_hour_torch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time


def play_phase(config, workers: int, seconds: float, weights_ref, records_out: list) -> dict:
    import ray

    from tenuki.selfplay.actors import SelfPlayWorker

    actors = [SelfPlayWorker.options(num_cpus=1).remote(config, i) for i in range(workers)]
    ray.get([a.warm_up.remote() for a in actors])
    next_id = 0
    inflight = {}
    start = time.perf_counter()
    finished_at = start
    games = positions = moves = 0

    def submit(index: int) -> None:
        nonlocal next_id
        ref = actors[index].play.remote(0, [weights_ref], [next_id], [1000 + next_id], 0.0)
        inflight[ref] = index
        next_id += 1

    for index in range(workers):
        submit(index)
        submit(index)
    while time.perf_counter() - start < seconds:
        ready, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0)
        for ref in ready:
            index = inflight.pop(ref)
            for record in ray.get(ref):
                games += 1
                positions += record.num_samples
                moves += record.moves
                records_out.append(record)
            finished_at = time.perf_counter()
            submit(index)
    for actor in actors:
        ray.kill(actor)
    elapsed = max(finished_at - start, 1e-9)
    return {"games": games, "seconds": round(elapsed, 2), "games_per_hour": games / elapsed * 3600,
            "positions_per_s": positions / elapsed, "moves_per_game": moves / max(games, 1)}


def learner_speed(config, records: list, steps: int) -> float:
    import torch

    from tenuki.selfplay.games import sample_fields
    from tenuki.selfplay.learner import LearnerCore
    from tenuki.selfplay.replay import ReplayStore

    torch.set_num_threads(config.learner.torch_threads)
    store = ReplayStore(sample_fields(config), 100_000, 1_000, board_size=config.game.size)
    for index, record in enumerate(records):  # both phases played the same game ids: number them afresh
        store.add(index, record.samples)
    if len(store) == 0:
        return float("nan")
    core = LearnerCore(config)
    batch = config.learner.batch_size

    def batches():
        while True:
            yield store.sample(batch)

    core.train(batches(), 2)  # warm-up
    start = time.perf_counter()
    core.train(batches(), steps)
    return steps * batch / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.selfplay", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="go9x9",
                        help="a shipped selfplay config by name or a YAML file (default go9x9)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds a phase (default 60)")
    parser.add_argument("--weights", default=None, help="a checkpoint to play with (default: a seeded random network)")
    parser.add_argument("--learner-steps", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--compare-inference", action="store_true",
                        help="two 2-worker phases: workers.inference torch, then auto (OpenVINO where installed)")
    args = parser.parse_args(argv)

    import ray
    import torch

    from tenuki.common.config_files import resolve_config
    from tenuki.selfplay.config import load_config
    from tenuki.selfplay.learner import build_model, state_dict_to_numpy

    config = load_config(resolve_config(args.config, "selfplay"))
    if args.weights:
        from tenuki.agents.go.networks.checkpoint import load_checkpoint

        model, _ = load_checkpoint(args.weights)
    else:
        torch.manual_seed(0)
        model = build_model(config)
    weights = state_dict_to_numpy(model)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    weights_ref = ray.put(weights)
    records: list = []
    if args.compare_inference:
        import dataclasses

        phases = {}
        for backend in ("torch", "auto"):
            variant = dataclasses.replace(config, workers=dataclasses.replace(config.workers, inference=backend))
            phases[backend] = play_phase(variant, 2, args.seconds, weights_ref, records)
        ray.shutdown()
        torch_gph, ov_gph = phases["torch"]["games_per_hour"], phases["auto"]["games_per_hour"]
        result = {
            "benchmark": "selfplay-inference", "config": args.config, "weights": args.weights or "random (seed 0)",
            "network": f"{config.network.blocks}x{config.network.channels}", "seconds_per_phase": args.seconds,
            "workers": 2,
            "games_per_hour_torch": round(torch_gph, 1), "games_per_hour_openvino": round(ov_gph, 1),
            "inference_ratio": round(ov_gph / max(torch_gph, 1e-9), 3),
            "positions_per_s_torch": round(phases["torch"]["positions_per_s"], 2),
            "positions_per_s_openvino": round(phases["auto"]["positions_per_s"], 2),
            "games": {k: v["games"] for k, v in phases.items()},
            "moves_per_game": {k: round(v["moves_per_game"], 1) for k, v in phases.items()},
            "load_average": list(os.getloadavg()),
        }
        print(json.dumps(result) if args.json else json.dumps(result, indent=1))
        return 0
    one = play_phase(config, 1, args.seconds, weights_ref, records)
    two = play_phase(config, 2, args.seconds, weights_ref, records)
    ray.shutdown()
    learner = learner_speed(config, records, args.learner_steps)
    result = {
        "benchmark": "selfplay",
        "config": args.config,
        "board_size": config.game.size,
        "network": f"{config.network.blocks}x{config.network.channels}",
        "visits": config.search.visits, "cap_visits": config.search.cap_visits,
        "full_probability": config.search.full_probability,
        "weights": args.weights or "random (seed 0)",
        "seconds_per_phase": args.seconds,
        "games_per_hour_1_worker": round(one["games_per_hour"], 1),
        "games_per_hour_2_workers": round(two["games_per_hour"], 1),
        "scaling_2_vs_1": round(two["games_per_hour"] / max(one["games_per_hour"], 1e-9), 3),
        "games_1_worker": one["games"], "games_2_workers": two["games"],
        "moves_per_game": round(two["moves_per_game"], 1),
        "positions_per_s": round(two["positions_per_s"], 2),
        "learner_samples_per_s": round(learner, 1),
        "learner_batch": config.learner.batch_size,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
                    "ray": ray.__version__},
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
