"""Benchmark: how long ``genmove`` takes for the time it is given, measured as a GUI or a referee measures
it: from writing the command to reading the answer, the first move of a game included (issue 28: never
more than the budget plus 50 ms).

    python -m bench.genmove_clock --player mcts --size 19 --seconds 2 --games 3 --moves 12
    python -m bench.genmove_clock --player alphago --size 19 --seconds 1 --clock -- --value-weights rl-value19

The engine is the real ``tenuki gtp`` process (extra arguments after ``--``); it plays both colours of
``--games`` games from the empty board (``clear_board`` between them, so each game's first move is
measured) for ``--moves`` moves each. The budget is ``--seconds-per-move`` or, with ``--clock``, GTP's own
time control (``time_settings 0 S 1`` and ``time_left`` before each move, as ``tenuki match`` sends it).

Printed: ONE JSON object: every move's seconds, the first moves' seconds, the mean, the 99th percentile
(nearest rank, as ``tenuki match`` reports it), the maximum, and the moves over the budget plus 50 ms.
The figures are absolute (no peer: the budget is the reference); run it on a machine doing nothing else.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from bench.common import print_result

MARGIN_S = 0.05  # issue 28: within the budget plus 50 ms


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else list(argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--player", default="auto", help="tenuki gtp --player (default auto)")
    parser.add_argument("--size", type=int, default=19)
    parser.add_argument("--seconds", type=float, default=1.0, help="the budget of a move (default 1)")
    parser.add_argument("--clock", action="store_true", help="give the budget by GTP time control, not "
                                                             "--seconds-per-move")
    parser.add_argument("--games", type=int, default=3)
    parser.add_argument("--moves", type=int, default=10, help="moves a game (both colours)")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.games < 1 or args.moves < 1 or not 2 <= args.size <= 19:
        parser.error("--seconds must be > 0, --games and --moves >= 1, --size in 2..19")
    from tenuki.play.gtp_client import GTPClient, GTPEngineError
    from tenuki.play.match_stats import percentile

    command = [sys.executable, "-m", "tenuki", "gtp", "--player", args.player, "--size", str(args.size), *extra]
    if not args.clock:
        command += ["--seconds-per-move", f"{args.seconds:g}"]
    started = time.perf_counter()
    times: list[float] = []
    first: list[float] = []
    try:
        with GTPClient(command, timeout=120) as engine:
            engine.send("boardsize", args.size)
            if args.clock:
                engine.send("time_settings", 0, f"{args.seconds:g}", 1)
            for _ in range(args.games):
                engine.send("clear_board")
                for number in range(args.moves):
                    color = "bw"[number % 2]
                    if args.clock:
                        engine.send("time_left", color, f"{args.seconds:g}", 1)
                    began = time.perf_counter()
                    move = engine.send("genmove", color, timeout=args.seconds + 60)
                    times.append(time.perf_counter() - began)
                    if number == 0:
                        first.append(times[-1])
                    if move.lower() == "resign":
                        break
    except GTPEngineError as error:
        raise SystemExit(f"bench.genmove_clock: the engine failed: {error}") from None
    result = {
        "benchmark": "genmove_clock", "command": " ".join(["tenuki", *command[3:]]), "budget_s": args.seconds,
        "clock": "time_settings" if args.clock else "seconds-per-move", "games": args.games, "moves": len(times),
        "mean_s": round(statistics.fmean(times), 3), "p99_s": round(percentile(times, 99.0), 3),
        "max_s": round(max(times), 3), "first_moves_s": [round(t, 3) for t in first],
        "over_budget_plus_50ms": sum(t > args.seconds + MARGIN_S for t in times),
        "seconds": [round(t, 3) for t in times],
    }
    return print_result(result, started)


if __name__ == "__main__":
    main()
