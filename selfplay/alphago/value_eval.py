"""Train and test error of an AlphaGo value network (``tenuki eval value``).

Silver et al. (2016) report the value network's mean squared error on its training positions and
on a test set of positions from *other* self-play games (0.226 / 0.234). Here:

- **train MSE**: the positions the run trained on, read from its replay snapshot
  (``RUN_DIR/replay.npz``, the newest window of one-position-per-game samples);
- **test MSE**: positions from fresh games generated exactly as the training data (the run's
  config: SL policy to a random move U, one random move, RL policy to the end), with seeds that no
  training game uses, played as Ray tasks (embedded local Ray by default). The test positions are
  cached in ``RUN_DIR/value-test-<games>.npz`` so a later evaluation scores the same set;
- **baselines** in the same run: ``zero`` (always predict 0: the MSE is the share of decided games,
  about 1) and ``train_mean`` (predict the training positions' mean outcome).

The outcome z is +1 / -1 for the side to move at the sampled position (0 for a drawn game).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from tenuki.common.atomic import atomic_write

log = logging.getLogger(__name__)
TEST_SEED_BASE = 1 << 62  # training games use run.seed * 1_000_003 + game_id: far below this
TEST_FORMAT = 1


class ValueEvalError(RuntimeError):
    """The run directory, its replay snapshot or the test-set cache cannot be used."""


def value_mse(model: Any, planes: np.ndarray, values: np.ndarray, batch_size: int = 256) -> float:
    """Mean squared error of ``model``'s value on ``planes`` [N, 49, n, n] against ``values`` [N]."""
    import torch

    if len(values) == 0:
        raise ValueEvalError("no positions to score")
    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(values), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(planes[start:start + batch_size], np.float32))
            _, predicted = model.evaluate(x)
            target = torch.from_numpy(np.asarray(values[start:start + batch_size], np.float32))
            total += float(((predicted.float() - target) ** 2).sum())
    return total / len(values)


def train_positions(run_dir: Path, config: Any, limit: int = 50_000) -> tuple[np.ndarray, np.ndarray]:
    """The newest ``limit`` positions of the run's replay snapshot (planes unpacked, no symmetry)."""
    from tenuki.selfplay.games import sample_fields
    from tenuki.selfplay.replay import ReplayError, ReplayStore
    from tenuki.selfplay.run_state import SNAPSHOT_FILE

    path = run_dir / SNAPSHOT_FILE
    if not path.exists():
        raise ValueEvalError(f"{path} does not exist: the run has not written a replay snapshot yet")
    store = ReplayStore(sample_fields(config), config.replay.window_max, config.replay.window_min,
                        config.replay.window_exponent, config.replay.window_beta, False, config.game.size,
                        config.run.seed)
    try:
        held = store.restore(path)
    except ReplayError as error:
        raise ValueEvalError(str(error)) from error
    if held == 0:
        raise ValueEvalError(f"{path} holds no positions")
    batch = store.gather(store.ordered_slots()[-limit:])
    return batch["planes"], batch["value"]


def _play_value_games(config: Any, seeds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Play value-data games (one position each) in this process, together (one lockstep batch)."""
    from tenuki.selfplay.alphago.games import value_data_games
    from tenuki.selfplay.games import GameContext

    state: dict = {}
    contexts = [GameContext(config, None, version=-1, state=state) for _ in seeds]
    records = value_data_games(contexts, [-1] * len(seeds), [int(seed) for seed in seeds])
    return (np.concatenate([record.samples["planes"] for record in records]),
            np.concatenate([record.samples["value"] for record in records]))


def test_positions(run_dir: Path, config: Any, games: int, chunk: int = 10, progress: bool = False
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """``games`` fresh positions generated like the training data (cached in the run directory);
    returns planes, outcomes and the seconds spent generating (0 when read from the cache)."""
    cache = run_dir / f"value-test-{games}.npz"
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as archive:
                if int(archive["format"]) == TEST_FORMAT:
                    planes = np.unpackbits(archive["planes"], axis=1, count=int(np.prod(archive["shape"])))
                    return planes.reshape(-1, *archive["shape"]), archive["values"], 0.0
        except (OSError, ValueError, KeyError) as error:
            raise ValueEvalError(f"{cache} cannot be read ({error}); delete it to generate the test set again") from error
    import ray

    start = time.perf_counter()
    seeds = [TEST_SEED_BASE + config.run.seed * 1_000_003 + i for i in range(games)]
    task = ray.remote(num_cpus=1)(_play_value_games)
    refs = [task.remote(config, seeds[i:i + chunk]) for i in range(0, games, chunk)]
    parts, done = [], 0
    for ref in refs:
        parts.append(ray.get(ref))
        done += len(parts[-1][1])
        if progress:
            log.info("  test games %d/%d", done, games)
    planes = np.concatenate([p for p, _ in parts])
    values = np.concatenate([v for _, v in parts])
    shape = np.array(planes.shape[1:], np.int64)
    packed = np.packbits(planes.reshape(len(planes), -1).astype(bool), axis=1)
    atomic_write(cache, lambda stream: np.savez(stream, format=np.int64(TEST_FORMAT), shape=shape,
                                                planes=packed, values=values))
    return planes, values, time.perf_counter() - start


def evaluate_value_run(checkpoint: str | Path, run_dir: str | Path, test_games: int = 400,
                       address: str | None = None, num_cpus: int | None = None, progress: bool = False
                       ) -> dict[str, Any]:
    """Train and test MSE of the value checkpoint of a ``tenuki train value`` run (module docstring)."""
    from tenuki.agents.go.networks.checkpoint import load_checkpoint
    from tenuki.selfplay.cluster import connect
    from tenuki.selfplay.config import ConfigError, load_config

    run_dir = Path(run_dir)
    try:
        config = load_config(run_dir / "config.yaml")
    except (ConfigError, OSError) as error:
        raise ValueEvalError(f"{run_dir} is not a run directory of `tenuki train value`: {error}") from error
    if config.workers.game_generator != "value_data":
        raise ValueEvalError(f"{run_dir} is a {config.workers.game_generator!r} run, not a value-network run")
    if test_games < 1:
        raise ValueEvalError(f"--test-games must be >= 1 (got {test_games})")
    model, meta = load_checkpoint(checkpoint, architecture="alphago_value")
    train_planes, train_values = train_positions(run_dir, config)
    cached = (run_dir / f"value-test-{test_games}.npz").exists()
    if not cached:
        connect(config.cluster, address=address, num_cpus=num_cpus)
    test_planes, test_values, seconds = test_positions(run_dir, config, test_games, progress=progress)
    mean = float(np.mean(train_values))
    return {
        "checkpoint": str(checkpoint), "step": meta.step, "run_dir": str(run_dir),
        "train_positions": len(train_values),
        "train_mse": round(value_mse(model, train_planes, train_values), 5),
        "test_positions": len(test_values),
        "test_mse": round(value_mse(model, test_planes, test_values), 5),
        "baseline_zero_test_mse": round(float(np.mean(test_values.astype(np.float64) ** 2)), 5),
        "baseline_train_mean_test_mse": round(float(np.mean((test_values - mean) ** 2)), 5),
        "test_set": "cached" if cached else f"generated in {seconds:.0f} s",
        "sl_policy": config.workers.sl_policy, "rl_policy": config.workers.rl_policy or config.workers.sl_policy,
    }
