"""Benchmark: the dead-stone estimate at the end of real 19x19 games, light playouts against the
learned rollout policy, each count checked against GNU Go's (issue 28: tenuki's own count named the
wrong winner in 4 of the 9 counted games of the default's match against GNU Go).

    python -m bench.dead_stones [--games GLOB ...] [--playouts 1000] [--limit N]
    python -m bench.record dead-stones -- python -m bench.dead_stones   # kept as evidence

The games: every SGF under ``docs/strength/alphago19/`` (the gauntlet, the default's 40-game match and
the selection round robin) that ended with two passes (a resigned or forfeited game has no count).
For each final position:

- ``gnugo``: GNU Go 3.8's ``final_score`` (``gnugo --mode gtp --chinese-rules``, the moves given with
  ``play``, the game's komi): the reference, GNU Go reads life and death and capturing races;
- ``light`` and ``rollout``: ``tenuki.play.dead_stones`` with light playouts and with the shipped
  ``rollout19`` policy, ``--playouts`` each, seed 0; the count is the board's area score after
  removing the stones judged dead (what tenuki's ``final_score`` answers).

Reported per estimator: the games where it names GNU Go's winner (``same_winner``) and GNU Go's exact
result (``same_result``), the games where it names another winner (listed), and the seconds per
estimate (mean over the games; both estimators timed in the same run, one after the other on each
position, so the ratio is what counts).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import time
from typing import Any

from bench.common import print_result

DEFAULT_GAMES = ("docs/strength/alphago19/sgf/*/*.sgf", "docs/strength/alphago19/default-vs-gnugo10-40/sgf/*.sgf",
                 "docs/strength/alphago19/default-selection/sgf/*/*.sgf")
GNUGO = "/usr/games/gnugo"


def _winner(result: str) -> str:
    return "0" if result == "0" else result[0]


def _gnugo_count(client: Any, board: Any) -> str:
    from tenuki.envs.go.coords import to_gtp

    client.send("boardsize", board.size)
    client.send("clear_board")
    client.send("komi", board.komi)  # the game's (KM of the SGF)
    for colour, action in board.moves:
        client.send("play", "black" if colour == 1 else "white", to_gtp(action, board.size))
    return client.send("final_score", timeout=120).strip()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", nargs="+", default=list(DEFAULT_GAMES), help="SGF globs")
    parser.add_argument("--playouts", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=0, help="judge at most this many games (0: all)")
    args = parser.parse_args(argv)
    if args.playouts < 1 or args.limit < 0:
        parser.error("--playouts must be >= 1 and --limit >= 0")
    started = time.perf_counter()
    from tenuki.envs.go.board import Board
    from tenuki.envs.go.sgf import read_sgf
    from tenuki.play.dead_stones import dead_stones, estimate_ownership, playout_policy
    from tenuki.play.gtp_client import GTPClient

    gnugo = shutil.which("gnugo") or GNUGO
    if not os.access(gnugo, os.X_OK):
        raise SystemExit(f"GNU Go not found (looked on PATH and at {GNUGO}): apt-get install gnugo, or make gnugo")
    rollout = playout_policy(19)
    if rollout == "light":
        raise SystemExit("no rollout policy is shipped for 19x19")
    estimators = {"light": "light", "rollout": rollout}
    warm = Board(19, komi=7.5)
    for policy in estimators.values():  # compile / load outside the timing
        estimate_ownership(warm, 2, 0, policy=policy)
    files = sorted({f for pattern in args.games for f in glob.glob(pattern)})
    rows = []
    with GTPClient([gnugo, "--mode", "gtp", "--chinese-rules"], timeout=60) as client:
        for path in files:
            with open(path, encoding="utf-8") as handle:
                record = read_sgf(handle.read())
            if record.size != 19 or record.setup_black or record.setup_white or record.setups:
                continue  # 19x19 games from the empty board only
            board = Board(19, komi=record.komi)
            for _, action in record.moves:
                board.play(action)
            if not board.is_game_over:
                continue
            row: dict[str, Any] = {"game": path, "recorded": record.result, "gnugo": _gnugo_count(client, board)}
            for name, policy in estimators.items():
                start = time.perf_counter()
                estimate = estimate_ownership(board, args.playouts, 0, policy=policy)
                row[f"{name}_seconds"] = time.perf_counter() - start
                row[name] = board.score("area", dead=dead_stones(board, estimate)).result
            rows.append(row)
            if args.limit and len(rows) >= args.limit:
                break
    result: dict[str, Any] = {"benchmark": "dead_stones", "board": 19, "komi": "each game's KM", "playouts": args.playouts,
                              "reference": "GNU Go 3.8 final_score (--chinese-rules)", "games": len(rows),
                              "estimators": {}}
    for name in estimators:
        other = [r for r in rows if _winner(r[name]) != _winner(r["gnugo"])]
        result["estimators"][name] = {
            "same_winner": len(rows) - len(other),
            "same_result": sum(r[name] == r["gnugo"] for r in rows),
            "seconds_per_estimate": round(sum(r[f"{name}_seconds"] for r in rows) / max(len(rows), 1), 3),
            "other_winner": [{"game": r["game"], "gnugo": r["gnugo"], name: r[name]} for r in other],
        }
    if rows:
        result["rollout_seconds_vs_light"] = round(result["estimators"]["rollout"]["seconds_per_estimate"]
                                                   / max(result["estimators"]["light"]["seconds_per_estimate"], 1e-9), 2)
    result["recorded_vs_gnugo"] = {"same_result": sum(r["recorded"] == r["gnugo"] for r in rows)}
    return print_result(result, started)


if __name__ == "__main__":
    main()
