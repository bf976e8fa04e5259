"""Benchmark: simulations/s of tenuki's searches, with OpenSpiel's MCTSBot measured in the same run.

    python -m bench.mcts --size 9 --json

- ``tree_sims_per_s``: PUCT with a trivial uniform evaluator (board updates, legality masks,
  planes and backups included; batch 16), from the empty board.
- ``rollout_sims_per_s``: UCT whose leaf value is one rollout uniformly random over legal moves
  including pass, capped at 2*N*N game moves; ``open_spiel_rollout_sims_per_s`` is OpenSpiel's
  MCTSBot with RandomRolloutEvaluator(n_rollouts=1) on its Go game: the same work. The two are timed
  in alternating slices (``bench.common.interleaved``, ``ROUNDS`` rounds), so a change of background
  load between slices favours neither; ``rollout_vs_open_spiel`` is the ratio of their totals.
- ``nn_sims_per_s`` / ``nn_time_share``: PUCT with a 6-block x 64-channel AlphaZero network on the
  CPU (batch 16); the share of the wall time spent inside the network. ``nn_fast_*``: the same with
  the evaluator the players use (``fast_cpu_options``: batch norm folded, NHWC, bfloat16 autocast
  where the CPU has it), and ``nn_fast_vs_plain`` the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.common import interleaved, print_result, timed_until

ROUNDS = 4  # alternating slices of the rollout comparison


def _timed(run, seconds: float) -> float:
    """Calls of ``run()`` (returns simulations done) until ``seconds``: simulations per second."""
    timed = timed_until(run, seconds)
    return timed.units / timed.elapsed


def bench_tree(size: int, seconds: float, sims_per_search: int) -> float:
    from tenuki.envs.go.board import Board
    from tenuki.search.mcts import MCTS, MCTSConfig, uniform_evaluator

    board = Board(size)
    searcher = MCTS(uniform_evaluator(size), MCTSConfig(num_simulations=sims_per_search, batch_size=16))
    searcher.run(board, 64)  # warm-up: loads the compiled kernels

    def run() -> int:
        return int(searcher.run(board).visits.sum()) + 1

    return _timed(run, seconds)


def rollout_runner(size: int, sims_per_search: int):
    """One UCT search with uniform rollouts per call (returns the simulations done), compiled and warm."""
    from tenuki.envs.go.board import Board
    from tenuki.search.uct import uct_run

    board = Board(size)
    uct_run(board, 16, rollout="uniform")
    seed = [0]

    def run() -> int:
        seed[0] += 1
        return int(uct_run(board, sims_per_search, c_uct=2.0, rollout="uniform", seed=seed[0]).visits.sum())

    return run


def open_spiel_runner(size: int, sims_per_search: int):
    """OpenSpiel's MCTSBot search per call (returns the simulations done); None without OpenSpiel."""
    try:
        import pyspiel
        from open_spiel.python.algorithms import mcts
    except ImportError:
        return None
    game = pyspiel.load_game("go", {"board_size": size, "komi": 7.5, "max_game_length": 2 * size * size})
    rng = np.random.RandomState(0)
    bot = mcts.MCTSBot(game, uct_c=2.0, max_simulations=sims_per_search,
                       evaluator=mcts.RandomRolloutEvaluator(n_rollouts=1, random_state=rng),
                       solve=False, random_state=rng)
    state = game.new_initial_state()

    def run() -> int:
        bot.mcts_search(state)
        return sims_per_search

    return run


def bench_network(size: int, seconds: float, sims_per_search: int, blocks: int, channels: int,
                  fast: bool = False) -> tuple[float, float]:
    import torch

    from tenuki.agents.go.evaluator import TorchEvaluator, fast_cpu_options
    from tenuki.agents.go.networks.resnet import AlphaZeroNet
    from tenuki.envs.go.board import Board
    from tenuki.search.mcts import MCTS, MCTSConfig

    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = AlphaZeroNet(size, blocks=blocks, channels=channels)
    evaluator = TorchEvaluator(net, **(fast_cpu_options() if fast else {}))
    spent = [0.0]

    def timed_evaluator(planes: np.ndarray):
        start = time.perf_counter()
        out = evaluator(planes)
        spent[0] += time.perf_counter() - start
        return out

    searcher = MCTS(timed_evaluator, MCTSConfig(num_simulations=sims_per_search, batch_size=16))
    board = Board(size)
    searcher.run(board, 32)
    spent[0] = 0.0
    start = time.perf_counter()
    rate = _timed(lambda: int(searcher.run(board).visits.sum()) + 1, seconds)
    return rate, spent[0] / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.mcts", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=9, help="board size (default 9)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per measurement (default 5)")
    parser.add_argument("--sims", type=int, default=800, help="simulations per search (default 800)")
    parser.add_argument("--blocks", type=int, default=6, help="residual blocks of the network (default 6)")
    parser.add_argument("--channels", type=int, default=64, help="channels of the network (default 64)")
    parser.add_argument("--skip-network", action="store_true", help="leave out the network measurement")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    result: dict = {"benchmark": "mcts", "size": args.size, "sims_per_search": args.sims}
    result["tree_sims_per_s"] = round(bench_tree(args.size, args.seconds, args.sims), 1)
    runs = {"tenuki": rollout_runner(args.size, args.sims)}
    spiel_run = open_spiel_runner(args.size, max(args.sims // 8, 16))
    if spiel_run is not None:
        runs["open_spiel"] = spiel_run
    totals = interleaved(runs, args.seconds, ROUNDS)
    ours = totals["tenuki"].rate
    spiel = totals["open_spiel"].rate if "open_spiel" in totals else None
    result["rounds"] = ROUNDS
    result["rollout_sims_per_s"] = round(ours, 1)
    result["open_spiel_rollout_sims_per_s"] = None if spiel is None else round(spiel, 1)
    result["rollout_vs_open_spiel"] = None if spiel is None else round(ours / spiel, 2)
    if not args.skip_network:
        rate, share = bench_network(args.size, args.seconds, args.sims, args.blocks, args.channels)
        result["nn_sims_per_s"] = round(rate, 1)
        result["nn_time_share"] = round(share, 3)
        fast_rate, fast_share = bench_network(args.size, args.seconds, args.sims, args.blocks, args.channels, fast=True)
        result["nn_fast_sims_per_s"] = round(fast_rate, 1)  # the evaluator of play: fused, NHWC, bfloat16 if native
        result["nn_fast_time_share"] = round(fast_share, 3)
        result["nn_fast_vs_plain"] = round(fast_rate / rate, 2)
        from tenuki.agents.go.evaluator import fast_cpu_options

        result["nn_fast_options"] = fast_cpu_options()
        result["network"] = f"AlphaZeroNet {args.blocks}x{args.channels}, CPU, batch 16, 1 thread"
    return print_result(result, t0)


if __name__ == "__main__":
    main()
