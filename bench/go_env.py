"""Benchmark: random-play steps/s of tenuki's Go engine against OpenSpiel and PettingZoo, and
light playouts/s of the compiled playout kernel.

    python -m bench.go_env --size 9 --seconds 10 --json

The steps work unit is the same for every engine: from an empty board pick a uniformly random
legal action (pass included) through the engine's Python API, play it, until two passes end the
game or 2*N*N moves are played, then reset. One process, one core. Engines are measured in
alternating slices of the same run, so the ratios are what matters, not the absolute figures.
"""

from __future__ import annotations

import argparse
import random
import time

from bench.common import interleaved, print_result


def bench_tenuki(size: int, seed: int):
    from tenuki.envs.go.board import Board

    rng = random.Random(seed)
    choice = rng.choice
    cap = 2 * size * size

    def game() -> int:
        board = Board(size, komi=7.5)
        legal_moves, play = board.legal_moves, board.play
        steps = 0
        while not board.is_game_over and steps < cap:
            play(choice(legal_moves()))
            steps += 1
        return steps

    game()  # warm-up: loads the numba cache
    return game


def bench_open_spiel(size: int, seed: int):
    try:
        import pyspiel
    except ImportError:
        return None
    rng = random.Random(seed)
    choice = rng.choice
    spiel_game = pyspiel.load_game("go", {"board_size": size, "komi": 7.5, "max_game_length": 2 * size * size})
    cap = 2 * size * size

    def game() -> int:
        state = spiel_game.new_initial_state()
        steps = 0
        while not state.is_terminal() and steps < cap:
            state.apply_action(choice(state.legal_actions()))
            steps += 1
        return steps

    game()
    return game


def bench_pettingzoo(size: int, seed: int):
    try:
        from pettingzoo.classic import go_v5
    except ImportError:
        return None
    import numpy as np

    rng = random.Random(seed)
    env = go_v5.env(board_size=size, komi=7.5)
    cap = 2 * size * size

    def game() -> int:
        env.reset(seed=rng.randrange(1 << 30))
        steps = 0
        for agent in env.agent_iter():
            _, _, termination, truncation, _ = env.last()
            if termination or truncation or steps >= cap:
                break
            mask = env.observe(agent)["action_mask"]
            env.step(rng.choice(np.flatnonzero(mask)))
            steps += 1
        return steps

    game()
    return game


def bench_playouts(size: int, seconds: float, seed: int) -> tuple[float, float]:
    """Light playouts/s from an empty board (compiled kernel, batches of 256), and moves/playout."""
    import numpy as np

    from tenuki.envs.go.board import Board
    from tenuki.envs.go.playout import playouts

    board = Board(size, komi=7.5)
    out = np.zeros(256, np.int64)
    max_moves = 3 * size * size
    st = board.state.copy()  # the kernel's compiled type (writable), as flat-mc's playouts use it
    playouts(st, seed, 4, max_moves, out)  # warm-up / cache load
    count = moves = 0
    start = time.perf_counter()
    while True:
        moves += playouts(st, seed + count, out.shape[0], max_moves, out)
        count += out.shape[0]
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed, moves / count


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.go_env", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=9, help="board size (default 9)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per engine (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=10,
                        help="alternating slices per engine, so all see the same load (default 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    games = {"tenuki": bench_tenuki(args.size, args.seed)}
    for name, make in (("open_spiel", bench_open_spiel), ("pettingzoo", bench_pettingzoo)):
        game = make(args.size, args.seed)
        if game is not None:
            games[name] = game
    rates = {name: engine.rate for name, engine in interleaved(games, args.seconds, args.rounds).items()}
    tenuki, spiel, pz = rates["tenuki"], rates.get("open_spiel"), rates.get("pettingzoo")
    playouts_per_s, moves_per_playout = bench_playouts(args.size, args.seconds, args.seed)
    result = {
        "benchmark": "go_env",
        "size": args.size,
        "seconds_per_engine": args.seconds,
        "rounds": args.rounds,
        "work_unit": "uniform random legal action (pass included) through the Python API, "
        "game ends at two passes or 2*N*N moves",
        "tenuki_steps_per_s": round(tenuki, 1),
        "open_spiel_steps_per_s": None if spiel is None else round(spiel, 1),
        "pettingzoo_steps_per_s": None if pz is None else round(pz, 1),
        "tenuki_vs_open_spiel": None if spiel is None else round(tenuki / spiel, 3),
        "tenuki_vs_pettingzoo": None if pz is None else round(tenuki / pz, 3),
        "playouts_per_s": round(playouts_per_s, 1),
        "moves_per_playout": round(moves_per_playout, 1),
    }
    return print_result(result, t0)


if __name__ == "__main__":
    main()
