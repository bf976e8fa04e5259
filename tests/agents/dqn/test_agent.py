"""The DQN agent (``tenuki.agents.dqn.agent``) and its networks (``tenuki.agents.dqn.networks``).

Checked three ways: closed-form TD targets, losses and first Adam steps on a lookup-table Q-network
with fixed weights (every variant); the Nature network's shapes, parameter count and dueling
aggregation; and learning a tiny deterministic chain in seconds, asserted on the greedy actions and on
Q-values near their closed-form values. Samples are built by hand (duck-typed like ``ReplaySample``).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from tenuki.agents.dqn.agent import (
    DQNAgent,
    DQNAgentError,
    epsilon_at,
    epsilons_at,
    final_epsilons,
    priority_beta_at,
    resolve_precision,
)
from tenuki.agents.dqn.config import DQNConfig, config_from_dict
from tenuki.agents.dqn.networks import NatureQNetwork, build_q_network, conv_output_size


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The test machine is shared: one intra-op thread, restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def make_config(**agent: object) -> DQNConfig:
    base = {"learning_starts": 32, "target_update_every": 4000, "train_every": 4}
    base.update(agent)
    return config_from_dict({"agent": base, "train": {"precision": "float32", "device": "cpu"}})


# ------------------------------------------------------------------------------------ schedules


def test_epsilon_spread_is_a_geometric_ladder_around_epsilon_end() -> None:
    spread = config_from_dict({"env": {"num_envs": 5}, "agent": {"epsilon_end": 0.05, "epsilon_spread": 16.0,
                                                                   "epsilon_decay_steps": 1000}})
    # by hand: 0.05 * 16 ** (i/4 - 1/2) = 0.05 * 2 ** (i - 2)
    np.testing.assert_allclose(final_epsilons(spread), [0.0125, 0.025, 0.05, 0.1, 0.2])
    np.testing.assert_allclose(epsilons_at(0, spread), [1.0] * 5)
    np.testing.assert_allclose(epsilons_at(500, spread), [0.50625, 0.5125, 0.525, 0.55, 0.6])
    np.testing.assert_allclose(epsilons_at(10**9, spread), [0.0125, 0.025, 0.05, 0.1, 0.2])
    # no spread, or one environment: every entry is the scalar schedule's
    plain = config_from_dict({"env": {"num_envs": 3}, "agent": {"epsilon_end": 0.1, "epsilon_decay_steps": 1000}})
    for step in (0, 1, 333, 999, 1000, 5000):
        assert epsilons_at(step, plain).tolist() == [epsilon_at(step, plain)] * 3
    single = config_from_dict({"env": {"num_envs": 1}, "agent": {"epsilon_end": 0.1, "epsilon_spread": 4.0}})
    assert final_epsilons(single).tolist() == [0.1]


def test_epsilon_schedule_is_linear_then_flat() -> None:
    config = make_config(epsilon_start=1.0, epsilon_end=0.1, epsilon_decay_steps=1000)
    assert epsilon_at(0, config) == 1.0
    assert epsilon_at(250, config) == pytest.approx(0.775)
    assert epsilon_at(500, config) == pytest.approx(0.55)
    assert epsilon_at(1000, config) == pytest.approx(0.1)
    assert epsilon_at(10**9, config) == pytest.approx(0.1)
    assert epsilon_at(300, config.agent) == epsilon_at(300, config)  # the agent section alone works too
    assert epsilon_at(0, make_config(epsilon_decay_steps=0, epsilon_end=0.05)) == 0.05


def test_priority_beta_anneals_to_one_over_the_run() -> None:
    config = config_from_dict({"agent": {"priority_beta_start": 0.4}, "train": {"total_steps": 1000}})
    assert priority_beta_at(0, config) == pytest.approx(0.4)
    assert priority_beta_at(500, config) == pytest.approx(0.7)
    assert priority_beta_at(5000, config) == pytest.approx(1.0)


# ------------------------------------------------------------------------------------- networks


def test_nature_network_shapes_and_parameter_count() -> None:
    """Mnih et al. 2015: 84x84x4 -> 32 8x8/4 -> 64 4x4/2 -> 64 3x3/1 -> 512 -> actions."""
    assert conv_output_size(84) == 7 and conv_output_size(36) == 1 and conv_output_size(35) == 0
    convs = (4 * 32 * 64 + 32) + (32 * 64 * 16 + 64) + (64 * 64 * 9 + 64)
    plain = NatureQNetwork(6)
    assert sum(p.numel() for p in plain.parameters()) == convs + (3136 * 512 + 512) + (512 * 6 + 6)  # 1,687,206
    dueling = NatureQNetwork(6, dueling=True)
    assert sum(p.numel() for p in dueling.parameters()) == convs + (3136 * 1024 + 1024) + (512 + 1) + (512 * 6 + 6)
    frames = torch.randint(0, 256, (3, 4, 84, 84), dtype=torch.uint8)
    assert plain(frames).shape == (3, 6) and plain(frames).dtype == torch.float32
    with pytest.raises(ValueError, match=r"\[B, 4, 84, 84\]"):
        plain(torch.zeros((3, 4, 64, 64), dtype=torch.uint8))
    with pytest.raises(ValueError, match="frame_size must be >= 36"):
        NatureQNetwork(6, frame_size=30)
    with pytest.raises(ValueError, match="num_actions"):
        NatureQNetwork(0)
    rebuilt = build_q_network("nature_dqn", **dueling.init_kwargs())
    assert rebuilt.init_kwargs() == dueling.init_kwargs()
    with pytest.raises(ValueError, match="unknown Q-network architecture"):
        build_q_network("rainbow")


def test_network_scales_pixels_by_255() -> None:
    torch.manual_seed(0)
    net = NatureQNetwork(3, frame_size=36, channels=(4, 8, 8), hidden=16)
    frames = torch.randint(0, 256, (5, 4, 36, 36), dtype=torch.uint8)
    x = frames.float() / 255.0
    expected = net.head(torch.relu(net.hidden(net.torso(x))))
    torch.testing.assert_close(net(frames), expected, atol=1e-6, rtol=1e-5)


def test_dueling_aggregation_subtracts_the_mean_advantage() -> None:
    """Wang et al. 2016, eq. (9): Q = V + A - mean_a A, with V and A set by hand."""
    net = NatureQNetwork(3, dueling=True, frame_size=36, channels=(2, 2, 2), hidden=4)
    with torch.no_grad():
        net.value_head.weight.zero_()
        net.value_head.bias.fill_(2.0)  # V = 2
        net.advantage_head.weight.zero_()
        net.advantage_head.bias.copy_(torch.tensor([1.0, 4.0, -2.0]))  # A = (1, 4, -2), mean 1
    q = net(torch.randint(0, 256, (2, 4, 36, 36), dtype=torch.uint8))
    torch.testing.assert_close(q, torch.tensor([[2.0, 5.0, -1.0]] * 2))
    # with input-dependent streams: Q - mean_a Q == A - mean_a A and mean_a Q == V
    torch.manual_seed(1)
    net = NatureQNetwork(4, dueling=True, frame_size=36, channels=(4, 8, 8), hidden=8)
    frames = torch.randint(0, 256, (6, 4, 36, 36), dtype=torch.uint8)
    h = net.features(frames)
    value = net.value_head(h[:, :8])
    advantage = net.advantage_head(h[:, 8:])
    q = net(frames)
    torch.testing.assert_close(q.mean(dim=1, keepdim=True), value, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(q - q.mean(dim=1, keepdim=True), advantage - advantage.mean(dim=1, keepdim=True),
                               atol=1e-5, rtol=1e-5)


def test_bfloat16_autocast_stays_close_to_float32() -> None:
    torch.manual_seed(2)
    net = NatureQNetwork(6)
    frames = torch.randint(0, 256, (4, 4, 84, 84), dtype=torch.uint8)
    with torch.no_grad():
        exact = net(frames)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast = net(frames)
    assert fast.dtype == torch.float32  # the output layer runs in float32
    torch.testing.assert_close(fast, exact, atol=0.02, rtol=0.02)
    assert resolve_precision("float32", torch.device("cpu")) == torch.float32
    assert resolve_precision("bfloat16", torch.device("cpu")) == torch.bfloat16


# ------------------------------------------------------------ closed-form targets on a table net


class TableQ(nn.Module):
    """Q(s, a) = table[s, a] with the state id in ``frames[:, 0]``: every quantity by hand."""

    def __init__(self, table: list[list[float]]):
        super().__init__()
        self.table = nn.Parameter(torch.tensor(table, dtype=torch.float32))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.table[frames[:, 0].long()]


ONLINE = [[1.0, 2.0], [0.5, -1.0], [3.0, 0.0], [0.0, 0.0]]  # argmax: 1, 0, 0
TARGET = [[0.0, 4.0], [2.0, 1.0], [-1.0, 5.0], [7.0, 7.0]]  # max: 4, 2, 5


def table_agent(**agent: object) -> DQNAgent:
    config = make_config(**agent)
    learner = DQNAgent(2, config, q_network=TableQ(ONLINE))
    with torch.no_grad():
        learner.target.table.copy_(torch.tensor(TARGET))
    return learner


def table_sample(states, actions, returns, next_states, discounts, weights=None) -> SimpleNamespace:
    batch = len(states)
    return SimpleNamespace(
        obs=np.array(states, np.uint8).reshape(batch, 1),
        actions=np.array(actions, np.int64),
        returns=np.array(returns, np.float32),
        next_obs=np.array(next_states, np.uint8).reshape(batch, 1),
        discounts=np.array(discounts, np.float32),
        indices=np.arange(batch, dtype=np.int64),
        weights=np.ones(batch, np.float32) if weights is None else np.array(weights, np.float32),
    )


# s, a, r, s', discount: rows 0-2 differ between max and double, row 3 is terminal (discount 0)
SAMPLE = {"states": [0, 1, 2, 1], "actions": [0, 1, 1, 0], "returns": [1.0, 0.0, -1.0, 1.5],
          "next_states": [1, 2, 0, 2], "discounts": [0.99, 0.99, 0.99, 0.0]}
Q_TAKEN = [1.0, -1.0, 0.0, 0.5]  # ONLINE[s][a]
# Nature: y = r + d * max_a TARGET[s']: s' = 1, 2, 0, 2 -> max 2, 5, 4, (5 but d = 0)
NATURE_Y = [1.0 + 0.99 * 2.0, 0.0 + 0.99 * 5.0, -1.0 + 0.99 * 4.0, 1.5]
# Double: y = r + d * TARGET[s', argmax_a ONLINE[s']]: argmax ONLINE[1] = 0 -> 2.0; ONLINE[2] = 0 -> -1.0;
# ONLINE[0] = 1 -> 4.0
DOUBLE_Y = [1.0 + 0.99 * 2.0, 0.0 + 0.99 * -1.0, -1.0 + 0.99 * 4.0, 1.5]


def huber(x: float) -> float:
    return 0.5 * x * x if abs(x) <= 1.0 else abs(x) - 0.5


@pytest.mark.parametrize(("double", "expected_y"), [(False, NATURE_Y), (True, DOUBLE_Y)])
@pytest.mark.parametrize("loss", ["huber", "mse"])
def test_td_targets_and_loss_in_closed_form(double: bool, expected_y: list[float], loss: str) -> None:
    learner = table_agent(double=double, loss=loss)
    result = learner.update(table_sample(**SAMPLE))
    td = [y - q for y, q in zip(expected_y, Q_TAKEN, strict=True)]
    np.testing.assert_allclose(result["td_errors"], td, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(result["priorities"], np.abs(td), rtol=1e-6, atol=1e-6)
    per_sample = [huber(x) for x in td] if loss == "huber" else [x * x for x in td]
    assert result["loss"] == pytest.approx(sum(per_sample) / 4, rel=1e-6)
    assert result["q_mean"] == pytest.approx(sum(Q_TAKEN) / 4)
    assert result["td_errors"].dtype == np.float32 and result["td_errors"].shape == (4,)


def test_n_step_target_uses_the_sample_returns_and_discounts() -> None:
    """n = 3, gamma = 0.99: returns = r0 + g r1 + g^2 r2 and discount g^3 come from the replay."""
    gamma = 0.99
    returns = 1.0 + gamma * 0.0 + gamma**2 * -1.0  # 0.0199
    sample = table_sample(states=[0, 2], actions=[1, 0], returns=[returns, 2.0], next_states=[2, 3],
                          discounts=[gamma**3, gamma**2])  # the second stopped after 2 steps (a truncation)
    result = table_agent(n_step=3).update(sample)
    # y = returns + discount * max TARGET[s']: TARGET[2] max 5, TARGET[3] max 7
    expected_y = [returns + gamma**3 * 5.0, 2.0 + gamma**2 * 7.0]
    np.testing.assert_allclose(result["td_errors"], [expected_y[0] - 2.0, expected_y[1] - 3.0], rtol=1e-6)


def test_first_adam_step_moves_each_entry_by_the_learning_rate() -> None:
    """Adam's first step is lr * sign(gradient) (up to eps): each taken Q moves by lr toward its target."""
    learner = table_agent(learning_rate=0.01, adam_eps=1e-12)
    learner.update(table_sample(**SAMPLE))
    after = learner.online.table.detach().numpy()
    expected = np.array(ONLINE, np.float32)
    for s, a, y, q in zip(SAMPLE["states"], SAMPLE["actions"], NATURE_Y, Q_TAKEN, strict=True):
        expected[s, a] += 0.01 * math.copysign(1.0, y - q)
    np.testing.assert_allclose(after, expected, atol=1e-6)
    np.testing.assert_array_equal(learner.target.table.detach().numpy(), TARGET)  # not synced yet


def test_importance_weights_scale_the_loss() -> None:
    weights = [1.0, 0.5, 0.25, 0.0]
    td = [y - q for y, q in zip(NATURE_Y, Q_TAKEN, strict=True)]
    weighted = table_agent(prioritized=True, learning_rate=0.01).update(table_sample(**SAMPLE, weights=weights))
    assert weighted["loss"] == pytest.approx(sum(w * huber(x) for w, x in zip(weights, td, strict=True)) / 4,
                                             rel=1e-6)
    doubled = table_agent(prioritized=True).update(table_sample(**SAMPLE, weights=[2 * w for w in weights]))
    assert doubled["loss"] == pytest.approx(2 * weighted["loss"], rel=1e-6)
    # weight 0: no gradient reaches that sample's entry (state 1, action 0)
    learner = table_agent(prioritized=True, learning_rate=0.01)
    learner.update(table_sample(**SAMPLE, weights=weights))
    assert learner.online.table[1, 0].item() == ONLINE[1][0]
    assert learner.online.table[0, 0].item() != ONLINE[0][0]
    # without prioritized replay the weights are ignored
    uniform = table_agent().update(table_sample(**SAMPLE, weights=weights))
    assert uniform["loss"] == pytest.approx(sum(huber(x) for x in td) / 4, rel=1e-6)


def test_target_network_syncs_every_target_update_every_steps() -> None:
    learner = table_agent(target_update_every=8, train_every=4)  # every 2 updates
    assert learner.sync_every == 2
    sample = table_sample(**SAMPLE)
    learner.update(sample)
    np.testing.assert_array_equal(learner.target.table.detach().numpy(), TARGET)
    learner.update(sample)
    torch.testing.assert_close(learner.target.table, learner.online.table)
    assert learner.updates == 2


def test_rmsprop_optimizer_with_nature_settings() -> None:
    learner = table_agent(optimizer="rmsprop", learning_rate=2.5e-4)
    optimizer = learner.optimizer
    assert isinstance(optimizer, torch.optim.RMSprop)
    group = optimizer.param_groups[0]
    assert (group["lr"], group["alpha"], group["eps"], group["centered"]) == (2.5e-4, 0.95, 0.01, True)
    learner.update(table_sample(**SAMPLE))
    assert set(optimizer.state[learner.online.table]) == {"step", "square_avg", "grad_avg"}


def test_update_rejects_inconsistent_samples() -> None:
    learner = table_agent()
    sample = table_sample(**SAMPLE)
    sample.returns = sample.returns[:3]
    with pytest.raises(DQNAgentError, match="batch size"):
        learner.update(sample)
    sample = table_sample(**SAMPLE)
    sample.obs = sample.obs.astype(np.float32)
    with pytest.raises(DQNAgentError, match="uint8"):
        learner.update(sample)


# ---------------------------------------------------------------------------------------- acting


def test_act_is_epsilon_greedy_and_skips_the_network_when_exploring() -> None:
    learner = table_agent()
    calls: list[int] = []
    learner.online.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    obs = np.array([[0], [1], [2]], np.uint8)
    np.testing.assert_array_equal(learner.act(obs, 0.0), [1, 0, 0])  # argmax of ONLINE rows
    assert calls == [3]
    calls.clear()
    actions = np.concatenate([learner.act(obs, 1.0) for _ in range(200)])
    assert calls == [] and set(actions.tolist()) == {0, 1}
    assert 0.4 < actions.mean() < 0.6
    # same seed, same actions; evaluation's own generator leaves the agent's stream alone
    a, b = table_agent(), table_agent()
    a.act(obs, 0.5, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.act(obs, 0.5), b.act(obs, 0.5))
    np.testing.assert_array_equal(learner.q_values(obs), np.array(ONLINE[:3], np.float32))


def test_act_takes_one_epsilon_per_environment() -> None:
    learner = table_agent()
    obs = np.array([[0], [1], [2]], np.uint8)
    greedy = learner.act(obs, 0.0)
    rows = np.stack([learner.act(obs, np.array([0.0, 1.0, 0.0])) for _ in range(300)])
    assert (rows[:, 0] == greedy[0]).all() and (rows[:, 2] == greedy[2]).all()  # epsilon 0: always greedy
    assert 0.4 < rows[:, 1].mean() < 0.6  # epsilon 1: uniform over the two actions
    # an array of equal epsilons draws the same stream as the number (runs without a spread are unchanged)
    a, b = table_agent(), table_agent()
    for _ in range(20):
        np.testing.assert_array_equal(a.act(obs, 0.3), b.act(obs, np.full(3, 0.3)))


def test_nature_agent_acts_on_atari_frames() -> None:
    config = config_from_dict({"train": {"device": "cpu"}})  # precision auto: bfloat16 where the CPU has it
    learner = DQNAgent(6, config)
    assert isinstance(learner.online, NatureQNetwork) and not learner.online.dueling
    obs = np.random.default_rng(0).integers(0, 256, (2, 4, 84, 84), dtype=np.uint8)
    greedy = learner.act(obs, 0.0)
    assert greedy.dtype == np.int64 and greedy.shape == (2,)
    np.testing.assert_array_equal(greedy, learner.q_values(obs).argmax(axis=1))


# ------------------------------------------------------------------------ learning a tiny chain


class Chain:
    """States 0..3 in a row, start at 0; action 1 moves right, 0 left (0 stays). Reaching 3 pays 1 and
    ends the episode (terminal); after 12 steps it is cut (a truncation: bootstrap through it).

    Q*(s, right) = gamma^(2 - s), Q*(s, left) = gamma * V*(max(s - 1, 0)) with V*(s) = gamma^(2 - s).
    Observations: 4 identical 36x36 frames, a bright 9-pixel-wide bar at column 9 s.
    """

    size, limit = 4, 12

    @staticmethod
    def frames(state: int) -> np.ndarray:
        frame = np.zeros((36, 36), np.uint8)
        frame[:, 9 * state: 9 * state + 9] = 255
        return np.broadcast_to(frame, (4, 36, 36)).copy()

    @staticmethod
    def q_star(gamma: float) -> np.ndarray:
        value = [gamma ** (2 - s) for s in range(3)]
        return np.array([[gamma * value[max(s - 1, 0)], value[s]] for s in range(3)])


@pytest.mark.parametrize("variant", [{}, {"double": True, "dueling": True, "loss": "mse"}])
def test_dqn_learns_a_tiny_chain_in_seconds(variant: dict) -> None:
    gamma = 0.9
    config = config_from_dict({
        "agent": {"gamma": gamma, "learning_rate": 1e-3, "batch_size": 32, "learning_starts": 100,
                  "train_every": 1, "target_update_every": 50, "epsilon_start": 1.0, "epsilon_end": 0.1,
                  "epsilon_decay_steps": 400, **variant},
        "train": {"seed": 3, "device": "cpu"},  # precision auto: bfloat16 on this CPU
    })
    torch.manual_seed(0)
    network = NatureQNetwork(2, dueling=config.agent.dueling, frame_size=36, channels=(8, 16, 16), hidden=64)
    learner = DQNAgent(2, config, q_network=network)
    frames = np.stack([Chain.frames(s) for s in range(Chain.size)])
    replay: list[tuple[int, int, float, int, float]] = []  # s, a, r, s', discount
    rng = np.random.default_rng(0)
    state, steps_in_episode = 0, 0
    for step in range(1200):
        action = int(learner.act(frames[state][None], epsilon_at(step, config))[0])
        next_state = min(state + 1, 3) if action == 1 else max(state - 1, 0)
        terminal = next_state == 3
        replay.append((state, action, float(terminal), next_state, 0.0 if terminal else gamma))
        state, steps_in_episode = next_state, steps_in_episode + 1
        if terminal or steps_in_episode == Chain.limit:
            state, steps_in_episode = 0, 0
        if step >= config.agent.learning_starts:
            rows = np.array([replay[i] for i in rng.integers(0, len(replay), 32)])
            s, a, r, s2, d = (rows[:, k] for k in range(5))
            learner.update(SimpleNamespace(
                obs=frames[s.astype(int)], actions=a.astype(np.int64), returns=r.astype(np.float32),
                next_obs=frames[s2.astype(int)], discounts=d.astype(np.float32),
                indices=np.zeros(32, np.int64), weights=np.ones(32, np.float32)))
    q = learner.q_values(frames[:3])
    np.testing.assert_array_equal(q.argmax(axis=1), [1, 1, 1])  # always right
    np.testing.assert_allclose(q, Chain.q_star(gamma), atol=0.05)
