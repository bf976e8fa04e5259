"""PUCT search: closed-form bandit, fast == slow reference, batch consistency, tree reuse, a growing
search, value variance and the score / ownership backed up from an ownership head."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tenuki.envs.go.board import Board
from tenuki.envs.go.layout import BLACK
from tenuki.search import puct
from tenuki.search.mcts import MCTS, MCTSConfig, SearchConfigError, uniform_evaluator
from tenuki.search.players import GrowingSearch
from tenuki.search.symmetry import apply_symmetry, invert_policy_symmetry
from tenuki.search.tree import (
    CHILD,
    EDGE_COUNT,
    EDGE_START,
    EDGE_VISITS,
    ROOT_INDEX,
    TO_PLAY,
    VALUE_SQUARE_SUM,
    VALUE_SUM,
    VIRTUAL,
    VISITS,
)


def bandit_evaluator(size: int, mu: np.ndarray):
    """Value for black = mean of mu over black's stones (the first black move decides most of it);
    uniform priors. The side to move sees +value if black, -value if white."""

    def evaluate(planes):
        black_to_move = planes[:, 16, 0, 0] > 0.5
        black = np.where(black_to_move[:, None, None], planes[:, 0], planes[:, 8])
        count = black.reshape(len(planes), -1).sum(1)
        v_black = (black.reshape(len(planes), -1) * mu).sum(1) / np.maximum(count, 1)
        values = np.where(black_to_move, v_black, -v_black)
        return np.zeros((len(planes), size * size + 1), np.float32), values.astype(np.float32)

    return evaluate


def test_bandit_best_arm_gets_most_visits():
    size = 5
    mu = np.full(size * size, -0.2)
    mu[12] = 0.8  # C3 is the only good move for black
    result = MCTS(bandit_evaluator(size, mu), MCTSConfig(num_simulations=400, batch_size=8)).run(Board(size))
    assert result.best_action == 12
    assert result.visits.max() > 0.5 * result.visits.sum()
    assert result.q[list(result.actions).index(12)] == np.nanmax(result.q) > 0


def _check_tree_invariants(tree):
    nodes, edges, stats = tree.nodes, tree.edges, tree.stats
    assert (edges[: tree.num_edges, VIRTUAL] == 0).all(), "virtual loss left behind"
    for node in range(tree.num_nodes):
        count = nodes[node, EDGE_COUNT]
        if count <= 0:
            continue
        block = slice(nodes[node, EDGE_START], nodes[node, EDGE_START] + count)
        child_visits = edges[block, EDGE_VISITS].sum()
        # a node's visits: the simulation that expanded it plus those that went through it
        assert nodes[node, VISITS] == child_visits + 1, node
        for e in range(block.start, block.stop):
            child = edges[e, CHILD]
            if child >= 0:
                assert edges[e, EDGE_VISITS] == nodes[child, VISITS]
    assert nodes[ROOT_INDEX, VISITS] >= 1
    assert np.isfinite(stats[: tree.num_edges, VALUE_SUM]).all()


@pytest.mark.parametrize("batch", [1, 16])
def test_tree_statistics_are_consistent_for_any_batch_size(batch):
    size = 5
    rng = np.random.default_rng(0)
    mu = rng.uniform(-1, 1, size * size)
    searcher = MCTS(bandit_evaluator(size, mu), MCTSConfig(num_simulations=300, batch_size=batch))
    board = Board(size)
    board.play("C3")
    result = searcher.run(board)
    _check_tree_invariants(searcher.tree)
    assert result.visits.sum() == searcher.tree.nodes[ROOT_INDEX, VISITS] - 1


def _reference_puct(board: Board, evaluate, sims: int, c_init: float, c_base: float) -> dict[int, int]:
    """Slow, obvious PUCT with Board play / undo (sequential: batch 1, no virtual loss)."""
    stats: dict[tuple, dict] = {}

    def key(b: Board):
        return tuple(a for _, a in b.moves)

    def expand(b: Board) -> float:
        planes = _planes(b)
        logits, values = evaluate(planes[None])
        legal = b.legal_moves()
        z = np.exp(logits[0, legal] - logits[0, legal].max())
        stats[key(b)] = {"actions": legal, "prior": z / z.sum(), "n": np.zeros(len(legal), int),
                         "w": np.zeros(len(legal)), "value": float(values[0])}
        return float(values[0])

    def simulate(b: Board) -> float:
        k = key(b)
        if b.is_game_over:
            s = b.score()
            v = 1.0 if s.margin > 0 else -1.0 if s.margin < 0 else 0.0
            return v if b.to_play == 1 else -v
        if k not in stats:
            return expand(b)
        node = stats[k]
        total = node["n"].sum()
        c = c_init + math.log((1 + total + c_base) / c_base)
        q = np.where(node["n"] > 0, node["w"] / np.maximum(node["n"], 1), node["value"])
        u = c * node["prior"] * math.sqrt(max(total, 1)) / (1 + node["n"])
        i = int(np.argmax(q + u))
        b.play(int(node["actions"][i]))
        v = -simulate(b)
        b.undo()
        node["n"][i] += 1
        node["w"][i] += v
        return v

    for _ in range(sims):
        simulate(board)
    root = stats[key(board)]
    return {int(a): int(n) for a, n in zip(root["actions"], root["n"]) if n}


def _planes(board: Board) -> np.ndarray:
    from tenuki.envs.go.features import board_planes

    return board_planes(board, board.to_play)


def test_batch_one_equals_the_slow_reference():
    size = 4
    rng = np.random.default_rng(1)
    mu = rng.uniform(-1, 1, size * size)
    evaluate = bandit_evaluator(size, mu)
    board = Board(size, komi=0.5)
    board.play("B2")
    sims = 120
    result = MCTS(evaluate, MCTSConfig(num_simulations=sims, batch_size=1)).run(board)
    fast = {int(a): int(n) for a, n in zip(result.actions, result.visits) if n}
    slow = _reference_puct(board.copy(), evaluate, sims, 1.25, 19652.0)
    assert fast == slow


def test_planes_written_by_the_search_match_the_features_module():
    from tenuki.search import puct

    board = Board(5)
    for move in ("C3", "D4", "pass", "B2", "C2"):
        board.play(move)
    out = np.zeros((17, 5, 5), np.float32)
    st = board.copy()
    st.reserve(16)
    work = st.state.copy()  # write_planes undoes and replays moves: it needs a writable state
    before = work.copy()
    puct.write_planes(work, out)
    assert np.array_equal(out, _planes(board))
    assert np.array_equal(work[: 32], before[: 32]) and st.hash == board.hash


def test_tree_reuse_keeps_the_subtree_statistics():
    size = 5
    mu = np.random.default_rng(2).uniform(-1, 1, size * size)
    searcher = MCTS(bandit_evaluator(size, mu), MCTSConfig(num_simulations=300, batch_size=4))
    board = Board(size)
    result = searcher.run(board)
    action = result.best_action
    old = searcher.tree
    start = old.nodes[ROOT_INDEX, EDGE_START]
    edge = start + list(result.actions).index(action)
    child = old.edges[edge, CHILD]
    child_block = slice(old.nodes[child, EDGE_START], old.nodes[child, EDGE_START] + old.nodes[child, EDGE_COUNT])
    expected = sorted(zip(old.edges[child_block, 0].tolist(), old.edges[child_block, EDGE_VISITS].tolist(),
                          old.stats[child_block, VALUE_SUM].tolist()))
    assert searcher.advance(action)
    new = searcher.tree
    block = slice(new.nodes[ROOT_INDEX, EDGE_START], new.nodes[ROOT_INDEX, EDGE_START] + new.nodes[ROOT_INDEX, EDGE_COUNT])
    got = sorted(zip(new.edges[block, 0].tolist(), new.edges[block, EDGE_VISITS].tolist(),
                     new.stats[block, VALUE_SUM].tolist()))
    assert got == expected
    assert new.nodes[ROOT_INDEX, VISITS] == old.nodes[child, VISITS]
    _check_tree_invariants(new)
    kept = int(new.stats[block, 0].size and new.edges[block, EDGE_VISITS].sum())
    board.play(action)
    again = searcher.run(board, num_simulations=100)
    # the kept visits are still there and the new search added to them
    assert again.visits.sum() > kept
    assert again.visits.sum() == searcher.tree.nodes[ROOT_INDEX, VISITS] - 1
    _check_tree_invariants(searcher.tree)


@pytest.mark.parametrize("k", range(8))
def test_symmetry_round_trip(k):
    size = 5
    rng = np.random.default_rng(k)
    board_logits = rng.normal(size=(3, size, size)).astype(np.float32)
    logits = np.concatenate([board_logits.reshape(3, -1), rng.normal(size=(3, 1)).astype(np.float32)], 1)
    transformed = apply_symmetry(board_logits, k).reshape(3, -1)
    back = invert_policy_symmetry(np.concatenate([transformed, logits[:, -1:]], 1), k, size)
    assert np.allclose(back, logits)


def test_illegal_moves_never_enter_the_tree():
    # A ko position: white may not retake at B4 at the root, nor anywhere the ko recurs.
    board = Board.from_ascii(
        """
        .XO..
        XO.O.
        .XO..
        .....
        .....
        """
    )
    board.play("C4")
    searcher = MCTS(uniform_evaluator(5), MCTSConfig(num_simulations=200, batch_size=8))
    result = searcher.run(board)
    assert 6 not in set(result.actions.tolist())  # B4 is action 6 on 5x5
    assert set(result.actions.tolist()) == set(board.legal_moves().tolist())


def test_bad_config_is_rejected():
    with pytest.raises(SearchConfigError):
        MCTSConfig(num_simulations=0)
    with pytest.raises(SearchConfigError):
        MCTSConfig(batch_size=300)


def test_dirichlet_noise_changes_root_priors_but_keeps_a_distribution():
    searcher = MCTS(uniform_evaluator(9), MCTSConfig(num_simulations=32, dirichlet_weight=0.25, seed=3))
    result = searcher.run(Board(9))
    assert np.isclose(result.prior.sum(), 1.0)
    assert result.prior.std() > 0


def test_alphago_apv_mixes_rollouts_and_finds_the_capture():
    from tests.search.test_uct import CAPTURE

    board = Board.from_ascii(CAPTURE, komi=0.5)
    config = MCTSConfig(num_simulations=3000, batch_size=8, c_init=1.25, c_base=0, mix_lambda=0.5, seed=4)
    result = MCTS(uniform_evaluator(9), config).run(board)
    assert result.best_action == 4 * 9 + 5  # F5
    # the uniform evaluator says 0 everywhere: any non-zero Q comes from the rollouts
    assert np.nanmax(np.abs(result.q)) > 0.1


def test_expansion_threshold_defers_expansion():
    threshold = 4
    config = MCTSConfig(num_simulations=600, batch_size=1, mix_lambda=0.5, expand_threshold=threshold)
    searcher = MCTS(uniform_evaluator(5), config)
    searcher.run(Board(5))
    nodes = searcher.tree.nodes[: searcher.tree.num_nodes]
    expanded = nodes[1:][nodes[1:, EDGE_COUNT] > 0]
    waiting = nodes[1:][nodes[1:, EDGE_COUNT] < 0]
    assert len(expanded) > 0 and len(waiting) > 0
    assert (expanded[:, VISITS] >= threshold + 1).all()
    assert (waiting[:, VISITS] <= threshold).all()


def test_random_symmetry_gives_the_same_priors_with_an_equivariant_evaluator():
    size = 5

    def adjacent_to_opponent(planes):
        opp = planes[:, 8]
        near = np.zeros_like(opp)
        near[:, 1:, :] += opp[:, :-1, :]
        near[:, :-1, :] += opp[:, 1:, :]
        near[:, :, 1:] += opp[:, :, :-1]
        near[:, :, :-1] += opp[:, :, 1:]
        logits = np.concatenate([3.0 * near.reshape(len(planes), -1), np.zeros((len(planes), 1))], 1)
        return logits.astype(np.float32), np.zeros(len(planes), np.float32)

    board = Board(size)
    board.play("B2")
    priors = []
    for symmetry in (False, True):
        config = MCTSConfig(num_simulations=16, batch_size=4, random_symmetry=symmetry, seed=7)
        result = MCTS(adjacent_to_opponent, config).run(board)
        priors.append(dict(zip(result.actions.tolist(), result.prior.round(6).tolist())))
    assert priors[0] == priors[1]
    assert max(priors[0], key=priors[0].get) in {1, 5, 7, 11}  # the four points next to B2 (action 6)


def test_analysis_rows_carry_a_principal_variation_per_move():
    result = MCTS(uniform_evaluator(5), MCTSConfig(num_simulations=200, batch_size=4)).run(Board(5))
    rows = result.analysis(5)
    assert rows and all(row["pv"][0] == row["move"] for row in rows)
    assert max(len(row["pv"]) for row in rows) > 1


def test_keep_tree_grows_one_search_and_never_loses_visits():
    size = 5
    mu = np.random.default_rng(4).uniform(-1, 1, size * size)
    searcher = MCTS(bandit_evaluator(size, mu), MCTSConfig(num_simulations=8, batch_size=4))
    board = Board(size)
    with pytest.raises(ValueError, match="keep_tree"):
        MCTS(uniform_evaluator(size)).run(board, 8, keep_tree=True)
    first = searcher.run(board, 40)
    capacity = searcher.tree.nodes.shape[0]
    previous = dict(zip(first.actions.tolist(), first.visits.tolist()))
    total = int(first.visits.sum())
    for _ in range(6):
        more = searcher.run(board, 40, keep_tree=True)
        assert more.simulations == 40 and int(more.visits.sum()) == total + 40
        now = dict(zip(more.actions.tolist(), more.visits.tolist()))
        assert all(now[a] >= v for a, v in previous.items())
        previous, total = now, total + 40
        _check_tree_invariants(searcher.tree)
    assert searcher.tree.nodes.shape[0] > capacity  # it doubled instead of refusing


def test_growing_search_stops_at_its_node_cap():
    board = Board(5)
    growing = GrowingSearch(MCTS(uniform_evaluator(5), MCTSConfig(batch_size=4)), board, max_nodes=120)
    for _ in range(20):
        growing.grow(0.5, 50)
    assert growing.full and growing.searcher.tree.num_nodes <= 120
    assert growing.grow(0.5) == 0
    assert int(growing.result().visits.sum()) == growing.searcher.tree.nodes[ROOT_INDEX, VISITS] - 1


def test_value_squares_are_backed_up():
    """A constant value c seen from every side to move: every backed-up value is +-c, so each edge's sum of
    squares is visits * c^2 whatever the signs, and the sample variance of a move is that of its +-c mix."""
    size, c = 5, 0.5

    def constant(planes):
        return np.zeros((len(planes), size * size + 1), np.float32), np.full(len(planes), c, np.float32)

    searcher = MCTS(constant, MCTSConfig(num_simulations=200, batch_size=1, pass_min_move=100))
    result = searcher.run(Board(size))
    tree = searcher.tree
    used = slice(0, tree.num_edges)
    visits = tree.edges[used, EDGE_VISITS]
    assert np.allclose(tree.stats[used, VALUE_SQUARE_SUM], c * c * visits)
    n, q = result.visits, result.q
    many = n > 1
    assert many.any()
    expected = (c * c - q[many] ** 2) * n[many] / (n[many] - 1)
    assert np.allclose(result.q_variance[many], expected)
    assert np.isnan(result.q_variance[~many]).all()


class OwnershipEvaluator:
    """Uniform priors, value 0, and an ownership head that says every point is 0.5 the side to move's."""

    has_ownership = True
    in_planes = 17

    def __init__(self, size: int):
        self.size = size

    def __call__(self, planes):
        return self.evaluate_with_ownership(planes)[:2]

    def evaluate_with_ownership(self, planes):
        b = len(planes)
        return (np.zeros((b, self.size * self.size + 1), np.float32), np.zeros(b, np.float32),
                np.full((b, self.size * self.size), 0.5, np.float32))


def _subtree_nodes(tree, node):
    out = [node]
    start, count = tree.nodes[node, EDGE_START], tree.nodes[node, EDGE_COUNT]
    for e in range(start, start + max(count, 0)):
        if tree.edges[e, CHILD] >= 0:
            out += _subtree_nodes(tree, tree.edges[e, CHILD])
    return out


def test_scores_and_ownership_from_an_ownership_head():
    """Leaf score = sum(ownership) - komi for black, + komi for white (each leaf's side to move); a move's score
    is their mean over its simulations seen from the root, and the ownership map the mean of the leaves'."""
    size, komi = 5, 7.0
    board = Board(size, komi=komi)
    searcher = MCTS(OwnershipEvaluator(size), MCTSConfig(num_simulations=120, batch_size=1, pass_min_move=100),
                    ownership=True)
    result = searcher.run(board)
    tree = searcher.tree
    own = 0.5 * size * size
    leaf_score = {BLACK: own - komi, 3 - BLACK: own + komi}
    start = tree.nodes[ROOT_INDEX, EDGE_START]
    for i, action in enumerate(result.actions):
        child = tree.edges[start + i, CHILD]
        if child < 0:
            assert np.isnan(result.score[i])
            continue
        nodes = _subtree_nodes(tree, child)  # each was evaluated once, by the one simulation that made it
        assert len(nodes) == result.visits[i]
        signed = [leaf_score[tree.nodes[n, TO_PLAY]] * (1 if tree.nodes[n, TO_PLAY] == BLACK else -1) for n in nodes]
        assert result.score[i] == pytest.approx(np.mean(signed)), action
    expanded = [n for n in range(tree.num_nodes) if tree.nodes[n, EDGE_COUNT] > 0]
    black = sum(tree.nodes[n, TO_PLAY] == BLACK for n in expanded)
    assert np.allclose(result.ownership, 0.5 * (2 * black - len(expanded)) / len(expanded))
    plain = MCTS(OwnershipEvaluator(size), MCTSConfig(num_simulations=20, batch_size=1)).run(board)
    assert plain.score is None and plain.ownership is None  # not asked for


def test_a_reused_root_gets_its_ownership_evaluated_again():
    size = 5
    searcher = MCTS(OwnershipEvaluator(size), MCTSConfig(num_simulations=60, batch_size=4), ownership=True)
    board = Board(size)
    action = searcher.run(board).best_action
    board.play(action)
    assert searcher.advance(action)
    result = searcher.run(board, 1)  # almost nothing new: the map is the root's own evaluation and that leaf
    assert result.ownership is not None and np.isfinite(result.ownership).all()


def test_terminal_score_is_the_area_margin_for_the_side_to_move():
    board = Board.from_ascii("""
        . X O . .
        X X O . .
        X O O . .
        X O . . .
        X O . . .
    """)
    board.play("pass")
    board.play("pass")
    state = np.array(board.state)
    margin = board.score("area").margin
    assert puct.terminal_score(state, board.komi) == pytest.approx(-margin if board.to_play != BLACK else margin)


@pytest.mark.parametrize("black_wins", [True, False])
def test_a_rollout_callback_values_every_leaf_that_wants_a_rollout(black_wins):
    """MCTS(rollout=...) (AlphaGo's learned rollouts): the callback gets one state per leaf the search would
    have rolled out (lambda 1: every simulation), each the leaf's own position, and its outcomes are what is
    backed up: a callback that says "black wins" everywhere gives black's root moves Q = +1 (the old light
    playouts would mix wins and losses)."""
    from tenuki.envs.go.layout import H_MOVE, H_TO_PLAY, base_len

    size = 5
    seen: list[np.ndarray] = []

    def rollout(states, komi):
        seen.extend(np.array(row) for row in states)
        black = states[:, H_TO_PLAY] == BLACK
        return np.where(black, 1.0, -1.0) * (1.0 if black_wins else -1.0)

    config = MCTSConfig(num_simulations=200, batch_size=8, c_init=5.0, c_base=0, mix_lambda=1.0, seed=3)
    searcher = MCTS(uniform_evaluator(size), config, rollout=rollout)
    result = searcher.run(Board(size, komi=0.5))
    assert len(seen) == result.simulations and all(row.shape == (base_len(size),) for row in seen)
    # a leaf d moves below the root (passes included) is to be played by black when d is even
    depths = [int(row[H_MOVE]) for row in seen]
    assert max(depths) >= 2
    for row, depth in zip(seen, depths):
        assert row[H_TO_PLAY] == (BLACK if depth % 2 == 0 else 3 - BLACK)
    q = result.q[~np.isnan(result.q)]
    assert q.size > 0 and np.all(q == (1.0 if black_wins else -1.0))


def test_without_a_rollout_callback_the_light_playouts_value_the_leaves():
    """The default (no callback) keeps the light rollouts inside the walk: Q mixes wins and losses."""
    config = MCTSConfig(num_simulations=200, batch_size=8, c_init=5.0, c_base=0, mix_lambda=1.0, seed=3)
    result = MCTS(uniform_evaluator(5), config).run(Board(5, komi=0.5))
    q = result.q[~np.isnan(result.q)]
    assert q.min() < 0.0 < q.max()
