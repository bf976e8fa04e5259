"""Self-play and gating search with the same settings (issue 25: the gate once dropped ``fpu_reduction``,
``pass_after_move`` and ``score_weight``, and judged networks with another search than the one self-play
trained them for). The settings are caught where each path builds its ``MCTS``, so a path that builds
its ``MCTSConfig`` by hand again fails here."""

from __future__ import annotations

import dataclasses

import pytest

from tenuki.search.mcts import uniform_evaluator
from tenuki.search.settings import MCTSConfig, search_params
from tenuki.selfplay import games, gatekeeper
from tenuki.selfplay.config import config_from_dict

N = 5
# what gating is meant to do differently: its own budget, no root noise, its own seed
MEANT_TO_DIFFER = {"num_simulations", "dirichlet_weight", "seed"}


class _Built(Exception):
    """Raised by the recording MCTS once the settings are caught: no game needs to be played."""


def _record_searches(monkeypatch, module) -> list[MCTSConfig]:
    built: list[MCTSConfig] = []

    def recording_mcts(evaluator, config):
        built.append(config)
        raise _Built

    monkeypatch.setattr(module, "MCTS", recording_mcts)
    return built


def _config():
    return config_from_dict({
        "game": {"size": N, "komi": 6.5},
        "network": {"blocks": 1, "channels": 8},
        "search": {"visits": 24, "cap_visits": 6, "batch_size": 3, "c_init": 2.0, "c_base": 1000.0,
                   "fpu_reduction": 0.25, "dirichlet_weight": 0.3, "dirichlet_alpha": 0.2, "pass_after_move": 7,
                   "score_weight": 0.5, "score_scale": 12.0, "max_depth": 90, "mix_lambda": 0.0},
        "evaluator": {"visits": 10, "games": 2},
    })


def test_gating_searches_with_the_settings_of_self_play(monkeypatch):
    from tenuki.selfplay.learner import build_model, state_dict_to_numpy

    config = _config()
    selfplay_built = _record_searches(monkeypatch, games)
    with pytest.raises(_Built):
        games.alphazero_game(games.GameContext(config, uniform_evaluator(N), version=0), game_id=0, seed=1)
    gate_built = _record_searches(monkeypatch, gatekeeper)
    weights = state_dict_to_numpy(build_model(config))
    with pytest.raises(_Built):
        gatekeeper.gate_match(config, (1, weights), (0, weights), seed=2)
    (selfplay,), (gate,) = selfplay_built, gate_built[:1]

    same = {f.name for f in dataclasses.fields(MCTSConfig)} - MEANT_TO_DIFFER
    assert {name: getattr(gate, name) for name in same} == {name: getattr(selfplay, name) for name in same}
    # ... and they are the config's, not two copies of a default
    assert (selfplay.fpu_reduction, selfplay.pass_min_move, selfplay.score_weight, selfplay.score_scale) == \
        (0.25, 7, 0.5, 12.0)
    assert (selfplay.c_init, selfplay.c_base, selfplay.batch_size, selfplay.dirichlet_alpha, selfplay.max_depth) == \
        (2.0, 1000.0, 3, 0.2, 90)
    # what differs, differs as meant
    assert (selfplay.num_simulations, gate.num_simulations) == (24, 10)
    assert (selfplay.dirichlet_weight, gate.dirichlet_weight) == (0.3, 0.0)


def test_both_paths_are_search_params_of_the_search_section():
    config = _config()
    assert games.selfplay_search_params(config, seed=4) == search_params(config.search, N, seed=4)
    assert gatekeeper.gate_search_params(config, seed=4) == search_params(config.search, N, visits=10, root_noise=0.0,
                                                                           seed=4)


def test_a_capped_search_runs_without_noise_and_never_touches_the_settings(monkeypatch):
    """Playout cap randomization asks each ``run`` for its budget and root noise; the searcher's
    settings stay as built (they were changed in place every move before)."""
    config = config_from_dict({"game": {"size": N}, "search": {"visits": 8, "cap_visits": 2, "batch_size": 2,
                                                               "full_probability": 0.5, "resign_threshold": 0.0}})
    calls: list[tuple[int | None, float | None]] = []
    searchers = []
    real_mcts = games.MCTS

    class Watched(real_mcts):
        def __init__(self, evaluator, settings):
            super().__init__(evaluator, settings)
            self.built = dataclasses.replace(settings)
            searchers.append(self)

        def run(self, board, num_simulations=None, seconds=None, *, root_noise=None):
            calls.append((num_simulations, root_noise))
            return super().run(board, num_simulations, seconds, root_noise=root_noise)

    monkeypatch.setattr(games, "MCTS", Watched)
    games.alphazero_game(games.GameContext(config, uniform_evaluator(N), version=0), game_id=0, seed=3)
    assert set(calls) == {(8, None), (2, 0.0)}  # full searches: the settings' noise; capped: none
    (searcher,) = searchers
    assert searcher.config == searcher.built and searcher.config.dirichlet_weight == 0.25
