"""Accuracy of a network checkpoint on real games (``tenuki eval policy``).

``evaluate_checkpoint(checkpoint, games)`` replays the games of ``games`` (an SGF file, a folder
of SGFs, a .tar.gz of SGFs as in the KGS archives, or the Tom archive) and scores the network on
the position before each move:

- a network with a policy (``alphago_policy``, ``alphazero_resnet``): ``top1`` / ``top5``, the share
  of human moves that are the network's first / among its first five legal moves;
- a network with a value (``alphago_value``, ``alphazero_resnet``): ``value_mse``, the mean squared
  error of the value against the game's result seen by the side to move (+1 won, -1 lost; games
  without a known winner are left out of the value figure), and ``value_mse_by_move``, the same
  figure for the positions before moves 1-50, 51-100, ... (a value net is expected to know little
  about the opening and more and more as the game goes on).

Each architecture reads its own planes: the 48 / 49 AlphaGo features or the 17 AlphaZero planes.
Games are replayed under the dataset's ko rule (``tenuki data build``: simple ko). Games on
another board size than the network's, and games with an illegal move (the whole game, as the
dataset does), are skipped and counted; nothing left to score is an ``EvaluationError``, not a
score of 0. ``held_out`` (a dataset folder written by ``tenuki data build``)
keeps only the games that dataset put in its validation split (same content digest, seed and
fraction), so a network trained on that dataset is scored on games it never saw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from tenuki.agents.go.dataset.shards import KO_RULE
from tenuki.agents.go.features import alphago_planes
from tenuki.agents.go.networks.checkpoint import load_checkpoint
from tenuki.agents.go.sl.metrics import masked_logits
from tenuki.envs.go.features import board_planes
from tenuki.envs.go.sgf import SGFError
from tenuki.envs.go.sgf_archives import LoadStats, iter_games


class EvaluationError(ValueError):
    """``tenuki eval policy`` cannot score: a bad argument, or no position to score."""


PHASE_MOVES = 50  # value_mse_by_move: buckets of 50 moves, the last one open
PHASE_NAMES = ("1-50", "51-100", "101-150", "151-200", "201-250", "251+")


def result_winner(result: str | None) -> int:
    """+1 black won, -1 white won, 0 unknown / draw, from an SGF RE value (B+0.5, W+R, B+T, 0, Void)."""
    if not result:
        return 0
    text = result.strip().upper()
    if text.startswith("B+"):
        return 1
    if text.startswith("W+"):
        return -1
    return 0


def _planes_for(architecture: str, in_planes: int):
    if architecture.startswith("alphago"):
        return lambda board: alphago_planes(board, value=in_planes == 49)
    return lambda board: board_planes(board).astype(np.uint8)


def held_out_filter(dataset: str | Path):
    """A predicate on game records: True for the games the dataset at ``dataset`` put in its
    validation split (``split_of`` with the dataset's seed and fraction; skipped games are False)."""
    import json

    from tenuki.agents.go.dataset.build import (
        DatasetError,
        _content_digest,
        _Skip,
        encode_game,
        parse_rank,
        split_of,
    )

    meta_path = Path(dataset) / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
        seed, fraction = int(meta["seed"]), float(meta["val_fraction"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise FileNotFoundError(f"--held-out {dataset}: no readable dataset meta.json ({error})") from error
    floor = None if meta.get("min_rank") is None else parse_rank(meta["min_rank"])

    def is_held_out(record) -> bool:
        try:
            game = encode_game(record, floor)
        except (_Skip, DatasetError):
            return False
        return split_of(_content_digest(game), fraction, seed) == "val"

    return is_held_out


def evaluate_checkpoint(checkpoint: str | Path, games: str | Path, max_positions: int = 0,
                        batch_size: int = 256, held_out: str | Path | None = None) -> dict[str, Any]:
    """Score a checkpoint on the positions of ``games`` (only the validation games of the dataset
    ``held_out`` when given); returns the JSON-ready figures."""
    if max_positions < 0:
        raise EvaluationError(f"max_positions must be >= 0 (0: every position), got {max_positions}")
    if not Path(games).exists():
        raise EvaluationError(f"{games}: no such file or folder of games")
    keep = held_out_filter(held_out) if held_out is not None else None
    model, meta = load_checkpoint(checkpoint)
    size = int(meta.kwargs.get("board_size", 19))
    planes_of = _planes_for(meta.architecture, int(meta.kwargs.get("in_planes", 48)))
    has_policy = meta.architecture != "alphago_value"
    has_value = meta.architecture != "alphago_policy"
    stats = LoadStats()
    counts = {"games": 0, "skipped_size": 0, "skipped_illegal": 0, "skipped_out_of_turn": 0}
    if keep is not None:
        counts["skipped_not_held_out"] = 0
    totals = {"positions": 0, "top1": 0.0, "top5": 0.0, "value_se": 0.0, "value_positions": 0}
    pending: list[tuple[np.ndarray, int, float, int]] = []
    phase_se = np.zeros(len(PHASE_NAMES))
    phase_n = np.zeros(len(PHASE_NAMES), dtype=np.int64)

    def flush() -> None:
        if not pending:
            return
        x = torch.from_numpy(np.stack([p for p, _, _, _ in pending])).float()
        actions = torch.tensor([a for _, a, _, _ in pending], dtype=torch.int64)
        outcomes = torch.tensor([z for _, _, z, _ in pending], dtype=torch.float32)
        phases = np.array([phase for _, _, _, phase in pending])
        with torch.no_grad():
            logits, values = model.evaluate(x)
        if has_policy:
            if meta.architecture.startswith("alphago"):
                logits = masked_logits(logits, x, actions)
            top5 = logits.topk(5, dim=1).indices
            totals["top1"] += float((top5[:, 0] == actions).sum())
            totals["top5"] += float((top5 == actions[:, None]).any(dim=1).sum())
        if has_value:
            known = outcomes != 0
            errors = ((values.float() - outcomes) ** 2).numpy()
            totals["value_se"] += float(errors[known.numpy()].sum())
            totals["value_positions"] += int(known.sum())
            np.add.at(phase_se, phases[known.numpy()], errors[known.numpy()])
            np.add.at(phase_n, phases[known.numpy()], 1)
        totals["positions"] += len(pending)
        pending.clear()

    done = False
    for record in iter_games(games, errors="skip", stats=stats):
        if record.size != size:
            counts["skipped_size"] += 1
            continue
        if keep is not None and not keep(record):
            counts["skipped_not_held_out"] += 1
            continue
        winner = result_winner(record.result)
        game: list[tuple[np.ndarray, int, float, int]] = []
        out_of_turn = 0
        try:  # the whole game first: a game with an illegal move is skipped whole, as the dataset does
            for move, (board, color, action) in enumerate(record.positions(ko_rule=KO_RULE)):
                z = 0.0 if winner == 0 else (1.0 if (winner == 1) == (color == 1) else -1.0)
                if board.to_play != color:
                    out_of_turn += 1  # one side played twice: the planes would be the wrong side's
                    continue
                game.append((planes_of(board), int(action), z, min(move // PHASE_MOVES, len(PHASE_NAMES) - 1)))
                if max_positions and totals["positions"] + len(pending) + len(game) >= max_positions:
                    done = True
                    break
        except SGFError:
            counts["skipped_illegal"] += 1
            continue
        counts["games"] += 1
        counts["skipped_out_of_turn"] += out_of_turn
        for position in game:
            pending.append(position)
            if len(pending) >= batch_size:
                flush()
        if done:
            break
    flush()
    if totals["positions"] == 0:
        raise EvaluationError(
            f"no position of {games} to score: {counts['games']} games read, {counts['skipped_size']} of another "
            f"board size than the network's {size}x{size}, {counts['skipped_illegal']} with an illegal move, "
            f"{stats.skipped} unreadable" + (f", {counts['skipped_not_held_out']} not in the validation split of "
                                             f"{held_out}" if keep is not None else ""))
    n = totals["positions"]
    out: dict[str, Any] = {
        "checkpoint": str(checkpoint), "architecture": meta.architecture, "games_path": str(games),
        "held_out": None if held_out is None else str(held_out),
        "positions": totals["positions"], **counts, "unreadable_games": stats.skipped,
    }
    if has_policy:
        out["top1"] = round(totals["top1"] / n, 5)
        out["top5"] = round(totals["top5"] / n, 5)
    if has_value:
        out["value_positions"] = totals["value_positions"]
        out["value_mse"] = round(totals["value_se"] / max(totals["value_positions"], 1), 5)
        out["value_mse_by_move"] = {name: {"positions": int(count), "value_mse": round(se / count, 5)}
                                    for name, se, count in zip(PHASE_NAMES, phase_se, phase_n, strict=True) if count}
    return out
