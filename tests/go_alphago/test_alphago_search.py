"""AlphaGo's networks in the search: the leaves get the 48 / 49 feature planes of their own
position, and the ``alphago`` player runs with a policy network alone (rollouts for the value)
or with a value network too."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tenuki.agents.go.evaluator import TorchEvaluator, combine_policy_value
from tenuki.agents.go.features import alphago_planes
from tenuki.agents.go.networks.alphago import AlphaGoPolicyNet, AlphaGoValueNet
from tenuki.agents.go.networks.checkpoint import save_checkpoint
from tenuki.envs.go.board import Board
from tenuki.play.registry import make
from tenuki.search.mcts import MCTS, MCTSConfig, SearchConfigError

N = 9


class Recording:
    """A uniform evaluator that keeps every batch of planes it is asked about."""

    def __init__(self, in_planes: int):
        self.in_planes = in_planes
        self.seen: list[np.ndarray] = []

    def __call__(self, planes: np.ndarray):
        self.seen.extend(np.array(p) for p in planes)
        return np.zeros((planes.shape[0], N * N + 1), np.float32), np.zeros(planes.shape[0], np.float32)


def _position() -> Board:
    board = Board(N, komi=7.0)
    for move in ["E5", "D4", "F4", "D5", "E3", "C6"]:
        board.play(move)
    return board


@pytest.mark.parametrize("in_planes", [48, 49])
def test_every_leaf_gets_the_feature_planes_of_its_position(in_planes):
    board = _position()
    value = in_planes == 49
    expected = {}
    for action in board.legal_moves():
        child = board.copy()
        child.play(int(action))
        expected[int(action)] = alphago_planes(child, value=value).astype(np.float32)
    evaluator = Recording(in_planes)
    MCTS(evaluator, MCTSConfig(num_simulations=40, batch_size=1)).run(board)
    root = alphago_planes(board, value=value).astype(np.float32)
    assert evaluator.seen[0].shape == (in_planes, N, N)
    np.testing.assert_array_equal(evaluator.seen[0], root)
    # With uniform priors the next evaluations are children of the root: each one is exactly the
    # planes of one position one move later (history, ladders and colour plane included).
    children = evaluator.seen[1:11]
    assert children
    for planes in children:
        assert any(np.array_equal(planes, e) for e in expected.values())


def _checkpoints(tmp_path):
    torch.manual_seed(0)
    policy = save_checkpoint(tmp_path / "policy", AlphaGoPolicyNet(N, filters=8, layers=3))
    value = save_checkpoint(tmp_path / "value", AlphaGoValueNet(N, filters=8, layers=3))
    return policy, value


def test_the_alphago_player_with_a_policy_network_and_rollouts(tmp_path):
    policy, _ = _checkpoints(tmp_path)
    player = make("alphago", N, weights=str(policy), visits=48, seed=1)
    board = _position()
    move = player.genmove(board)
    assert board.is_legal(move.action)
    assert move.result.visits.sum() >= 40


def test_the_alphago_player_with_policy_and_value_networks(tmp_path):
    policy, value = _checkpoints(tmp_path)
    player = make("alphago", N, weights=str(policy), value_weights=str(value), visits=48, seed=1)
    assert player.searcher.evaluator.in_planes == 49
    board = _position()
    assert board.is_legal(player.genmove(board).action)
    with pytest.raises(SearchConfigError, match="value-weights"):
        make("az-mcts", N, weights=str(policy), value_weights=str(value))
    with pytest.raises(SearchConfigError, match="19x19"):
        make("alphago", 19, weights=str(policy))


def test_the_policy_player_reads_alphago_planes(tmp_path):
    policy, _ = _checkpoints(tmp_path)
    player = make("policy", N, weights=str(policy))
    board = _position()
    assert board.is_legal(player.genmove(board).action)


def test_combined_evaluator_answers_both_heads():
    torch.manual_seed(0)
    evaluator = TorchEvaluator(combine_policy_value(AlphaGoPolicyNet(N, filters=8, layers=3),
                                                    AlphaGoValueNet(N, filters=8, layers=3)))
    planes = alphago_planes(_position(), value=True)[None].astype(np.float32)
    logits, values = evaluator(planes)
    assert logits.shape == (1, N * N + 1) and values.shape == (1,) and -1 <= values[0] <= 1
