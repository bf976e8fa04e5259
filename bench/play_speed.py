"""Simulations a second of the default 9x9 player (``auto``: az-mcts with the shipped net) at play time, for
each inference backend and thread count, measured in the same run in alternating rounds.

    python -m bench.play_speed --rounds 4 --seconds 0.5          # one JSON object on stdout

Each round gives every configuration the same positions (the first moves of a game the player plays against
itself from a balanced opening), one timed ``genmove`` each, a fresh player per round (no tree kept between
configurations; tree reuse within the round as in a game). Reported: the median over rounds of simulations a
second, and each configuration's ratio to ``torch, 1 thread`` (the path play used before OpenVINO).
Configurations: ``torch`` (``TorchEvaluator`` with ``fast_cpu_options``) and ``openvino`` (bfloat16) at 1 and
2 threads (torch's intra-op threads / OpenVINO's inference threads; the search itself is one thread).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch

from tenuki.envs.go.board import Board
from tenuki.envs.go.coords import from_gtp

CONFIGS = (("torch", 1), ("openvino", 1), ("torch", 2), ("openvino", 2))
OPENING = ("E5", "G7")  # the first of configs/openings/9x9.txt


def _player(backend: str, threads: int):
    from tenuki.play.registry import make

    os.environ["TENUKI_INFERENCE"] = backend
    torch.set_num_threads(threads)
    return make("auto", 9, threads=threads)


def _round(backend: str, threads: int, moves: int, seconds: float) -> float:
    player = _player(backend, threads)
    board = Board(9, komi=7.0)
    for vertex in OPENING:
        board.play(from_gtp(vertex, 9))
    player.genmove(board, visits=64)  # warm: kernels and the network's first calls
    player.notify_played(-1)  # nothing kept from the warm-up (a non-move resets the tree)
    simulations, spent = 0, 0.0
    for _ in range(moves):
        started = time.perf_counter()
        move = player.genmove(board, seconds=seconds)
        spent += time.perf_counter() - started
        simulations += move.result.simulations
        if move.resigned:
            break
        board.play(move.action)
        player.notify_played(move.action)
    return simulations / spent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.play_speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--moves", type=int, default=8, help="timed moves per round and configuration")
    parser.add_argument("--seconds", type=float, default=0.5, help="time of each move")
    parser.add_argument("--note", default="", help="a remark stored in the JSON (e.g. what else ran)")
    args = parser.parse_args(argv)
    rates: dict[str, list[float]] = {f"{b}-{t}": [] for b, t in CONFIGS}
    for _ in range(args.rounds):
        for backend, threads in CONFIGS:
            rates[f"{backend}-{threads}"].append(_round(backend, threads, args.moves, args.seconds))
    base = statistics.median(rates["torch-1"])
    out = {
        "bench": "play_speed", "size": 9, "player": "auto (az-mcts, shipped net)", "rounds": args.rounds,
        "moves_per_round": args.moves, "seconds_per_move": args.seconds, "note": args.note,
        "cpu_count": os.cpu_count(), "load_average": list(os.getloadavg()),
        "simulations_per_second": {k: round(statistics.median(v), 1) for k, v in rates.items()},
        "ratio_to_torch_1_thread": {k: round(statistics.median(v) / base, 3) for k, v in rates.items()},
        "per_round": {k: [round(x, 1) for x in v] for k, v in rates.items()},
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
