"""Benchmark: the AlphaGo pipeline's throughput on this machine, one JSON object.

    python -m bench.alphago --json [--data TENUKI_DATA] [--seconds 10]

- ``features_positions_per_s``: the 48 AlphaGo feature planes (ladders included) of positions
  replayed from real Tom games; ``az17_positions_per_s`` is the 17-plane AlphaZero input of the
  same positions, measured in the same run (the ratio says what the richer features cost).
- ``stream_positions_per_s``: the training loader end to end (shards -> replay -> 48 planes ->
  shuffle buffer -> random symmetry -> batches).
- ``train_samples_per_s_small`` / ``train_samples_per_s_192``: supervised policy training steps on
  the CPU (``SLTrainer.train_step``: forward, legal-move mask, cross-entropy, backward, SGD) for the
  small network of configs/sl/policy19.yaml (6 layers x 64 filters) and AlphaGo's match network
  (13 x 192), float32, batch 64, all cores; ``train_samples_per_s_as_configured``: the training step
  of each CPU config of configs/sl/ (policy19: 6 x 64, policy19-cpu: 13 x 128, policy19-cpu96:
  13 x 96) with its own batch, bfloat16 autocast where the CPU has it, and channels-last, i.e. what
  ``tenuki train sl-policy`` runs without the loader (``train_samples_per_s_small_as_configured``:
  the policy19 entry).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _positions(data: Path, games: int) -> list:
    from tenuki.envs.go.sgf_archives import iter_games

    boards = []
    for record in iter_games(data / "go" / "tom9d.tar.gz", errors="skip", every=997):
        for i, (board, _, _) in enumerate(record.positions(ko_rule="simple")):
            if i % 3 == 0:
                boards.append(board.copy())
        games -= 1
        if games == 0:
            break
    return boards


def bench_features(boards: list, seconds: float) -> tuple[float, float]:
    from tenuki.agents.go.features import alphago_planes
    from tenuki.envs.go.features import board_planes

    out = np.zeros((48, 19, 19), np.uint8)
    alphago_planes(boards[0], out=out)

    def rate(fn) -> float:
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 2:
            for board in boards:
                fn(board)
            done += len(boards)
        return done / (time.perf_counter() - start)

    return rate(lambda b: alphago_planes(b, out=out)), rate(board_planes)


def bench_stream(data: Path, seconds: float) -> float:
    from tenuki.agents.go.dataset import PositionStream, build_dataset
    from tenuki.agents.go.features import feature_fn

    with tempfile.TemporaryDirectory() as folder:
        build_dataset([data / "go" / "tom9d.tar.gz"], folder, val_fraction=0.0, max_games=60, progress=False)
        stream = PositionStream(folder, "train", feature_fn(), batch_size=64, shuffle_buffer=4096, seed=0)
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for batch in stream:
                done += batch.actions.shape[0]
                if time.perf_counter() - start >= seconds:
                    break
        return done / (time.perf_counter() - start)


def bench_training(filters: int, layers: int, seconds: float, batch: int = 64, precision: str = "float32",
                   channels_last: bool = False) -> float:
    """Samples/s of ``SLTrainer.train_step`` on random planes (no data loading)."""
    from tenuki.agents.go.sl import SLTrainer, sl_config_from_dict

    config = sl_config_from_dict({
        "network": {"filters": filters, "layers": layers},
        "optim": {"optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9, "batch_size": batch},
        "train": {"precision": precision, "channels_last": channels_last},
    })
    with tempfile.TemporaryDirectory() as folder:
        trainer = SLTrainer(config, run_dir=folder)
        rng = np.random.default_rng(0)
        planes = rng.integers(0, 2, (batch, 48, 19, 19), dtype=np.uint8)
        actions = rng.integers(0, 361, batch)
        trainer.train_step(planes, actions)
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds or done == 0:
            trainer.train_step(planes, actions)
            done += batch
        return done / (time.perf_counter() - start)


CPU_CONFIGS = ("policy19", "policy19-cpu", "policy19-cpu96")  # the SL configs meant for this CPU


def _as_configured(name: str, seconds: float) -> tuple[float, dict]:
    """The training step of ``configs/sl/NAME.yaml`` with its network, batch, precision and layout."""
    from tenuki.agents.go.sl import load_sl_config
    from tenuki.common.config_files import resolve_config

    config = load_sl_config(resolve_config(name, "sl"))
    precision = config.train.precision
    if precision == "bfloat16" and not _has_bf16():
        precision = "float32"
    settings = {"filters": config.network.filters, "layers": config.network.layers, "batch": config.optim.batch_size,
                "precision": precision, "channels_last": config.train.channels_last}
    rate = bench_training(seconds=seconds, **settings)
    return rate, settings


def _has_bf16() -> bool:
    try:
        return "avx512_bf16" in Path("/proc/cpuinfo").read_text() or "amx_bf16" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("TENUKI_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data")))
    parser.add_argument("--seconds", type=float, default=10.0, help="time for each measurement")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads for training")
    parser.add_argument("--json", action="store_true", help="print ONE JSON object")
    args = parser.parse_args(argv)
    from tenuki.agents.torch_cpu import configure_torch_cpu

    configure_torch_cpu(args.threads)  # as `tenuki train sl-policy` does (threads, denormals, malloc)
    data = Path(args.data)
    boards = _positions(data, games=8)
    features, az17 = bench_features(boards, args.seconds)
    configured = {name: _as_configured(name, args.seconds) for name in CPU_CONFIGS}
    result = {
        "features_positions_per_s": round(features, 1),
        "az17_positions_per_s": round(az17, 1),
        "stream_positions_per_s": round(bench_stream(data, args.seconds), 1),
        "train_samples_per_s_small": round(bench_training(64, 6, args.seconds), 1),
        "train_samples_per_s_192": round(bench_training(192, 13, args.seconds), 1),
        "train_samples_per_s_small_as_configured": round(configured["policy19"][0], 1),
        "train_samples_per_s_as_configured": {name: round(rate, 1) for name, (rate, _) in configured.items()},
        "as_configured": {name: settings for name, (_, settings) in configured.items()},
        "positions_measured": len(boards),
        "torch_threads": args.threads,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
