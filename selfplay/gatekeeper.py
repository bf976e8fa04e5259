"""Evaluation of network versions: gating matches and matches against GNU Go.

``gate_match``: the candidate against the best network so far (AlphaGo Zero's evaluator), both
as PUCT searches of ``evaluator.visits`` simulations without noise, colours alternating, the
first two moves of each game sampled in proportion to visits so the games differ. Every other
search setting is self-play's (``gate_search_params``: the same ``search_params`` of the same
``search:`` section), so the gate judges a network with the search it was trained for. The candidate
becomes the best at a score of ``gate_threshold`` (0.55 in AlphaGo Zero). The Elo difference of
the score (``tenuki.play.match_stats``) chains into the run's Elo curve.

``gnugo_match``: the candidate, written to a temporary checkpoint, plays GNU Go through the match
runner (``tenuki.play.match.run_match``): ``tenuki gtp --player az-mcts --visits V`` against
``gnugo --mode gtp --level L --chinese-rules``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tenuki.envs.go.board import Board
from tenuki.envs.go.layout import BLACK, WHITE
from tenuki.search.mcts import MCTS
from tenuki.search.settings import MCTSConfig, search_params
from tenuki.selfplay.config import SelfPlayConfig

SAMPLED_OPENING_MOVES = 2


def gate_search_params(config: SelfPlayConfig, seed: int) -> MCTSConfig:
    """The settings of a gating search: self-play's, with ``evaluator.visits`` and no root noise."""
    return search_params(config.search, config.game.size, visits=config.evaluator.visits, root_noise=0.0, seed=seed)


def _player(config: SelfPlayConfig, weights: dict[str, np.ndarray], seed: int) -> MCTS:
    from tenuki.selfplay.learner import build_model, make_evaluator, numpy_to_state_dict

    model = build_model(config)
    model.load_state_dict(numpy_to_state_dict(weights))
    return MCTS(make_evaluator(model, config), gate_search_params(config, seed))


def play_pair_game(config: SelfPlayConfig, black: MCTS, white: MCTS, rng: np.random.Generator) -> int:
    """One game between two searchers; returns the winner (BLACK, WHITE or 0)."""
    size = config.game.size
    board = Board(size, komi=config.game.komi)
    max_moves = config.game.max_moves or 2 * size * size
    searchers = {BLACK: black, WHITE: white}
    for searcher in searchers.values():
        searcher.reset()  # a new game: no subtree of the last one
    while not board.is_game_over and board.move_number < max_moves:
        result = searchers[board.to_play].run(board, config.evaluator.visits)
        if result.visits.size == 0:
            break
        if board.move_number < SAMPLED_OPENING_MOVES:
            weights = result.visits / result.visits.sum()
            action = int(result.actions[rng.choice(weights.size, p=weights)])
        else:
            action = result.best_action
        board.play(action)
        for searcher in searchers.values():
            searcher.advance(action)
    return board.score("area").winner


def gate_match(config: SelfPlayConfig, candidate: tuple[int, dict], best: tuple[int, dict], seed: int) -> dict[str, Any]:
    from tenuki.play.match_stats import match_statistics

    rng = np.random.default_rng(seed)
    (cand_version, cand_weights), (best_version, best_weights) = candidate, best
    a = _player(config, cand_weights, int(rng.integers(1 << 30)))
    b = _player(config, best_weights, int(rng.integers(1 << 30)))
    wins = draws = 0
    games = config.evaluator.games
    for g in range(games):
        cand_color = BLACK if g % 2 == 0 else WHITE
        black, white = (a, b) if cand_color == BLACK else (b, a)
        winner = play_pair_game(config, black, white, rng)
        wins += winner == cand_color
        draws += winner == 0
    stats = match_statistics(wins, draws, games)
    return {"version": cand_version, "best_version": best_version, "games": games, "wins": wins, "draws": draws,
            "score": stats["score"], "elo": stats["elo"], "elo_ci95": stats["elo_ci95"],
            "promoted": stats["score"] >= config.evaluator.gate_threshold}


def gnugo_match(config: SelfPlayConfig, candidate: tuple[int, dict], run_dir: str | None, seed: int) -> dict[str, Any]:
    from tenuki.agents.go.networks.checkpoint import save_checkpoint
    from tenuki.play.match import EngineSpec, MatchConfig, run_match
    from tenuki.selfplay.learner import build_model, numpy_to_state_dict

    version, weights = candidate
    ev = config.evaluator
    model = build_model(config)
    model.load_state_dict(numpy_to_state_dict(weights))
    with tempfile.TemporaryDirectory(prefix="tenuki-eval-") as folder:
        path = save_checkpoint(Path(folder) / f"v{version:06d}", model, step=0, config={"version": version})
        tenuki = (f"tenuki gtp --player az-mcts --weights {path} --visits {ev.gnugo_visits} "
                  f"--size {config.game.size} --komi {config.game.komi} --seed {seed}")
        gnugo = f"{ev.gnugo_command} --mode gtp --level {ev.gnugo_level} --chinese-rules"
        sgf_dir = Path(run_dir) / "eval_sgf" / f"v{version:06d}_gnugo" if run_dir else None
        match = MatchConfig(EngineSpec.parse("A", tenuki), EngineSpec.parse("B", gnugo), games=ev.gnugo_games,
                            size=config.game.size, komi=config.game.komi, sgf_dir=sgf_dir)
        summary = run_match(match)
    stats = summary.statistics
    a = summary.engines["A"]
    return {"version": version, "level": ev.gnugo_level, "games": len(summary.games), "wins": a.wins,
            "draws": a.draws, "forfeits": a.forfeits, "score": stats["score"], "elo": stats["elo"],
            "elo_ci95": stats["elo_ci95"]}
