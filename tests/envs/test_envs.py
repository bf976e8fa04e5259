"""Go environments: observation planes, the PettingZoo AEC env and the gymnasium env."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test, seed_test

import tenuki.envs.go.registration  # noqa: F401  (registers tenuki/Go-v0)
from tenuki.envs.go.board import Board, GoError, IllegalMoveError
from tenuki.envs.go.features import (
    NUM_PLANES,
    PlaneHistory,
    alphazero_planes,
    board_planes,
    legal_action_mask,
)
from tenuki.envs.go.game import GameOverError, InvalidActionError
from tenuki.envs.go.gym_env import GoEnv, OpponentError
from tenuki.envs.go.layout import BLACK, WHITE
from tenuki.envs.go.pettingzoo_env import GoAECEnv, env, raw_env

# api_test warns about any Dict observation of an env missing from its own hard-coded list of
# PettingZoo environments; a Dict with "action_mask" is the convention it samples through.
EXPECTED_API_WARNINGS = {
    "Observation is not a NumPy array",
    "Observation space for each agent probably should be gymnasium.spaces.box or gymnasium.spaces.discrete",
}


def a(vertex: str, size: int = 5) -> int:
    """GTP vertex -> action."""
    return Board(size).action(vertex) if vertex != "pass" else size * size


def scripted(moves: list[str], size: int = 5):
    """An opponent that answers the given vertices in order, then passes."""
    queue = [a(m, size) for m in moves]

    def opponent(board: Board) -> int:
        return queue.pop(0) if queue else size * size

    return opponent


def play_aec(game: GoAECEnv, vertices: list[str], size: int = 5) -> None:
    for vertex in vertices:
        game.step(a(vertex, size))


# ---------------------------------------------------------------------- features


def test_planes_after_three_moves():
    board = Board(5)
    history = PlaneHistory(5, board.stones())
    for vertex in ("C3", "C2", "D4"):  # black, white, black
        board.play(vertex)
        history.push(board.stones())
    assert len(history) == 4
    c3, c2, d4 = (divmod(a(v), 5) for v in ("C3", "C2", "D4"))

    planes = alphazero_planes(history, board.to_play)  # white to move
    assert planes.shape == (NUM_PLANES, 5, 5) and planes.dtype == np.float32
    assert board.to_play == WHITE

    def stones(*points):
        plane = np.zeros((5, 5), np.float32)
        for p in points:
            plane[p] = 1
        return plane

    expected_own = [stones(c2), stones(c2), stones(), stones()]  # white at t, t-1, t-2, t-3
    expected_opp = [stones(c3, d4), stones(c3), stones(c3), stones()]  # black at t .. t-3
    for i in range(4):
        np.testing.assert_array_equal(planes[i], expected_own[i], err_msg=f"plane {i}")
        np.testing.assert_array_equal(planes[8 + i], expected_opp[i], err_msg=f"plane {8 + i}")
    assert not planes[4:8].any() and not planes[12:16].any()  # missing history = zeros
    assert not planes[16].any()  # white to move

    black_view = alphazero_planes(history, BLACK)
    np.testing.assert_array_equal(black_view[:8], planes[8:16])
    np.testing.assert_array_equal(black_view[8:16], planes[:8])
    assert (black_view[16] == 1).all()

    out = np.full((NUM_PLANES, 5, 5), 7, np.float32)
    np.testing.assert_array_equal(alphazero_planes(history, WHITE, out=out), planes)
    np.testing.assert_array_equal(board_planes(board), planes)  # rebuilt by undo


def test_plane_history_follows_undo_beyond_eight_moves():
    board = Board(7)
    history = PlaneHistory(7, board.stones(), capacity=2)  # also exercises growth
    moves = ["D4", "C3", "E5", "C5", "C4", "D5", "B4", "pass", "E3", "F6", "B2", "A2"]
    snapshots = [alphazero_planes(history, board.to_play)]
    for move in moves:
        board.play(move)
        history.push(board.stones())
        snapshots.append(alphazero_planes(history, board.to_play))
    np.testing.assert_array_equal(PlaneHistory.from_board(board).latest(), history.latest())
    for expected in reversed(snapshots[:-1]):
        newest = board.stones()
        board.undo()
        np.testing.assert_array_equal(history.pop(), newest)
        np.testing.assert_array_equal(alphazero_planes(history, board.to_play), expected)
    assert len(history) == 1


def test_pass_repeats_the_position_and_capture_shows_in_history():
    board = Board.from_ascii(
        """
        .XO..
        XO...
        .X...
        .....
        .....
        """,
        to_play=BLACK,
    )
    history = PlaneHistory(5, board.stones())
    board.play("C4")  # captures the white stone B4
    history.push(board.stones())
    board.pass_move()  # white passes
    history.push(board.stones())
    planes = alphazero_planes(history, BLACK)
    np.testing.assert_array_equal(planes[0], planes[1])  # a pass repeats the position
    assert planes[0][1, 2] == 1 and planes[2][1, 2] == 0  # black C4 at t, not at t-2
    assert planes[8][1, 1] == 0 and planes[9][1, 1] == 0 and planes[10][1, 1] == 1  # white B4 gone
    assert planes[8][0, 2] == 1 and planes[3:8].sum() == 0 and planes[11:16].sum() == 0


def test_legal_action_mask_is_int8_copy_of_board_mask():
    board = Board(5)
    board.play("C3")
    mask = legal_action_mask(board)
    assert mask.dtype == np.int8 and mask.shape == (26,)
    np.testing.assert_array_equal(mask, board.legal_mask().astype(np.int8))
    assert mask[a("C3")] == 0 and mask[25] == 1 and mask.sum() == 25


# ---------------------------------------------------------------------- PettingZoo


@pytest.mark.parametrize("factory", [env, raw_env])
def test_pettingzoo_api_test(factory):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api_test(factory(board_size=5), num_cycles=1000)
    unexpected = {str(w.message) for w in caught} - EXPECTED_API_WARNINGS
    assert not unexpected, unexpected


def test_pettingzoo_seed_test():
    seed_test(lambda: env(board_size=9), num_cycles=200)


def test_pettingzoo_metadata_and_spaces():
    game = raw_env(board_size=5)
    assert game.metadata["name"] == "tenuki_go_v0"
    assert game.possible_agents == ["black_0", "white_0"]
    space = game.observation_space("black_0")
    assert space["observation"].shape == (17, 5, 5) and space["action_mask"].shape == (26,)
    assert game.action_space("white_0").n == 26


def test_pettingzoo_observations_match_board_planes():
    game = raw_env(board_size=7, ko_rule="situational", allow_suicide=True)
    game.reset()
    board = game.game.board
    assert board.ko_rule == "situational" and board.allow_suicide
    play_aec(game, ["D4", "C3", "pass", "E5", "C5", "D5", "B4", "C4", "E4", "B3"], size=7)
    for agent, color in (("black_0", BLACK), ("white_0", WHITE)):
        obs = game.observe(agent)
        np.testing.assert_array_equal(obs["observation"], board_planes(board, color))
    assert game.agent_selection == "black_0"  # ten moves played, a pass among them
    np.testing.assert_array_equal(game.observe("black_0")["action_mask"], legal_action_mask(board))
    assert not game.observe("white_0")["action_mask"].any()


def aec_state(game: GoAECEnv):
    obs = {agent: game.observe(agent) for agent in game.possible_agents}
    return (game.game.board.hash, game.game.board.move_number, game.agent_selection,
            dict(game.rewards), dict(game._cumulative_rewards), obs)


def assert_same_state(before, after):
    assert before[:5] == after[:5]
    for agent, obs in before[5].items():
        for key in obs:
            np.testing.assert_array_equal(obs[key], after[5][agent][key])


def test_pettingzoo_illegal_action_raises_and_changes_nothing():
    game = raw_env(board_size=5)
    game.reset()
    play_aec(game, ["C3", "C2"])
    before = aec_state(game)
    with pytest.raises(IllegalMoveError, match="occupied"):
        game.step(a("C3"))
    for bad in (26, -1, 2.0, True, "C4"):
        with pytest.raises(InvalidActionError):
            game.step(bad)
    with pytest.raises(GoError):
        game.step(None)
    assert_same_state(before, aec_state(game))
    game.step(np.int32(a("D4")))  # numpy integers are fine
    assert game.agent_selection == "white_0"


def test_pettingzoo_ko_is_illegal_and_state_kept():
    game = raw_env(board_size=5, ko_rule="simple")
    game.reset()
    # Black B4 A3 B2 C3; white C4 D3 C2 -> white captures at B3 ... set up a ko on B3/C3.
    play_aec(game, ["B4", "C4", "A3", "D3", "B2", "C2", "C3", "B3"])  # white B3 captures C3
    assert game.game.board.ko_point == a("C3")
    before = aec_state(game)
    with pytest.raises(IllegalMoveError, match="ko"):
        game.step(a("C3"))
    assert_same_state(before, aec_state(game))


def wall_game_rewards(komi: float) -> dict[str, float]:
    game = raw_env(board_size=5, komi=komi)
    game.reset()
    for row in "12345":
        play_aec(game, ["C" + row, "D" + row])
    play_aec(game, ["pass", "pass"])
    assert all(game.terminations.values()) and not any(game.truncations.values())
    assert game.infos["black_0"]["score_margin"] == 15 - 10 - komi
    return {agent: game._cumulative_rewards[agent] for agent in game.agents}


@pytest.mark.parametrize("komi, black, white", [(7.5, -1.0, 1.0), (0.5, 1.0, -1.0), (5.0, 0.0, 0.0)])
def test_pettingzoo_reward_sign_on_wall_game(komi, black, white):
    # Black walls column C (A..C = 15 points), white column D (D..E = 10 points).
    assert wall_game_rewards(komi) == {"black_0": black, "white_0": white}


def test_pettingzoo_rewards_through_last_and_dead_steps():
    game = raw_env(board_size=5, komi=0.5)
    game.reset()
    for row in "12345":
        play_aec(game, ["C" + row, "D" + row])
    play_aec(game, ["pass", "pass"])
    seen = {}
    for agent in game.agent_iter():
        obs, reward, terminated, truncated, _ = game.last()
        assert terminated and not truncated and not obs["action_mask"].any()
        seen[agent] = reward
        game.step(None)
    assert seen == {"black_0": 1.0, "white_0": -1.0} and game.agents == []


def test_pettingzoo_truncation_at_max_moves():
    game = raw_env(board_size=5, max_moves=4)
    game.reset()
    play_aec(game, ["A1", "B1", "C1"])
    assert not any(game.truncations.values())
    play_aec(game, ["D1"])
    assert all(game.truncations.values()) and not any(game.terminations.values())
    assert game.rewards == {"black_0": 0.0, "white_0": 0.0}
    assert game.infos["white_0"]["result"] == "truncated"
    with pytest.raises(GameOverError):
        game.game.play(a("E1"))
    game.reset()
    assert game.agents == ["black_0", "white_0"] and game.game.board.move_number == 0


def test_pettingzoo_render():
    text = raw_env(board_size=5, render_mode="ansi")
    text.reset()
    text.step(a("C3"))
    assert "X" in text.render() and "white to play" in text.render()
    with pytest.warns(UserWarning, match="without a render_mode"):
        assert raw_env(board_size=5).render() is None


# ---------------------------------------------------------------------- gymnasium


def test_gym_check_env_through_registry_with_render_modes():
    made = gym.make("tenuki/Go-v0", board_size=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(made.unwrapped)  # spec set: also builds one env per render mode
    assert not caught, [str(w.message) for w in caught]


@pytest.mark.parametrize("kwargs", [
    {"render_mode": "ansi"},
    {"agent_color": "white", "illegal_action": "lose"},
    {"agent_color": "random", "illegal_action": "lose", "opponent": scripted([])},
])
def test_gym_check_env_variants(kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(GoEnv(board_size=5, **kwargs), skip_close_check=True)
    assert not [w for w in caught if "spec" not in str(w.message)], [str(w.message) for w in caught]


def gym_state(env_: GoEnv):
    board = env_.board
    return board.hash, board.move_number, board.to_play, env_._observation()


def test_gym_illegal_action_raises_and_changes_nothing():
    env_ = GoEnv(board_size=5, opponent=scripted(["C2", "D2"]))
    env_.reset(seed=0)
    env_.step(a("C3"))
    before = gym_state(env_)
    with pytest.raises(IllegalMoveError, match="occupied"):
        env_.step(a("C2"))
    for bad in (26, -3, 1.5, np.float32(3)):
        with pytest.raises(InvalidActionError):
            env_.step(bad)
    after = gym_state(env_)
    assert before[:3] == after[:3]
    for key in before[3]:
        np.testing.assert_array_equal(before[3][key], after[3][key])


def test_gym_illegal_action_lose_policy():
    env_ = GoEnv(board_size=5, opponent=scripted(["C2"]), illegal_action="lose")
    env_.reset(seed=0)
    env_.step(a("C3"))
    move_number = env_.board.move_number
    obs, reward, terminated, truncated, info = env_.step(a("C2"))
    assert (reward, terminated, truncated, info["illegal_action"]) == (-1.0, True, False, "occupied")
    assert env_.board.move_number == move_number and not obs["action_mask"].any()
    with pytest.raises(GameOverError):
        env_.step(a("E5"))


@pytest.mark.parametrize("komi, reward", [(7.5, -1.0), (0.5, 1.0), (5.0, 0.0)])
@pytest.mark.parametrize("agent_color", ["black", "white"])
def test_gym_reward_sign_on_wall_game(agent_color, komi, reward):
    mine, theirs = ("C", "D") if agent_color == "black" else ("D", "C")
    env_ = GoEnv(board_size=5, komi=komi, agent_color=agent_color,
                 opponent=scripted([theirs + r for r in "12345"]))
    obs, info = env_.reset(seed=1)
    assert info["agent_color"] == agent_color
    assert (obs["observation"][16] == (agent_color == "black")).all()
    for row in "12345":
        obs, r, terminated, truncated, info = env_.step(a(mine + row))
        assert r == 0 and not terminated
    obs, r, terminated, truncated, info = env_.step(25)  # pass; the opponent passes too
    assert terminated and not truncated
    agent_reward = reward if agent_color == "black" else -reward
    assert r == agent_reward and info["score_margin"] == 5 - komi


def test_gym_truncation_at_max_moves():
    env_ = GoEnv(board_size=5, max_moves=3, opponent=scripted(["E5"]))
    env_.reset(seed=0)
    _, r, terminated, truncated, info = env_.step(a("A1"))
    assert not truncated and info["opponent_action"] == a("E5")
    _, r, terminated, truncated, info = env_.step(a("B1"))
    assert truncated and not terminated and r == 0.0 and "opponent_action" not in info
    assert env_.board.move_number == 3 and info["result"] == "truncated"
    with pytest.raises(GameOverError):
        env_.step(a("C1"))


def test_random_opponent_plays_only_legal_moves():
    env_ = GoEnv(board_size=5, agent_color="random")
    rng = np.random.default_rng(3)
    answers = set()
    for episode in range(6):
        obs, info = env_.reset(seed=episode)
        done = False
        while not done:
            legal = np.flatnonzero(obs["action_mask"])
            assert set(legal) == set(env_.board.legal_moves())
            action = int(rng.choice(legal))
            after_agent = env_.board.copy()
            after_agent.play(action)
            obs, _, terminated, truncated, info = env_.step(action)
            done = terminated or truncated
            if "opponent_action" in info:
                answers.add(info["opponent_action"])
                assert after_agent.is_legal(info["opponent_action"])
    assert len(answers) > 10


def rollout(seed: int, steps: int = 12) -> list:
    env_ = GoEnv(board_size=7, agent_color="random")
    obs, info = env_.reset(seed=seed)
    trace = [info["agent_color"], info.get("opponent_action")]
    for _ in range(steps):
        action = int(np.flatnonzero(obs["action_mask"])[0])  # deterministic agent
        obs, _, terminated, truncated, info = env_.step(action)
        trace.append(info.get("opponent_action"))
        if terminated or truncated:
            break
    return trace


def test_gym_seeding_reproducible():
    assert rollout(11) == rollout(11)
    assert len({str(rollout(seed)) for seed in range(4)}) > 1


def test_opponent_errors_are_typed():
    env_ = GoEnv(board_size=5, opponent=lambda board: 0)
    env_.reset(seed=0)
    env_.step(a("C3"))  # opponent plays A5 (action 0)
    with pytest.raises(OpponentError, match="opponent answered 0"):
        env_.step(a("B3"))

    def cheater(board: Board) -> int:
        board.play(board.legal_moves()[0])
        return 24

    env_ = GoEnv(board_size=5, opponent=cheater)
    env_.reset(seed=0)
    with pytest.raises(OpponentError, match="changed the board"):
        env_.step(a("C3"))
    with pytest.raises(GoError):
        GoEnv(board_size=5, opponent="strong")


def test_gym_render(capsys):
    env_ = GoEnv(board_size=5, render_mode="ansi", opponent=scripted(["C2"]))
    env_.reset(seed=0)
    env_.step(a("C3"))
    text = env_.render()
    assert isinstance(text, str) and "X" in text and "O" in text and "black to play" in text
    human = GoEnv(board_size=5, render_mode="human")
    human.reset(seed=0)
    assert human.render() is None and "A B C D E" in capsys.readouterr().out


def test_registration_keeps_rules_engine_free_of_gymnasium():
    code = ("import sys, tenuki.envs.go.board, tenuki.envs.go.features; assert 'gymnasium' not in sys.modules; "
            "import gymnasium as gym; env = gym.make('tenuki.envs.go.registration:tenuki/Go-v0', board_size=5); "
            "print(type(env.unwrapped).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "GoEnv"
