"""Tests of tenuki.agents.dqn.replay (frame replay) and tenuki.agents.dqn.sumtree.

Frames are tiny (2 x 3) and their pixels encode (env, episode, t), so a stack read from the ring tells exactly
which observations it was built from. A slow pure-Python reference replays the same calls with plain lists and
defines what every sampleable transition must be; the numba buffer must match it transition by transition.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tenuki.agents.dqn.replay import FrameReplay, ReplayError, ReplayFileError, ReplayMemoryError
from tenuki.agents.dqn.sumtree import new_tree, tree_find, tree_set_many, tree_total

SHAPE = (2, 3)


def frame(env: int, episode: int, t: int) -> np.ndarray:
    """A frame whose pixels say (env, episode, t); never all zeros (zeros mean padding)."""
    return np.array([[env + 1, episode % 250 + 1, t % 250 + 1], [t // 250 + 1, 77, 99]], dtype=np.uint8)


def decode(image: np.ndarray) -> tuple[int, int, int] | None:
    if not image.any():
        return None
    return int(image[0, 0]) - 1, int(image[0, 1]) - 1, int(image[0, 2]) - 1 + 250 * (int(image[1, 0]) - 1)


def observation(t: int, episode: int, *, first: bool = False, final: bool = False) -> dict:
    """One observation of the reference: where it is, and the transition from it once added."""
    return {"t": t, "episode": episode, "first": first, "final": final, "has": False, "end": False, "terminal": False}


class Reference:
    """The same call stream kept as plain per-env lists of observations; the last ``ring`` of them survive."""

    def __init__(self, num_envs: int, ring: int, stack: int, n_step: int, gamma: float) -> None:
        self.records: list[list[dict]] = [[] for _ in range(num_envs)]
        self.open = [False] * num_envs
        self.episode = [-1] * num_envs
        self.ring, self.stack, self.n_step, self.gamma = ring, stack, n_step, gamma

    def begin(self, env: int) -> np.ndarray:
        records = self.records[env]
        if self.open[env]:  # cut like a time limit
            records[-1]["final"] = True
            if not records[-1]["first"]:
                records[-2]["end"] = True
        self.episode[env] += 1
        self.open[env] = True
        records.append(observation(0, self.episode[env], first=True))
        return frame(env, self.episode[env], 0)

    def add(self, env: int, action: int, reward: float, terminal: bool, end: bool) -> np.ndarray:
        records = self.records[env]
        last = records[-1]
        last.update(has=True, action=action, reward=reward, terminal=terminal, end=end)
        t = last["t"] + 1
        image = frame(env, last["episode"], t)
        if not end:
            records.append(observation(t, last["episode"]))
        else:
            self.open[env] = False
            if not terminal:
                records.append(observation(t, last["episode"], final=True))
        return image

    def _stack(self, env: int, position: int, alive_from: int):
        records = self.records[env]
        images = []
        for k in range(self.stack):
            if k > 0 and records[position + 1]["first"]:
                images.append(np.zeros(SHAPE, np.uint8))
                continue
            if position < alive_from:
                return None
            images.append(frame(env, records[position]["episode"], records[position]["t"]))
            position -= 1
        return np.stack(images[::-1])

    def transitions(self) -> dict:
        """(env, episode, t) -> (obs, action, return, next_obs, discount) for every sampleable transition."""
        out = {}
        for env, records in enumerate(self.records):
            alive_from = len(records) - self.ring
            for i, record in enumerate(records):
                if i < alive_from or not record["has"]:
                    continue
                obs = self._stack(env, i, alive_from)
                total, steps, terminal, complete = 0.0, 0, False, False
                for k in range(self.n_step):
                    if i + k >= len(records) or not records[i + k]["has"]:
                        break
                    total += self.gamma**k * records[i + k]["reward"]
                    steps = k + 1
                    if records[i + k]["terminal"]:
                        terminal = complete = True
                        break
                    if records[i + k]["end"] or steps == self.n_step:
                        complete = True
                        break
                if obs is None or not complete:
                    continue
                if terminal:
                    next_obs, discount = np.zeros((self.stack, *SHAPE), np.uint8), 0.0
                else:
                    next_obs, discount = self._stack(env, i + steps, alive_from), self.gamma**steps
                out[(env, record["episode"], record["t"])] = (obs, record["action"], total, next_obs, discount)
        return out


def run_random(buffer: FrameReplay, reference: Reference, steps: int, rng: np.random.Generator, check=None,
               check_every: int = 25) -> None:
    """Random interleaved stepping: subsets of envs in random order, life losses, game overs, time limits,
    and now and then a ``begin`` on an open episode."""
    num_envs = buffer.num_envs
    for env in range(num_envs):
        buffer.begin(reference.begin(env)[None], [env])
    for step in range(steps):
        ids = rng.permutation(num_envs)[: rng.integers(1, num_envs + 1)]
        actions = rng.integers(0, 18, ids.size)
        rewards = rng.integers(-2, 3, ids.size).astype(np.float32) * 0.5
        ends = rng.random(ids.size) < 0.07
        terminals = (rng.random(ids.size) < 0.08) | (ends & (rng.random(ids.size) < 0.5))
        images = np.stack([reference.add(int(e), int(a), float(r), bool(d), bool(x))
                           for e, a, r, d, x in zip(ids, actions, rewards, terminals, ends)])
        buffer.add(actions, rewards, terminals, ends, images, env_ids=ids)
        restart = [int(e) for e, x in zip(ids, ends) if x]
        if rng.random() < 0.02:
            restart += [e for e in range(num_envs) if e not in restart and reference.open[e]][:1]
        if restart:
            buffer.begin(np.stack([reference.begin(e) for e in restart]), env_ids=restart)
        if check is not None and step % check_every == check_every - 1:
            check()


def assert_matches_reference(buffer: FrameReplay, reference: Reference) -> None:
    expected = reference.transitions()
    indices = buffer.sampleable_indices()
    assert len(buffer) == indices.size == len(expected)
    if indices.size == 0:
        return
    batch = buffer.gather(indices)
    seen = set()
    for b in range(indices.size):
        key = decode(batch.obs[b, -1])
        assert key in expected, f"slot {indices[b]} holds {key}, which the reference does not sample"
        seen.add(key)
        obs, action, total, next_obs, discount = expected[key]
        np.testing.assert_array_equal(batch.obs[b], obs)
        assert batch.actions[b] == action
        assert batch.returns[b] == pytest.approx(total, abs=1e-5)
        assert batch.discounts[b] == pytest.approx(discount, abs=1e-6)
        np.testing.assert_array_equal(batch.next_obs[b], next_obs)
    assert seen == set(expected)


# ------------------------------------------------------------------------------------------- stacks, n-step


def single_episode(buffer: FrameReplay, rewards, terminals, end_terminal: bool | None, episode: int = 0,
                   env: int = 0) -> None:
    """One episode in env 0: ``end_terminal`` None = still open, True = game over, False = time limit."""
    buffer.begin(frame(env, episode, 0)[None], [env])
    for t, (reward, terminal) in enumerate(zip(rewards, terminals)):
        last = t == len(rewards) - 1 and end_terminal is not None
        buffer.add([t % 4], [reward], [terminal or (last and end_terminal)], [last], frame(env, episode, t + 1)[None],
                   env_ids=[env])


def by_time(buffer: FrameReplay) -> dict:
    batch = buffer.gather(buffer.sampleable_indices())
    return {decode(batch.obs[b, -1]): b for b in range(batch.indices.size)}, batch


def test_stack_is_zero_padded_before_the_first_frame_and_never_crosses_episodes():
    buffer = FrameReplay(64, stack=4, frame_shape=SHAPE)
    single_episode(buffer, [1.0] * 5, [False] * 5, end_terminal=True, episode=0)
    single_episode(buffer, [1.0] * 6, [False] * 6, end_terminal=False, episode=1)
    rows, batch = by_time(buffer)
    zero = np.zeros(SHAPE, np.uint8)
    for (env, episode, t), b in rows.items():
        for k in range(4):
            age = 3 - k
            want = frame(env, episode, t - age) if t - age >= 0 else zero
            np.testing.assert_array_equal(batch.obs[b, k], want)
    np.testing.assert_array_equal(batch.obs[rows[(0, 1, 0)]][:3], np.zeros((3, *SHAPE), np.uint8))
    # the truncated episode's last transition bootstraps from its final frame (t = 6), the game over's does not
    last = rows[(0, 1, 5)]
    assert decode(batch.next_obs[last, -1]) == (0, 1, 6) and batch.discounts[last] == pytest.approx(0.99)
    assert not batch.next_obs[rows[(0, 0, 4)]].any() and batch.discounts[rows[(0, 0, 4)]] == 0.0


def test_nstep_returns_hand_computed_terminal_and_truncation():
    gamma = 0.5
    for end_terminal in (True, False):
        buffer = FrameReplay(64, n_step=3, gamma=gamma, frame_shape=SHAPE)
        single_episode(buffer, [1.0, 2.0, 3.0, 4.0], [False] * 4, end_terminal=end_terminal)
        rows, batch = by_time(buffer)
        assert set(rows) == {(0, 0, t) for t in range(4)}
        # t = 0: 1 + 0.5 * 2 + 0.25 * 3 = 2.75, bootstrap from the observation at t = 3 with 0.5^3
        b = rows[(0, 0, 0)]
        assert batch.returns[b] == pytest.approx(2.75) and batch.discounts[b] == pytest.approx(0.125)
        assert [decode(image) for image in batch.next_obs[b]] == [(0, 0, t) for t in range(4)]
        # t = 2: the window stops at the episode's last step: 3 + 0.5 * 4 = 5
        b = rows[(0, 0, 2)]
        assert batch.returns[b] == pytest.approx(5.0)
        if end_terminal:
            assert batch.discounts[b] == 0.0 and not batch.next_obs[b].any()
        else:  # truncation: bootstrap from the final observation (frames 1..4) with gamma^2
            assert batch.discounts[b] == pytest.approx(0.25)
            assert [decode(image) for image in batch.next_obs[b]] == [(0, 0, t) for t in range(1, 5)]
        b = rows[(0, 0, 3)]
        assert batch.returns[b] == pytest.approx(4.0)
        assert batch.discounts[b] == pytest.approx(0.0 if end_terminal else 0.5)


def test_life_loss_terminal_stops_nstep_but_not_the_stack():
    buffer = FrameReplay(64, n_step=3, gamma=0.5, frame_shape=SHAPE)
    single_episode(buffer, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [False, True, False, False, False, False], None)
    rows, batch = by_time(buffer)
    # open episode, n = 3: t = 0..3 are complete (t = 0, 1 stop at the life loss at t = 1)
    assert set(rows) == {(0, 0, t) for t in range(4)}
    b = rows[(0, 0, 0)]
    assert batch.returns[b] == pytest.approx(1.5) and batch.discounts[b] == 0.0
    b = rows[(0, 0, 2)]
    assert batch.returns[b] == pytest.approx(1.75) and batch.discounts[b] == pytest.approx(0.125)
    assert [decode(image) for image in batch.obs[b]] == [None, (0, 0, 0), (0, 0, 1), (0, 0, 2)]
    assert [decode(image) for image in batch.obs[rows[(0, 0, 3)]]] == [(0, 0, t) for t in range(4)]


def test_begin_on_an_open_episode_cuts_it_like_a_time_limit():
    buffer = FrameReplay(64, n_step=3, gamma=0.5, frame_shape=SHAPE)
    single_episode(buffer, [1.0, 2.0, 4.0], [False] * 3, end_terminal=None)
    assert len(buffer) == 1  # t = 0 only: t = 1, 2 wait for more steps
    buffer.begin(frame(0, 1, 0)[None])
    rows, batch = by_time(buffer)
    assert set(rows) == {(0, 0, 0), (0, 0, 1), (0, 0, 2)}
    b = rows[(0, 0, 1)]
    assert batch.returns[b] == pytest.approx(4.0) and batch.discounts[b] == pytest.approx(0.25)
    assert decode(batch.next_obs[b, -1]) == (0, 0, 3)


@pytest.mark.parametrize("n_step", [1, 3])
def test_random_interleaved_stream_equals_python_reference(n_step):
    """Multi-env interleaving, life losses, game overs, truncations, several ring wrap-arounds."""
    ring, num_envs = 23, 3
    buffer = FrameReplay(ring * num_envs + 2, num_envs, n_step=n_step, gamma=0.9, frame_shape=SHAPE, seed=1)
    reference = Reference(num_envs, ring, 4, n_step, 0.9)
    rng = np.random.default_rng(n_step)
    run_random(buffer, reference, 300, rng, check=lambda: assert_matches_reference(buffer, reference))
    assert all(len(records) > 2 * ring for records in reference.records)  # the rings wrapped
    assert_matches_reference(buffer, reference)
    expected = reference.transitions()
    for _ in range(20):  # what sample() returns is sampleable and built the same way
        batch = buffer.sample(32)
        for b in range(32):
            key = decode(batch.obs[b, -1])
            np.testing.assert_array_equal(batch.obs[b], expected[key][0])
            assert key[0] == batch.indices[b] // ring  # each env only ever reads its own ring
            assert {decode(image)[0] for image in batch.obs[b] if image.any()} == {key[0]}


def test_wrap_around_makes_stacks_reaching_overwritten_frames_unsampleable():
    ring = 20
    buffer = FrameReplay(ring, stack=4, frame_shape=SHAPE)
    single_episode(buffer, [0.0] * 50, [False] * 50, end_terminal=None)
    # 51 frames written into 20 slots: the current observation has no transition yet, and the 3 oldest
    # slots would need frames that were overwritten: 20 - 1 - 3 sampleable, none zero-padded
    assert len(buffer) == ring - 1 - 3
    rows, batch = by_time(buffer)
    assert sorted(t for _, _, t in rows) == list(range(50 - 16, 50))
    for (_, _, t), b in rows.items():
        assert [decode(image)[2] for image in batch.obs[b]] == [t - 3, t - 2, t - 1, t]


# ------------------------------------------------------------------------------------------- sum tree, PER


def test_sum_tree_sampling_frequencies_match_priorities():
    rng = np.random.default_rng(0)
    priorities = rng.uniform(0.1, 3.0, 13)
    priorities[[2, 7]] = 0.0
    tree = new_tree(13)
    tree_set_many(tree, np.arange(13), priorities)
    assert tree_total(tree) == pytest.approx(priorities.sum())
    draws = 200_000
    masses = rng.random(draws) * tree_total(tree)
    counts = np.bincount([tree_find(tree, m) for m in masses], minlength=16)
    assert counts[[2, 7]].sum() == 0 and counts[13:].sum() == 0
    nonzero = priorities > 0
    expected = draws * priorities[nonzero] / priorities.sum()
    assert stats.chisquare(counts[:13][nonzero], expected).pvalue > 1e-3
    # the test has power: a flat distribution is rejected
    assert stats.chisquare(counts[:13][nonzero], np.full(nonzero.sum(), draws / nonzero.sum())).pvalue < 1e-9
    assert tree_find(tree, tree_total(tree) * (1 + 1e-12)) == 12  # past the end: the last non-zero leaf


def filled_prioritized(size: int = 20, **kwargs) -> FrameReplay:
    buffer = FrameReplay(64, prioritized=True, frame_shape=SHAPE, **kwargs)
    single_episode(buffer, [0.0] * size, [False] * size, end_terminal=True)
    return buffer


def test_prioritized_sampling_frequencies_match_priorities():
    buffer = filled_prioritized(alpha=1.0, priority_eps=1e-9)
    indices = buffer.sampleable_indices()
    priorities = np.arange(1, indices.size + 1, dtype=np.float64)
    buffer.update_priorities(indices, priorities)
    counts = np.zeros(buffer.capacity)
    for _ in range(1000):
        np.add.at(counts, buffer.sample(32).indices, 1)
    expected = 32_000 * priorities / priorities.sum()
    assert stats.chisquare(counts[indices], expected).pvalue > 1e-3
    assert counts.sum() == counts[indices].sum()


def test_uniform_sampling_is_flat_with_unit_weights():
    buffer = FrameReplay(64, frame_shape=SHAPE)
    single_episode(buffer, [0.0] * 20, [False] * 20, end_terminal=True)
    counts = np.zeros(buffer.capacity)
    for _ in range(500):
        batch = buffer.sample(32)
        np.add.at(counts, batch.indices, 1)
        assert (batch.weights == 1.0).all()
    indices = buffer.sampleable_indices()
    assert stats.chisquare(counts[indices]).pvalue > 1e-3
    assert buffer.update_priorities(indices, np.ones(indices.size)) == 0  # no-op when uniform


def test_priorities_update_and_new_transitions_get_the_max():
    alpha, eps = 0.6, 1e-6
    buffer = filled_prioritized(size=6, alpha=alpha, priority_eps=eps)
    indices = buffer.sampleable_indices()
    assert np.allclose(buffer.priorities(indices), 1.0)  # max priority starts at 1
    assert buffer.update_priorities(indices[:2], [4.0, -0.5]) == 2
    assert buffer.priorities(indices[:2]) == pytest.approx([(4 + eps) ** alpha, (0.5 + eps) ** alpha])
    single_episode(buffer, [0.0], [False], end_terminal=True, episode=1)
    newest = np.setdiff1d(buffer.sampleable_indices(), indices)
    assert buffer.priorities(newest) == pytest.approx([(4 + eps) ** alpha])
    stale = np.setdiff1d(np.arange(buffer.capacity), buffer.sampleable_indices())[:3]
    assert buffer.update_priorities(stale, [9.0, 9.0, 9.0]) == 0  # never resurrects an unsampleable slot
    assert (buffer.priorities(stale) == 0).all()


def test_importance_weights_closed_form():
    beta = 0.7
    buffer = filled_prioritized(size=10, alpha=0.5, priority_eps=1e-9)
    indices = buffer.sampleable_indices()
    raw = np.linspace(0.5, 8.0, indices.size)
    buffer.update_priorities(indices, raw)
    stored = dict(zip(indices.tolist(), (raw + 1e-9) ** 0.5))
    total = sum(stored.values())
    batch = buffer.sample(16, beta=beta)
    probabilities = np.array([stored[i] / total for i in batch.indices])
    weights = (indices.size * probabilities) ** -beta
    np.testing.assert_allclose(batch.weights, weights / weights.max(), rtol=1e-6)
    assert batch.weights.dtype == np.float32 and batch.weights.max() == 1.0


# ------------------------------------------------------------------------------------------- save, memory, errors


def test_save_load_resumes_exactly(tmp_path):
    def make() -> FrameReplay:
        return FrameReplay(60, 2, n_step=2, prioritized=True, frame_shape=SHAPE, seed=5)

    def continue_run(buffer: FrameReplay, reference: Reference, rng: np.random.Generator) -> list:
        batches = []
        for _ in range(4):
            batch = buffer.sample(8, beta=0.5)
            batches.append(batch)
            buffer.update_priorities(batch.indices, rng.random(8) * 3)
            run_random_continue(buffer, reference, rng, 7)
        return batches

    buffer, reference = make(), Reference(2, 30, 4, 2, 0.99)
    run_random(buffer, reference, 120, np.random.default_rng(3))
    buffer.update_priorities(buffer.sampleable_indices()[:5], [0.1, 5, 2, 3, 0.01])
    buffer.sample(8)
    path = buffer.save(tmp_path / "replay.npz")
    saved_reference = {"records": [[dict(r) for r in rs] for rs in reference.records], "open": list(reference.open),
                       "episode": list(reference.episode)}
    straight = continue_run(buffer, reference, np.random.default_rng(9))

    resumed, reference2 = make(), Reference(2, 30, 4, 2, 0.99)
    reference2.records, reference2.open, reference2.episode = (saved_reference["records"], saved_reference["open"],
                                                               saved_reference["episode"])
    resumed.load(path)
    after = continue_run(resumed, reference2, np.random.default_rng(9))
    for one, two in zip(straight, after):
        for field_one, field_two in zip(one, two):
            np.testing.assert_array_equal(field_one, field_two)
    with pytest.raises(ReplayFileError, match="settings"):
        FrameReplay(60, 2, n_step=3, prioritized=True, frame_shape=SHAPE).load(path)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ReplayFileError):
        make().load(tmp_path / "bad.npz")


def run_random_continue(buffer: FrameReplay, reference: Reference, rng: np.random.Generator, steps: int) -> None:
    """A few more steps of ``run_random`` without the initial ``begin``."""
    for _ in range(steps):
        ids = np.array([e for e in range(buffer.num_envs) if reference.open[e]])
        closed = [e for e in range(buffer.num_envs) if not reference.open[e]]
        if closed:
            buffer.begin(np.stack([reference.begin(e) for e in closed]), env_ids=closed)
            ids = np.arange(buffer.num_envs)
        ends = rng.random(ids.size) < 0.1
        terminals = ends & (rng.random(ids.size) < 0.5)
        actions, rewards = rng.integers(0, 6, ids.size), rng.random(ids.size).astype(np.float32)
        images = np.stack([reference.add(int(e), int(a), float(r), bool(d), bool(x))
                           for e, a, r, d, x in zip(ids, actions, rewards, terminals, ends)])
        buffer.add(actions, rewards, terminals, ends, images, env_ids=ids)


def test_memory_estimate_and_check():
    per_slot = 84 * 84 + 6
    estimate = FrameReplay.estimate_bytes(1_000_000)
    assert 1_000_000 * per_slot < estimate <= 7_200 * 1_000_000
    with pytest.raises(ReplayMemoryError, match="available"):
        FrameReplay(10**13)  # raised before anything is allocated
    with pytest.raises(ReplayMemoryError):
        FrameReplay.check_memory(1_000_000, available_bytes=10**9)
    assert FrameReplay.check_memory(1_000, available_bytes=10**9) == FrameReplay.estimate_bytes(1_000)
    buffer = FrameReplay(4096, 2, frame_shape=(84, 84))
    assert buffer.nbytes == FrameReplay.estimate_bytes(4096, 2)
    assert 7_056 < buffer.bytes_per_transition < 7_200


def test_misuse_raises_typed_errors():
    buffer = FrameReplay(64, 2, frame_shape=SHAPE)
    with pytest.raises(ReplayError, match="begin"):
        buffer.add([0, 0], [0, 0], [False, False], [False, False], np.zeros((2, *SHAPE), np.uint8))
    with pytest.raises(ReplayError, match="no sampleable"):
        buffer.sample(4)
    with pytest.raises(ReplayError, match="uint8"):
        buffer.begin(np.zeros((2, *SHAPE), np.float32))
    with pytest.raises(ReplayError, match="env_ids"):
        buffer.begin(np.zeros((1, *SHAPE), np.uint8), env_ids=[2])
    with pytest.raises(ReplayError, match="slots per env"):
        FrameReplay(10, 2, frame_shape=SHAPE)
    buffer.begin(np.ones((2, *SHAPE), np.uint8))
    with pytest.raises(ReplayError, match="actions"):
        buffer.add([0, 300], [0, 0], [False, False], [False, False], np.ones((2, *SHAPE), np.uint8))
