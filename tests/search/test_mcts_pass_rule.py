"""``MCTSConfig.pass_min_move``: self-play searches do not pass early unless the opponent passed."""

from __future__ import annotations

from tenuki.envs.go.board import Board
from tenuki.search.mcts import MCTS, MCTSConfig, uniform_evaluator

PASS = 81


def _root_actions(board: Board, pass_min_move: int) -> set[int]:
    result = MCTS(uniform_evaluator(9), MCTSConfig(num_simulations=64, batch_size=4,
                                                   pass_min_move=pass_min_move)).run(board)
    return {int(a) for a in result.actions}


def test_no_pass_before_the_move_limit():
    board = Board(9)
    board.play("E5")
    assert PASS not in _root_actions(board, pass_min_move=10)
    assert PASS in _root_actions(board, pass_min_move=0)  # off: pass is always an action
    assert PASS in _root_actions(board, pass_min_move=1)  # move 1 >= 1: allowed


def test_pass_allowed_after_an_opponent_pass_and_deeper_in_the_tree():
    board = Board(9)
    board.play("E5")
    board.play("pass")
    assert PASS in _root_actions(board, pass_min_move=10)  # the opponent passed: may end the game
    # inside the tree: no node before move 10 expands pass, unless its parent move was a pass
    search = MCTS(uniform_evaluator(9), MCTSConfig(num_simulations=400, batch_size=4, pass_min_move=10))
    search.run(Board(9))
    tree = search.tree
    from tenuki.search.tree import ACTION, CHILD, EDGE_COUNT, EDGE_START

    def walk(node: int, depth: int, last_pass: bool) -> None:
        start, count = tree.nodes[node, EDGE_START], tree.nodes[node, EDGE_COUNT]
        if count <= 0:
            return
        actions = {int(tree.edges[e, ACTION]) for e in range(start, start + count)}
        assert (PASS in actions) == last_pass, (depth, last_pass)
        for e in range(start, start + count):
            child = int(tree.edges[e, CHILD])
            if child >= 0:
                walk(child, depth + 1, int(tree.edges[e, ACTION]) == PASS)

    walk(0, 0, False)

