"""Training the rollout policy on expert games: ``train_rollout(sources, out_path, games,
val_games, epochs, lr, seed)``; games are split into train / validation by game, and the numba
kernel ``train_game`` replays a game, scores each expert move and takes one Adagrad step per
position.

Accuracy is top-1 (argmax of the scores) over the candidates (own eyes included), on the
positions where the expert did not pass: a pass move is skipped, neither right nor wrong.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable

import numpy as np
from numba import njit

from tenuki.agents.go.rollout.features import candidate_features
from tenuki.agents.go.rollout.kernels import Workspace, score_candidates
from tenuki.agents.go.rollout.model import RolloutPolicy
from tenuki.agents.go.rollout.weights import DEFAULT_TABLE_BITS, save_rollout_policy
from tenuki.envs.go.kernel_base import action_to_point
from tenuki.envs.go.kernels import play
from tenuki.envs.go.layout import COUNT_SHIFT, H_N, LEGAL, PASS_POINT, base_len


@njit(cache=True)
def train_game(st, moves, weights, accum, lr, update, seed, mask, libs, mark, scratch, resp, cand, offsets,
               feats, scores, grad, stats):
    """Replay one game on ``st`` (a scratch state, record=False, changed in place) and, before each
    non-pass move, score the expert move: stats += [positions, correct, -log p, skipped]. With
    ``update``: one Adagrad step on the position's cross-entropy (grad [T] float64 scratch, zero).
    moves: int64 colour * COUNT_SHIFT + action. Returns moves replayed (stops at an illegal one)."""
    last = 0
    last2 = 0
    for i in range(moves.shape[0]):
        color = moves[i] // COUNT_SHIFT
        p = action_to_point(st, moves[i] % COUNT_SHIFT)
        if p != PASS_POINT:
            count = candidate_features(st, color, last, last2, seed, mask, libs, mark, scratch, resp, cand,
                                       offsets, feats)
            target = -1
            for j in range(count):
                if cand[j] == p:
                    target = j
                    break
            if target < 0:
                stats[3] += 1
            else:
                best = score_candidates(weights, count, offsets, feats, scores)
                m = scores[best]
                z = 0.0
                for j in range(count):
                    z += math.exp(scores[j] - m)
                stats[0] += 1
                stats[1] += best == target
                stats[2] += math.log(z) - (scores[target] - m)
                if update:
                    for j in range(count):
                        g = math.exp(scores[j] - m) / z - (1.0 if j == target else 0.0)
                        for o in range(offsets[j], offsets[j + 1]):
                            grad[feats[o]] += g
                    for o in range(offsets[count]):
                        f = feats[o]
                        g = grad[f]
                        if g != 0.0:
                            accum[f] += g * g
                            weights[f] -= lr * g / math.sqrt(accum[f] + 1e-12)
                            grad[f] = 0.0
        if play(st, p, color, False) != LEGAL:
            return i
        last2 = last
        last = p
    return moves.shape[0]



# ----------------------------------------------------------------------------- training

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def read_games(sources: Iterable[str | os.PathLike[str]], count: int, size: int = 19,
               progress: Progress | None = None) -> tuple[list[tuple[np.ndarray | None, np.ndarray]], dict]:
    """Up to ``count`` games of ``size`` from the sources in order (``iter_games``, bad games
    skipped): (start state or None for the empty board, moves int64 colour * COUNT_SHIFT + action).
    Games with setup stones after the root are left out. Returns (games, counts)."""
    from tenuki.envs.go.sgf_archives import LoadStats, iter_games

    games: list[tuple[np.ndarray | None, np.ndarray]] = []
    counts = {"read": 0, "bad": 0, "other_size": 0, "mid_game_setup": 0}
    base = base_len(size)
    for source in sources:
        stats = LoadStats()
        for record in iter_games(source, errors="skip", stats=stats):
            counts["read"] += 1
            if record.size != size:
                counts["other_size"] += 1
                continue
            if record.setups:
                counts["mid_game_setup"] += 1
                continue
            start = None
            if record.setup_black or record.setup_white:
                start = record.start_board(ko_rule="simple").state[:base].copy()
            moves = np.array([c * COUNT_SHIFT + a for c, a in record.moves], np.int64)
            games.append((start, moves))
            if progress is not None:
                progress("read", len(games), count)
            if len(games) >= count:
                break
        counts["bad"] += stats.skipped
        if len(games) >= count:
            break
    return games, counts


def run_games(policy: RolloutPolicy, games, update: bool, lr: float = 0.0, accum: np.ndarray | None = None,
              progress: Progress | None = None, stage: str = "eval") -> dict:
    """Replay ``games`` and score every non-pass expert move (one Adagrad step each when ``update``).
    Returns positions, top-1 accuracy, mean cross-entropy (nats) and positions skipped (the expert
    move was not a candidate)."""
    from tenuki.envs.go.board import Board

    n = 19 if not games else (int(games[0][0][H_N]) if games[0][0] is not None else 19)
    template = Board(n, ko_rule="simple").state[: base_len(n)].copy()
    ws = Workspace.new(n)
    grad = np.zeros(policy.weights.shape[0], np.float64) if update else np.zeros(1, np.float64)
    accum = accum if accum is not None else np.zeros(1, np.float64)
    stats = np.zeros(4, np.float64)
    for i, (start, moves) in enumerate(games):
        st = (start if start is not None else template).copy()
        train_game(st, moves, policy.weights, accum, lr, update, policy.hash_seed, policy.mask, *ws.args(),
                   ws.scores, grad, stats)
        if progress is not None and (i % 16 == 15 or i + 1 == len(games)):
            progress(stage, i + 1, len(games))
    policy.changed()
    positions = int(stats[0])
    return {"positions": positions, "accuracy": float(stats[1] / max(positions, 1)),
            "cross_entropy": float(stats[2] / max(positions, 1)), "skipped_positions": int(stats[3])}


def dataset_games(data: str | os.PathLike[str], games: int, val_games: int, seed: int,
                  progress: Progress | None = None):
    """The split of a ``tenuki data build`` dataset (by content hash, the SL policy's): ``games``
    training games drawn from its train split (shard and game order shuffled with ``seed``) and the
    first ``val_games`` games of its validation split (all of them when 0 or more than it has);
    (train, val, counts, the generator, to be used next for the training order)."""
    from tenuki.agents.go.dataset.shards import GameShards

    rng = np.random.default_rng(seed)
    counts = {"read": 0, "bad": 0, "other_size": 0, "mid_game_setup": 0}
    out = []
    for split, count, shuffle in (("train", games, True), ("val", val_games, False)):
        shards = GameShards(data, split)
        count = len(shards) if count <= 0 else min(count, len(shards))
        chosen = []
        for game in shards.iter_games(shuffle=shuffle, seed=int(rng.integers(0, 2**62))):
            chosen.append(_stored_game(game))
            if progress is not None:
                progress(f"read {split}", len(chosen), count)
            if len(chosen) >= count:
                break
        counts["read"] += len(chosen)
        out.append(chosen)
    if not out[0]:
        raise ValueError(f"{data}: no training games in the dataset")
    return out[0], out[1], counts, rng


def _stored_game(game) -> tuple[np.ndarray | None, np.ndarray]:
    """A dataset game as ``read_games`` gives an SGF one: (start state or None, move codes)."""
    from tenuki.envs.go.board import Board

    start = None
    if game.setup_black.size or game.setup_white.size:
        board = Board(19, komi=float(game.komi), ko_rule="simple")
        board.set_stones(black=game.setup_black.tolist(), white=game.setup_white.tolist())
        start = board.state[: base_len(19)].copy()
    return start, game.colours.astype(np.int64) * COUNT_SHIFT + game.actions.astype(np.int64)


def split_games(sources: list[str], games: int, val_games: int, seed: int, progress: Progress | None = None):
    """The first games + val_games usable games of the sources, shuffled with ``seed`` and split by
    game: (train, val, read counts, the generator, to be used next for the training order)."""
    data, counts = read_games(sources, games + val_games, progress=progress)
    if len(data) < 2:
        raise ValueError(f"only {len(data)} usable 19x19 games in {sources}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))
    n_val = min(val_games, len(data) // 2) if val_games else 0
    return [data[i] for i in order[n_val:]], [data[i] for i in order[:n_val]], counts, rng


def held_out_games(meta: dict, limit: int | None = None) -> list:
    """The validation games of a trained policy, re-read from its sidecar's dataset or sources and seed."""
    if meta.get("data"):
        _, val, _, _ = dataset_games(meta["data"], 1, limit or meta["val_games"], meta["seed"])
        return val
    _, val, _, _ = split_games(meta["sources"], meta["games_trained"], meta["val_games"], meta["seed"])
    return val[:limit]


def train_rollout(sources: Iterable[str | os.PathLike[str]] | None, out_path: str | os.PathLike[str] | None,
                  games: int = 5000, val_games: int = 500, epochs: int = 1, lr: float = 0.05, seed: int = 0,
                  table_bits: int = DEFAULT_TABLE_BITS, progress: Progress | None = None,
                  data: str | os.PathLike[str] | None = None) -> dict:
    """Train the rollout policy on ``games`` expert games and measure it on ``val_games`` other games.

    From ``sources``: the first games + val_games 19x19 games are read, shuffled with ``seed`` and
    split by game. From ``data`` (a ``tenuki data build`` dataset, instead): its own split, the SL
    policy's (``dataset_games``). Each epoch replays the training games (in a fresh seeded order)
    with one Adagrad step per position (learning rate ``lr``), then measures the validation games.
    Writes ``out_path``.safetensors / .json when given. Returns the summary (also kept in the sidecar)."""
    if games < 1 or val_games < 0 or epochs < 1 or not lr > 0:
        raise ValueError(f"need games >= 1, val_games >= 0, epochs >= 1, lr > 0 (got {games}, {val_games}, "
                         f"{epochs}, {lr})")
    if (sources is None) == (data is None):
        raise ValueError("give the games either as sources (SGF files / archives) or as a dataset folder, not both")
    t0 = time.perf_counter()
    if data is not None:
        sources = []
        train, val, counts, rng = dataset_games(data, games, val_games, seed, progress)
    else:
        sources = [str(s) for s in sources]
        train, val, counts, rng = split_games(sources, games, val_games, seed, progress)
    read_s = time.perf_counter() - t0
    policy = RolloutPolicy.zeros(table_bits, hash_seed=int(rng.integers(0, 2**62)))
    accum = np.zeros(policy.weights.shape[0], np.float64)
    history = []
    t1 = time.perf_counter()
    for epoch in range(epochs):
        epoch_order = rng.permutation(len(train))
        fit = run_games(policy, [train[i] for i in epoch_order], True, lr, accum, progress, f"epoch {epoch + 1}")
        check = run_games(policy, val, False, progress=progress, stage="validate") if val else None
        history.append({"epoch": epoch + 1, "train_accuracy": round(fit["accuracy"], 4),
                        "train_cross_entropy": round(fit["cross_entropy"], 4),
                        "val_accuracy": None if check is None else round(check["accuracy"], 4),
                        "val_cross_entropy": None if check is None else round(check["cross_entropy"], 4)})
    train_s = time.perf_counter() - t1
    last = history[-1]
    summary = {
        "sources": sources, **({"data": str(data), "split": "the dataset's train / val split"} if data else {}),
        "games_trained": len(train), "val_games": len(val), "epochs": epochs, "lr": lr,
        "seed": seed, "table_bits": table_bits, "train_positions": fit["positions"],
        "val_positions": 0 if check is None else check["positions"],
        "val_accuracy": last["val_accuracy"], "val_cross_entropy": last["val_cross_entropy"],
        "val_skipped_positions": 0 if check is None else check["skipped_positions"],
        "train_accuracy": last["train_accuracy"], "history": history, "games_read": counts,
        "accuracy_definition": "top-1 argmax over candidate moves (empty, not suicide, not the ko point; "
                               "own eyes included), positions where the expert passed are skipped",
        "read_seconds": round(read_s, 1), "train_seconds": round(train_s, 1),
        "positions_per_second": round(fit["positions"] * epochs / max(train_s, 1e-9), 1),
    }
    policy.meta = summary
    if out_path is not None:
        weights_path, sidecar_path = save_rollout_policy(policy, out_path)
        summary = {**summary, "weights": str(weights_path), "sidecar": str(sidecar_path)}
    return summary
