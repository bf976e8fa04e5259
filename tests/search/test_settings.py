"""tenuki.search.settings.search_params (the one translation from the ``search:`` section to
``MCTSConfig``), root noise as an argument of ``MCTS.run``, ``MCTS.reset``, and the package's face."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tenuki.envs.go.board import Board
from tenuki.search.mcts import MCTS, uniform_evaluator
from tenuki.search.settings import MCTSConfig, SearchConfig, SearchConfigError, pass_min_move, search_params
from tenuki.search.tree import ROOT_INDEX, VISITS

# every setting away from both SearchConfig's and MCTSConfig's defaults
SECTION = SearchConfig(visits=77, batch_size=5, c_init=2.5, c_base=500.0, fpu_reduction=0.3, dirichlet_weight=0.35,
                       dirichlet_alpha=0.11, pass_after_move=-1, score_weight=0.4, score_scale=20.0, max_depth=0,
                       mix_lambda=0.5, expand_threshold=2, random_symmetry=True)


def test_every_search_setting_comes_from_the_section():
    params = search_params(SECTION, 9, seed=5)
    assert params == MCTSConfig(num_simulations=77, batch_size=5, c_init=2.5, c_base=500.0, fpu_reduction=0.3,
                                dirichlet_alpha=0.11, dirichlet_weight=0.35, random_symmetry=True, komi=None,
                                max_depth=162, mix_lambda=0.5, expand_threshold=2, pass_min_move=32,
                                score_weight=0.4, score_scale=20.0, seed=5)
    # nothing MCTSConfig holds is left at its default by accident (komi: the board's, on purpose)
    defaults = MCTSConfig()
    left = [f.name for f in dataclasses.fields(MCTSConfig) if getattr(params, f.name) == getattr(defaults, f.name)]
    assert left == ["komi"]


def test_the_section_defaults_read_as_documented():
    params = search_params(SearchConfig(), 19)
    assert params.num_simulations == SearchConfig().visits
    assert params.dirichlet_alpha is None  # 0 in YAML: 0.03 * 361 / N^2 at search time
    assert params.max_depth == 2 * 19 * 19
    assert search_params(SearchConfig(), 5).max_depth == 64  # at least 64
    assert search_params(SearchConfig(max_depth=128), 19).max_depth == 128
    assert pass_min_move(SearchConfig(), 9) == 32 == search_params(SearchConfig(), 9).pass_min_move  # 0.4 N^2
    assert pass_min_move(SearchConfig(pass_after_move=0), 9) == 0  # off
    assert pass_min_move(SearchConfig(pass_after_move=80), 9) == 80


def test_budget_root_noise_and_seed_are_the_callers():
    params = search_params(SECTION, 9, visits=12, root_noise=0.0, seed=9)
    base = search_params(SECTION, 9)
    assert (params.num_simulations, params.dirichlet_weight, params.seed) == (12, 0.0, 9)
    assert dataclasses.replace(params, num_simulations=77, dirichlet_weight=0.35, seed=0) == base


def test_values_outside_the_search_ranges_are_errors():
    with pytest.raises(SearchConfigError, match="batch_size"):
        search_params(SearchConfig(batch_size=0), 9)
    with pytest.raises(SearchConfigError, match="root_noise|dirichlet_weight"):
        search_params(SearchConfig(), 9, root_noise=1.5)


# ------------------------------------------------------------------ root noise per call, reset


def _priors(config: MCTSConfig, **run) -> tuple[np.ndarray, MCTS]:
    searcher = MCTS(uniform_evaluator(9), config)
    return searcher.run(Board(9), **run).prior, searcher


def test_root_noise_is_an_argument_of_run_and_leaves_the_config_alone():
    noisy = MCTSConfig(num_simulations=16, batch_size=4, dirichlet_weight=0.25, seed=3)
    quiet = dataclasses.replace(noisy, dirichlet_weight=0.0)
    from_config, _ = _priors(noisy)
    from_argument, searcher = _priors(quiet, root_noise=0.25)
    np.testing.assert_array_equal(from_argument, from_config)  # the same noise, drawn from the same generator
    assert searcher.config == quiet
    switched_off, searcher = _priors(noisy, root_noise=0.0)
    np.testing.assert_allclose(switched_off, np.full(switched_off.size, 1.0 / switched_off.size))  # uniform priors
    assert searcher.config == noisy and from_config.std() > 0
    with pytest.raises(SearchConfigError, match="root_noise"):
        MCTS(uniform_evaluator(9), quiet).run(Board(9), root_noise=-0.1)


def test_reset_forgets_the_kept_subtree():
    config = MCTSConfig(num_simulations=64, batch_size=4)
    board = Board(9)
    searcher = MCTS(uniform_evaluator(9), config)
    action = searcher.run(board).best_action
    board.play(action)
    assert searcher.advance(action)
    kept = int(searcher.tree.nodes[ROOT_INDEX, VISITS])
    assert kept > 0
    searcher.reset()
    again = searcher.run(board, 32)
    assert int(searcher.tree.nodes[ROOT_INDEX, VISITS]) == 32  # the new search's simulations alone
    fresh = MCTS(uniform_evaluator(9), config).run(board, 32)
    np.testing.assert_array_equal(again.actions, fresh.actions)
    np.testing.assert_array_equal(again.visits, fresh.visits)


# ------------------------------------------------------------------ the face


def test_the_face_exports_what_it_lists():
    from tenuki import search

    assert len(set(search.__all__)) == len(search.__all__)
    for name in search.__all__:
        assert getattr(search, name) is not None, name
    assert search.search_params is search_params and search.MCTS is MCTS
    with pytest.raises(AttributeError):
        search.no_such_name  # noqa: B018
