"""AlphaGo's rollout policy: features on ASCII positions, the numba features against a slow
Python reference on random positions, the incremental playout cache against a recompute, the
sampler's frequencies against its probabilities, learning on real games, files and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tenuki.agents.go.rollout import (
    RolloutPolicy,
    RolloutWeightsError,
    Workspace,
    load_rollout_policy,
    playout_choose,
    playout_init,
    playout_step,
    policy_from_scratch,
    rollout_move,
    rollout_paths,
    save_rollout_policy,
    train_rollout,
)
from tenuki.agents.go.rollout import features as rf
from tenuki.commands.main import main as tenuki_main
from tenuki.commands.train_rollout import main as rollout_main
from tenuki.envs.go.board import BLACK, WHITE, Board
from tenuki.envs.go.coords import from_gtp
from tenuki.envs.go.layout import COUNT_SHIFT, H_LAST, H_PASSES, H_S, H_TO_PLAY, OFF_COLOR, padded_size

SEED, MASK = 12345, (1 << 16) - 1


def point(board: Board, vertex: str) -> int:
    a = from_gtp(vertex, board.size)
    return (a // board.size + 1) * (board.size + 1) + a % board.size + 1


def features_of(board: Board, color: int, last: int = 0, last2: int = 0) -> dict[int, list[int]]:
    """{point: sorted feature indices} of every candidate, from the numba kernel."""
    ws = Workspace.new(board.size)
    count = rf.candidate_features(board.state, color, last, last2, SEED, MASK, *ws.args())
    return {int(ws.cand[i]): sorted(int(f) for f in ws.feats[ws.offsets[i]:ws.offsets[i + 1]])
            for i in range(count)}


# ----------------------------------------------------------------------------- ASCII positions


SAVE = """
. . . . . . .
. . . . . . .
. . O X O . .
. . . O . . .
. . . . . . .
. . . . . . .
. . . . . . .
"""


def test_save_atari_capture_and_self_atari_on_ascii():
    board = Board.from_ascii(SAVE, to_play=BLACK, ko_rule="simple")
    feats = features_of(board, BLACK)
    # black D5 has one liberty, D6: extending there gives a chain of 3 liberties
    assert rf.F_SAVE_ATARI + 2 in feats[point(board, "D6")]
    for vertex in ("A1", "G7", "C6", "E4"):
        assert not any(rf.F_SAVE_ATARI <= f < rf.F_SAVE_ATARI + 4 for f in feats[point(board, vertex)])
    white = features_of(board, WHITE)
    assert rf.F_CAPTURE + 0 in white[point(board, "D6")]  # white captures the stone
    corner = Board.from_ascii("""
        . O . . .
        O . O . .
        . O . . .
        . . . . .
        . . . . .""", to_play=BLACK, ko_rule="simple")
    feats = features_of(corner, BLACK)
    assert point(corner, "A5") not in feats and point(corner, "B4") not in feats  # suicide: never a candidate
    assert rf.F_SELF_ATARI + 0 in feats[point(corner, "A3")]  # one liberty left (A2)
    assert not any(rf.F_SELF_ATARI <= f < rf.F_SELF_ATARI + 3 for f in feats[point(corner, "C3")])
    assert rf.F_LINE + 0 in feats[point(corner, "E1")] and rf.F_LINE + 2 in feats[point(corner, "C3")]
    assert point(corner, "A5") in features_of(corner, WHITE)


def test_atari_and_eye_features():
    board = Board.from_ascii("""
        . X . . .
        X . X . .
        . X . O .
        . . . . .
        . . . . .""", to_play=BLACK, ko_rule="simple")
    feats = features_of(board, BLACK)
    assert rf.F_EYE in feats[point(board, "B4")]  # a true eye of black
    assert rf.F_EYE not in feats[point(board, "C3")]
    assert point(board, "B4") not in features_of(board, WHITE)  # suicide for white
    assert not any(rf.F_ATARI <= f < rf.F_ATARI + 2 for f in feats[point(board, "C3")])  # D3 keeps 3
    two = Board.from_ascii("""
        . . . . .
        . . . . .
        . X O X .
        . . . . .
        . . . . .""", to_play=BLACK, ko_rule="simple")
    feats = features_of(two, BLACK)
    assert rf.F_ATARI + 1 in feats[point(two, "C4")]  # white C3 has 2 liberties: C4 puts it in atari
    assert rf.F_ATARI + 1 in feats[point(two, "C2")]


def test_neighbour_and_distance_relative_to_the_last_move():
    board = Board(9, ko_rule="simple")
    board.play("E5")
    board.play("C3")  # last move C3 (white), own last move E5 for black to move
    last, last2 = point(board, "C3"), point(board, "E5")
    feats = features_of(board, BLACK, last, last2)
    d4 = feats[point(board, "D4")]  # north-east of C3, distance 2 from both
    assert rf.F_NEIGHBOUR + 1 in d4 and rf.F_RESPONSE in d4
    assert rf.F_DIST_LAST + 1 in d4 and rf.F_DIST_LAST2 + 1 in d4
    c5 = feats[point(board, "C5")]  # 2 north of C3: in the diamond, not a neighbour
    assert rf.F_RESPONSE in c5 and not any(rf.F_NEIGHBOUR <= f < rf.F_NEIGHBOUR + 8 for f in c5)
    far = feats[point(board, "J9")]
    assert rf.F_RESPONSE not in far and not any(rf.F_DIST_LAST <= f < rf.F_DIST_LAST + 8 for f in far)
    assert rf.F_DIST_LAST2 + 7 in far  # E5 -> J9: 4 + 4 = 8
    assert rf.F_NEIGHBOUR + 4 in feats[point(board, "C2")]  # south of C3


def test_pattern_hash_depends_only_on_the_local_pattern():
    # The same 3x3 pattern (up to a symmetry) on boards of different sizes gives the same feature.
    a = Board.from_ascii("""
        . . . . . . .
        . . . . . . .
        . . . . . . .
        . X . . . . .
        . . . O . . .
        . . . . . . .
        . . . . . . .""", to_play=BLACK, ko_rule="simple")
    b = Board(19, ko_rule="simple")
    # around P14: black Q15 (north-east), white O14 (west): C3's pattern mirrored left-right
    b.set_stones(black=[from_gtp("Q15", 19), from_gtp("K10", 19)], white=[from_gtp("O14", 19), from_gtp("C3", 19)])
    b.set_to_play(BLACK)
    pa = [f for f in features_of(a, BLACK)[point(a, "C3")] if f >= rf.RESERVED]
    pb = [f for f in features_of(b, BLACK)[point(b, "P14")] if f >= rf.RESERVED]
    assert pa == pb and len(pa) == 1
    assert [f for f in features_of(b, BLACK)[point(b, "P13")] if f >= rf.RESERVED] != pa
    other = [f for f in features_of(a, WHITE)[point(a, "C3")] if f >= rf.RESERVED]
    assert other != pa  # colours are the player's


# ----------------------------------------------------------------------------- reference


def _mix(code: int, salt: int, seed: int) -> int:
    m = (1 << 64) - 1
    z = (code ^ (salt * 0x9E3779B97F4A7C15) ^ seed) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return z ^ (z >> 31)


def _hashed(code: int, salt: int) -> int:
    i = _mix(code, salt, SEED) & MASK
    return i + rf.RESERVED if i < rf.RESERVED else i


class Reference:
    """Slow features from the stone array and flood fills (no kernel state read)."""

    def __init__(self, board: Board):
        self.n = board.size
        self.stones = board.stones().astype(int)
        self.chain_of: dict[tuple, frozenset] = {}
        for r in range(self.n):
            for c in range(self.n):
                if self.stones[r, c] and (r, c) not in self.chain_of:
                    chain, frontier = {(r, c)}, [(r, c)]
                    while frontier:
                        for q in self.nbrs(*frontier.pop()):
                            if self.stones[q] == self.stones[r, c] and q not in chain:
                                chain.add(q)
                                frontier.append(q)
                    for s in chain:
                        self.chain_of[s] = frozenset(chain)

    def on(self, r, c):
        return 0 <= r < self.n and 0 <= c < self.n

    def nbrs(self, r, c):
        return [(r + dr, c + dc) for dr, dc in ((-1, 0), (0, -1), (0, 1), (1, 0)) if self.on(r + dr, c + dc)]

    def libs(self, q) -> set:
        return {x for s in self.chain_of[q] for x in self.nbrs(*s) if self.stones[x] == 0}

    def rel(self, r, c, color):
        if not self.on(r, c):
            return 3
        v = self.stones[r, c]
        return 0 if v == 0 else (1 if v == color else 2)

    def true_eye(self, r, c, color):
        if any(self.stones[q] != color for q in self.nbrs(r, c)):
            return False
        diag = [(r + a, c + b) for a in (-1, 1) for b in (-1, 1)]
        enemy = sum(1 for q in diag if self.on(*q) and self.stones[q] == 3 - color)
        return enemy == 0 if any(not self.on(*q) for q in diag) else enemy <= 1

    def static(self, r, c, color):
        vals = {}
        for dr, dc in rf.RING:
            v = self.rel(r + dr, c + dc, color) * 4
            if abs(dr) + abs(dc) == 1 and v in (4, 8):
                v += min(len(self.libs((r + dr, c + dc))), 3)
            vals[(dr, dc)] = v
        from tenuki.agents.go.rollout.features import _symmetries

        code = min(sum(vals[o] << (4 * rf.RING.index(f(*o))) for o in rf.RING) for f in _symmetries())
        out = [_hashed(code, rf.SALT_PATTERN3)]
        own = {self.chain_of[q] for q in self.nbrs(r, c) if self.stones[q] == color}
        opp = {self.chain_of[q] for q in self.nbrs(r, c) if self.stones[q] == 3 - color}
        captured = [ch for ch in opp if len(self.libs(next(iter(ch)))) == 1]
        after = {q for q in self.nbrs(r, c) if self.stones[q] == 0 or any(q in ch for ch in captured)}
        for ch in own:
            after |= self.libs(next(iter(ch)))
        after.discard((r, c))
        la = min(len(after), 3)
        if la == 0 and not captured:
            return None
        if captured:
            size = sum(len(ch) for ch in captured)
            saves = any(self.stones[x] == color and len(self.libs(x)) == 1
                        for ch in captured for s in ch for x in self.nbrs(*s))
            out.append(rf.F_CAPTURE + min(size, 3) - 1 + 3 * saves)
        else:
            atari = [len(ch) for ch in own if len(self.libs(next(iter(ch)))) == 1]
            if atari and la >= 2:
                out.append(rf.F_SAVE_ATARI + 2 * (la >= 3) + (max(atari) > 1))
            if la == 1:
                out.append(rf.F_SELF_ATARI + min(1 + sum(len(ch) for ch in own), 3) - 1)
            if any(len(self.libs(next(iter(ch)))) == 2 for ch in opp):
                out.append(rf.F_ATARI + (la >= 2))
        line = min(r, c, self.n - 1 - r, self.n - 1 - c)
        if line <= 3:
            out.append(rf.F_LINE + line)
        if self.true_eye(r, c, color):
            out.append(rf.F_EYE)
        return out

    def dynamic(self, r, c, color, last, last2):
        out = []
        if last is not None:
            lr, lc = last
            dr, dc = r - lr, c - lc
            d = abs(dr) + abs(dc)
            if d <= 2:
                from tenuki.agents.go.rollout.features import _symmetries

                vals = {}
                for o in rf.DIAMOND:
                    q = (lr + o[0], lc + o[1])
                    v = self.rel(*q, color)
                    if v in (1, 2) and len(self.libs(q)) == 1:
                        v += 4
                    vals[o] = v
                centre = min(len(self.libs(last)), 3)
                code = min(sum(vals[o] << (3 * rf.DIAMOND.index(f(*o))) for o in rf.DIAMOND)
                           | centre << 36 | rf.DIAMOND.index(f(dr, dc)) << 38 for f in _symmetries())
                out += [rf.F_RESPONSE, _hashed(code, rf.SALT_RESPONSE)]
            if max(abs(dr), abs(dc)) == 1:
                out.append(rf.F_NEIGHBOUR + rf.RING.index((dr, dc)))
            if d <= rf.MAX_DISTANCE:
                out.append(rf.F_DIST_LAST + d - 1)
        if last2 is not None:
            d = abs(r - last2[0]) + abs(c - last2[1])
            if 1 <= d <= rf.MAX_DISTANCE:
                out.append(rf.F_DIST_LAST2 + d - 1)
        return out


def random_board(size: int, moves: int, seed: int) -> Board:
    rng = np.random.default_rng(seed)
    board = Board(size, ko_rule="simple")
    for _ in range(moves):
        legal = board.legal_moves()
        legal = legal[legal != size * size] if legal.shape[0] > 1 else legal
        board.play(int(rng.choice(legal)))
    return board


@pytest.mark.parametrize("size,moves,seed", [(9, 40, 1), (9, 70, 2), (13, 120, 3), (19, 200, 4)])
def test_numba_features_equal_the_python_reference(size, moves, seed):
    board = random_board(size, moves, seed)
    color = int(board.state[H_TO_PLAY])
    history = board.moves
    w = size + 1
    last = int(board.state[H_LAST])
    last2 = (history[-2][1] // size + 1) * w + history[-2][1] % size + 1
    got = features_of(board, color, last, last2)
    ref = Reference(board)
    ko = board.ko_point
    expected = {}
    for r in range(size):
        for c in range(size):
            if ref.stones[r, c] or r * size + c == ko:
                continue
            static = ref.static(r, c, color)
            if static is not None:
                feats = static + ref.dynamic(r, c, color, (last // w - 1, last % w - 1),
                                             (last2 // w - 1, last2 % w - 1))
                expected[(r + 1) * w + c + 1] = sorted(feats)
    assert set(got) == set(expected)
    for p in got:
        assert got[p] == expected[p], (p, got[p], expected[p])
    legal = {int(a) for a in board.legal_moves() if a != size * size}
    assert {(p // w - 1) * size + p % w - 1 for p in got} == legal


# ----------------------------------------------------------------------------- playouts and sampling


def random_policy(bits: int = 16, seed: int = 0) -> RolloutPolicy:
    rng = np.random.default_rng(seed)
    return RolloutPolicy(rng.normal(0.0, 1.0, 1 << bits).astype(np.float32), hash_seed=SEED)


def fresh_cache(st: np.ndarray, policy: RolloutPolicy) -> tuple[np.ndarray, np.ndarray]:
    s = int(st[H_S])
    libs, mark = np.zeros(s, np.int64), np.zeros(s + 1, np.int64)
    cache, factor = np.zeros(2 * s), np.ones(s)
    playout_init(st, policy.weights, policy.hash_seed, policy.mask, libs, mark, np.zeros(rf.MAX_FEATURES, np.int64),
                 cache, factor)
    return cache, libs


@pytest.mark.parametrize("size,seed", [(9, 5), (9, 8), (13, 9), (19, 6)])
def test_incremental_playout_cache_equals_a_recompute(size, seed):
    policy = random_policy()
    board = random_board(size, 10, seed)
    st = board.state.copy()
    s = padded_size(size)
    cache, libs = fresh_cache(st, policy)
    mark, dmark = np.zeros(s + 1, np.int64), np.zeros(s + 1, np.int64)
    fs, resp, scratch = np.zeros(rf.MAX_FEATURES, np.int64), np.zeros(12, np.int64), np.zeros(32, np.int64)
    factor, near, work = np.ones(s), np.zeros(2 * s, np.int64), np.zeros(4 * s, np.int64)
    rng = np.array([99], np.uint64)
    last, last2 = int(st[H_LAST]), 0
    empties = lambda: [p for p in range(s) if st[OFF_COLOR + p] == 0]
    passes = 0
    for move in range(3 * size * size):
        color = int(st[H_TO_PLAY])
        p = playout_choose(st, color, last, last2, policy.exp_weights(), policy.hash_seed, policy.mask, libs, mark,
                           fs, resp, scratch, cache, factor, near, rng)
        assert np.all(factor == 1.0)
        playout_step(st, p, color, policy.weights, policy.hash_seed, policy.mask, libs, mark, fs, cache, work, dmark)
        last, last2 = p, last
        want, want_libs = fresh_cache(st, policy)
        points = empties()
        idx = points + [s + q for q in points]
        np.testing.assert_allclose(cache[idx], want[idx], rtol=1e-12, err_msg=f"move {move}")
        heads = [q for q in range(s) if st[OFF_COLOR + q] in (1, 2) and st[OFF_COLOR + s + q] == q]
        assert np.array_equal(libs[heads], want_libs[heads]), f"move {move}"
        passes += p == 0
        if st[H_PASSES] >= 2:
            break
    assert move > size * size // 2 and passes >= 2  # played out to the end


def test_sampler_frequencies_match_the_probabilities():
    policy = random_policy(seed=3)
    board = random_board(9, 30, 7)
    st = board.state
    color = int(st[H_TO_PLAY])
    last = int(st[H_LAST])
    ws = Workspace.new(9)
    count = policy_from_scratch(st, color, last, 0, policy.weights, policy.hash_seed, policy.mask, True, *ws.args(),
                                ws.scores)
    probs = dict(zip(ws.cand[:count].tolist(), ws.scores[:count].tolist()))
    draws = 20000
    rng = np.array([12345], np.uint64)
    counts: dict[int, int] = {}
    for _ in range(draws):
        p = rollout_move(st, policy.weights, policy.hash_seed, policy.mask, last, 0, rng, *ws.args(), ws.scores)
        counts[p] = counts.get(p, 0) + 1
    # The incremental sampler on the same position draws from the same distribution. Its kernels run on a
    # writable copy, as inside a rollout (the from-scratch kernels above read the read-only view).
    work = st.copy()
    s = padded_size(9)
    cache, libs = fresh_cache(work, policy)
    inc: dict[int, int] = {}
    args = (np.zeros(s + 1, np.int64), np.zeros(rf.MAX_FEATURES, np.int64), np.zeros(12, np.int64),
            np.zeros(32, np.int64), cache, np.ones(s), np.zeros(2 * s, np.int64), rng)
    for _ in range(draws):
        p = playout_choose(work, color, last, 0, policy.exp_weights(), policy.hash_seed, policy.mask, libs, *args)
        inc[p] = inc.get(p, 0) + 1
    for sample in (counts, inc):
        assert set(sample) <= {p for p, q in probs.items() if q > 0}
        expected = np.array([probs[p] for p in probs]) * draws
        observed = np.array([sample.get(p, 0) for p in probs])
        keep = expected >= 5
        chi2 = float((((observed - expected) ** 2)[keep] / expected[keep]).sum())
        dof = int(keep.sum()) - 1
        assert chi2 < dof + 5 * np.sqrt(2 * dof), (chi2, dof)  # ~5 sigma


def test_playouts_reach_the_end_and_score():
    policy = random_policy()
    board = Board(9)
    out = np.zeros(8, np.int64)
    moves = policy.playouts(board.state, 1, 8, 3 * 81, out)
    assert 8 * 40 < moves < 8 * 3 * 81
    assert np.all(np.abs(out) <= 81)
    before = board.state.copy()
    policy.playouts(board.state, 2, 2, 3 * 81, out[:2])
    assert np.array_equal(board.state, before)  # the caller's state is left alone
    probs = policy.probabilities(board)
    assert probs.shape == (82,) and abs(probs.sum() - 1) < 1e-9 and probs[81] == 0
    assert 0 <= policy.sample(board, seed=4) < 81


# ----------------------------------------------------------------------------- files


def test_save_load_round_trip_and_malformed_files(tmp_path: Path):
    policy = random_policy(bits=12)
    policy.meta = {"val_accuracy": 0.25}
    weights_path, sidecar_path = save_rollout_policy(policy, tmp_path / "r")
    assert (weights_path, sidecar_path) == rollout_paths(tmp_path / "r.json")
    loaded = load_rollout_policy(tmp_path / "r.safetensors")
    assert np.array_equal(loaded.weights, policy.weights) and loaded.hash_seed == SEED
    assert loaded.meta == {"val_accuracy": 0.25}
    sidecar = json.loads(sidecar_path.read_text())
    with pytest.raises(RolloutWeightsError, match="hash"):
        weights_path.write_bytes(weights_path.read_bytes()[:-4] + b"\0\0\0\0")
        load_rollout_policy(tmp_path / "r")
    save_rollout_policy(policy, tmp_path / "r")
    for key, value, match in (("table_bits", 13, "weights"), ("table_bits", "x", "table_bits"),
                              ("hash_seed", None, "hash_seed"), ("format", "pickle", "format"),
                              ("features", {"reserved": 1}, "feature layout")):
        bad = dict(sidecar, **{key: value})
        if key == "table_bits" and value == 13:
            bad["weights_sha256"] = sidecar["weights_sha256"]
        sidecar_path.write_text(json.dumps(bad))
        with pytest.raises(RolloutWeightsError, match=match):
            load_rollout_policy(tmp_path / "r")
    sidecar_path.write_text(json.dumps(dict(sidecar, extra=1)))
    with pytest.raises(RolloutWeightsError, match="unknown keys"):
        load_rollout_policy(tmp_path / "r")
    sidecar_path.write_text("{not json")
    with pytest.raises(RolloutWeightsError, match="JSON"):
        load_rollout_policy(tmp_path / "r")
    junk = b"\x10\0\0\0\0\0\0\0{\"a\": 1}        "
    import hashlib

    sidecar_path.write_text(json.dumps(dict(sidecar, weights_bytes=len(junk),
                                            weights_sha256=hashlib.sha256(junk).hexdigest())))
    weights_path.write_bytes(junk)
    with pytest.raises(RolloutWeightsError, match="safetensors"):
        load_rollout_policy(tmp_path / "r")
    with pytest.raises(RolloutWeightsError, match="no such"):
        load_rollout_policy(tmp_path / "missing")


# ----------------------------------------------------------------------------- real games


@pytest.mark.data
def test_training_on_real_games_beats_uniform_and_the_cli_runs(data_dir: Path, tmp_path: Path, capsys):
    tom = data_dir / "go" / "tom9d.tar.gz"
    if not tom.is_file():
        pytest.skip(f"{tom} is missing")
    result = train_rollout([tom], tmp_path / "r", games=30, val_games=10, epochs=1, lr=0.05, seed=1, table_bits=16)
    # A uniform choice among ~250 candidates is right < 1% of the time; local features do far better.
    assert result["val_accuracy"] > 0.18, result  # measured 0.25
    assert result["val_positions"] > 1000 and result["games_trained"] == 30
    policy = RolloutPolicy.load(tmp_path / "r")
    assert policy.meta["val_accuracy"] == result["val_accuracy"]
    code = tenuki_main(["train", "rollout", "--source", str(tom), "--out", str(tmp_path / "cli"), "--games", "3",
                        "--val-games", "2", "--table-bits", "12", "--json"])
    out = capsys.readouterr().out
    assert code == 0 and json.loads(out)["games_trained"] == 3 and out.count("\n") == 1
    assert rollout_main(["--source", str(tmp_path / "nothing.sgf"), "--out", str(tmp_path / "x"), "--json"]) == 2


@pytest.mark.data
def test_training_on_a_dataset_uses_its_split(tiny_data: Path, tmp_path: Path, capsys):
    """--data: the training games come from the dataset's train split, the validation games are its
    validation split (the SL policy's), and held_out_games re-reads exactly those."""
    from tenuki.agents.go.dataset.shards import GameShards, read_meta
    from tenuki.agents.go.rollout import held_out_games

    meta = read_meta(tiny_data)
    result = train_rollout(None, tmp_path / "r", data=tiny_data, games=20, val_games=0, table_bits=14)
    assert result["games_trained"] == 20 and result["val_games"] == meta["games"]["val"] > 0
    assert result["data"] == str(tiny_data) and result["sources"] == []
    assert result["val_accuracy"] > 0.1, result
    val = GameShards(tiny_data, "val")
    expected = sum(int((g.actions != 361).sum()) for g in val.iter_games())
    assert result["val_positions"] + result["val_skipped_positions"] == expected
    again = held_out_games(RolloutPolicy.load(tmp_path / "r").meta)
    assert len(again) == result["val_games"]
    assert all(np.array_equal(m, g.colours.astype(np.int64) * COUNT_SHIFT + g.actions)
               for (_, m), g in zip(again, val.iter_games(), strict=True))
    code = tenuki_main(["train", "rollout", "--data", str(tiny_data), "--out", str(tmp_path / "cli"), "--games", "3",
                        "--val-games", "2", "--table-bits", "12", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["val_games"] == 2
    assert rollout_main(["--data", str(tiny_data), "--source", "x.sgf", "--out", str(tmp_path / "x")]) == 2
    assert "give --source" in capsys.readouterr().err
    assert rollout_main(["--out", str(tmp_path / "x")]) == 2
    assert "give --source" in capsys.readouterr().err
    assert rollout_main(["--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")]) == 2
    assert "nothing" in capsys.readouterr().err


def test_benchmark_prints_one_json_object(tmp_path: Path):
    policy = random_policy(bits=12)
    save_rollout_policy(policy, tmp_path / "r")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.rollout_policy", "--weights", str(tmp_path / "r"), "--seconds", "0.3",
         "--rounds", "1", "--accuracy-games", "0", "--json"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=600, check=True)
    result = json.loads(proc.stdout)
    assert proc.stdout.count("\n") == 1
    for key in ("rollout_moves_per_s", "random_playout_moves_per_s", "rollout_vs_random_speed",
                "feature_extraction_us_per_position"):
        assert result[key] > 0, key


@pytest.mark.parametrize("komi, to_play", [(0.5, "b"), (0.5, "w"), (30.5, "b"), (30.5, "w")])
def test_leaf_rollout_scores_a_settled_position_like_the_board(komi, to_play):
    """RolloutPolicy.leaf_rollout (the search's rollout callback): from a position where no move is left but
    filling own eyes, every rollout ends at once and its outcome for the side to move is the sign of
    Board.score's area margin (an independent count), from black's view when black is to move."""
    from tenuki.envs.go.layout import base_len

    board = Board.from_ascii("""
        X X X X X
        X . X . X
        X X X X X
        X . X . X
        X X X X X
    """, to_play=to_play, komi=komi)
    margin = board.score().margin
    expected = np.sign(margin) * (1.0 if to_play == "b" else -1.0)
    rollout = RolloutPolicy.zeros().leaf_rollout(seed=5)
    states = np.stack([board.state[:base_len(5)]] * 3)
    assert rollout(states, komi).tolist() == [expected] * 3
