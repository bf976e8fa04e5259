"""One behaviour for one option in every command (issue 26): komi, --resign, the budget rule, --threads,
--set on every YAML-driven command, -v / -q, and the errors a user can cause (one line, exit 2, the path
the user typed, before any work)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest

from tenuki.commands import options as shared
from tenuki.commands.main import build_parser, main, verbosity
from tenuki.play import registry

GO_COMMANDS = ("gtp", "play", "match", "demo")
BOT_COMMANDS = ("gtp", "play")  # the commands that run a tenuki bot themselves
YAML_COMMANDS = (("selfplay", "launch"), ("train", "sl-policy"), ("train", "sl-value"), ("train", "rl-policy"),
                 ("train", "value"), ("atari", "train"), ("lecture", "run"), ("tournament",))


def _parser(*path: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    return parser


def _option(parser: argparse.ArgumentParser, name: str) -> argparse.Action:
    return parser._option_string_actions[name]


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# --------------------------------------------------------------------------------------------------- komi


def test_the_komi_rule():
    assert [registry.default_komi(n) for n in (5, 7, 9, 13, 19)] == [7.0, 7.0, 7.0, 7.5, 7.5]


@pytest.mark.parametrize("command", GO_COMMANDS)
def test_every_go_command_defaults_komi_by_the_rule_and_says_so(command):
    action = _option(_parser(command), "--komi")
    assert action.default is None and shared.KOMI_RULE in action.help


@pytest.mark.parametrize("size, komi", [(9, 7.0), (13, 7.5)])
def test_each_command_applies_the_komi_rule(size, komi, monkeypatch, capsys):
    # demo: the komi it prints
    assert main(["demo", "--size", str(size), "--visits", "1", "--max-moves", "1", "--quiet"]) == 0
    assert f"komi {komi:g} ->" in capsys.readouterr().out
    # match: the config sent to the engines
    from tenuki.commands.match import config_from_args

    args = _parser().parse_args(["match", "--black", "gnugo", "--white", "gnugo", "--size", str(size)])
    monkeypatch.setattr("tenuki.play.match.EngineSpec.parse", lambda label, command: command)
    assert config_from_args(args).komi == komi
    # gtp: the engine's komi for its initial size
    seen = {}
    monkeypatch.setattr("tenuki.play.gtp_engine.main_loop", lambda engine: seen.setdefault("komi", engine.komi) and 0)
    assert main(["gtp", "--player", "random", "--size", str(size)]) == 0
    assert seen["komi"] == komi
    # play: the board of the game (and 0.5 with a handicap)
    boards = []
    monkeypatch.setattr("tenuki.play.terminal.TerminalGame.run", lambda game: boards.append(game.board) or 0)
    assert main(["play", "--player", "random", "--size", str(size), "--seed", "1", "--no-color"]) == 0
    assert main(["play", "--player", "random", "--size", str(size), "--handicap", "2", "--no-color"]) == 0
    assert [b.komi for b in boards] == [komi, 0.5]


# ------------------------------------------------------------------------------------------------- resign


@pytest.mark.parametrize("command", BOT_COMMANDS)
def test_resign_has_one_name_and_the_old_one_is_deprecated(command, capsys):
    parser = _parser(command)
    assert _option(parser, "--resign").dest == _option(parser, "--resign-threshold").dest == "resign"
    assert shared.RESIGN_RULE in _option(parser, "--resign").help
    args = build_parser().parse_args([command, "--resign-threshold", "0.1"])
    assert args.resign == 0.1
    assert "--resign-threshold is deprecated, use --resign" in capsys.readouterr().err
    assert build_parser().parse_args([command, "--resign", "0.2"]).resign == 0.2
    assert capsys.readouterr().err == ""


def test_play_passes_resign_to_the_bot(monkeypatch):
    made = {}
    real_factory = registry.player_factory
    monkeypatch.setattr(registry, "player_factory", lambda *a, **k: made.update(k) or real_factory(*a, **k))
    monkeypatch.setattr("tenuki.play.terminal.TerminalGame.run", lambda game: 0)
    assert main(["play", "--player", "mcts", "--size", "5", "--resign", "0.1", "--no-color"]) == 0
    assert made["resign_threshold"] == 0.1


# ------------------------------------------------------------------------------------------------- budget


@pytest.mark.parametrize("command", BOT_COMMANDS)
def test_visits_win_over_time_in_every_help(command):
    parser = _parser(command)
    assert shared.BUDGET_RULE in _option(parser, "--visits").help
    assert shared.BUDGET_RULE in _option(parser, "--seconds-per-move").help


def test_demo_and_match_state_the_same_budget_rule():
    demo = _parser("demo")
    assert _option(demo, "--visits") is _option(demo, "--playouts")  # the old name still works
    assert shared.BUDGET_RULE in _option(_parser("match"), "--seconds-per-move").help


def test_play_searches_the_visits_when_both_are_given():
    from tenuki.play.terminal import PlayOptions, TerminalGame

    calls = []

    class Bot:
        name = "fake"

        def genmove(self, board, visits=None, seconds=None):
            calls.append((visits, seconds))
            from tenuki.search.player import Move

            return Move(board.size * board.size)

        def notify_played(self, action):  # a Player: told of every move played
            pass

    game = TerminalGame(PlayOptions(size=5, player="random", visits=7, seconds_per_move=3.0, color_output=False),
                        read_line=lambda prompt: "quit")
    game.bot = Bot()
    game.bot_move()
    assert calls == [(7, None)]
    game.options.visits = None
    game.bot_move()
    assert calls[-1] == (None, 3.0)


def test_gtp_searches_the_visits_when_both_are_given(monkeypatch):
    seen = {}
    monkeypatch.setattr("tenuki.play.gtp_engine.main_loop", lambda engine: seen.setdefault("e", engine) and 0)
    assert main(["gtp", "--player", "random", "--size", "5", "--visits", "9", "--seconds-per-move", "2"]) == 0
    assert seen["e"]._budget(1) == (9, None)


# ------------------------------------------------------------------------------------------------ threads


@pytest.mark.parametrize("command", BOT_COMMANDS)
def test_threads_default_and_meaning(command):
    action = _option(_parser(command), "--threads")
    assert action.default == registry.DEFAULT_THREADS == 1 and shared.THREADS_RULE in action.help


def test_threads_set_torch_when_a_network_loads(tmp_path):
    import torch

    from tenuki.agents.go.networks.checkpoint import save_checkpoint
    from tenuki.agents.go.networks.resnet import AlphaZeroNet

    weights = save_checkpoint(tmp_path / "az5", AlphaZeroNet(5, blocks=1, channels=8), step=0, config={})
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        registry.make("az-mcts", 5, weights=str(weights), threads=1, visits=4)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("command", BOT_COMMANDS)
def test_threads_below_one_is_one_line(command, capsys):
    assert main([command, "--player", "random", "--size", "5", "--threads", "0"]) == 2
    assert "--threads 0" in _one_line(capsys.readouterr().err)


# ---------------------------------------------------------------------------------------------------- --set


@pytest.mark.parametrize("path", YAML_COMMANDS)
def test_every_yaml_command_takes_repeatable_set(path):
    required = {("lecture", "run"): ["cnn"], ("tournament",): ["--config", "smoke"]}.get(path, [])
    args = build_parser().parse_args([*path, *required, "--set", "a.b=1", "--set", "c=x y"])
    assert args.set == ["a.b=1", "c=x y"]


@pytest.mark.parametrize("path, key", [
    (("selfplay", "launch"), "search.visitz"), (("train", "rl-policy"), "search.visitz"),
    (("train", "value"), "search.visitz"), (("train", "sl-policy"), "optim.learnig_rate"),
    (("train", "sl-value"), "optim.learnig_rate"), (("atari", "train"), "agent.n_stepp"),
    (("lecture", "run"), "epochz")])
def test_an_unknown_set_key_is_one_line_naming_it(path, key, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = [*path, *(["cnn"] if path[0] == "lecture" else []), *(["--config", "pong"] if path[0] == "atari" else []),
            "--set", f"{key}=3"]
    assert main(argv) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"--set {key}" in line and "unknown key" in line, line
    assert list(tmp_path.iterdir()) == []  # checked before any work: nothing written


@pytest.mark.parametrize("path, key", [(("selfplay", "launch"), "search.visits"), (("atari", "train"), "agent.n_step"),
                                       (("train", "sl-policy"), "optim.batch_size"), (("lecture", "run"), "epochs")])
def test_a_set_value_of_the_wrong_type_is_one_line_naming_the_key(path, key, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = [*path, *(["cnn"] if path[0] == "lecture" else []), *(["--config", "pong"] if path[0] == "atari" else []),
            "--set", f"{key}=many"]
    assert main(argv) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"--set {key}: expected an integer, got 'many'" in line, line


def test_set_with_resume_is_refused(tmp_path, capsys):
    assert main(["selfplay", "launch", "--resume", str(tmp_path), "--set", "search.visits=8"]) == 2
    assert "--set and --init-from change the config of a new run" in _one_line(capsys.readouterr().err)
    assert main(["atari", "train", "--resume", str(tmp_path), "--set", "agent.n_step=3"]) == 2
    assert "--set changes the config of a new run" in _one_line(capsys.readouterr().err)


# ------------------------------------------------------------------------------------------ -v / -q logging


@pytest.mark.parametrize("argv, level", [
    (["demo"], 0), (["-v", "demo"], 1), (["demo", "-v"], 1), (["-v", "demo", "--verbose"], 2),
    (["-q", "demo"], -1), (["demo", "-q"], -1), (["gtp", "-q"], -1), (["--quiet", "gtp", "-v"], 0),
    (["selfplay", "launch", "-vv"], 2), (["lecture", "run", "cnn", "-q"], -1)])
def test_verbosity_before_and_after_the_subcommand(argv, level):
    assert verbosity(build_parser().parse_args(argv)) == level


def test_the_command_sets_the_log_level(capsys):
    assert main(["-q", "demo", "--size", "5", "--visits", "1", "--max-moves", "1"]) == 0
    assert logging.getLogger("tenuki").level == logging.WARNING
    assert main(["demo", "--size", "5", "--visits", "1", "--max-moves", "1", "-v"]) == 0
    assert logging.getLogger("tenuki").level == logging.DEBUG
    assert main(["demo", "--size", "5", "--visits", "1", "--max-moves", "1"]) == 0
    assert logging.getLogger("tenuki").level == logging.INFO


def test_printed_commands_work_in_this_shell(tmp_path, monkeypatch):
    """`make run` ends with `.venv/bin/tenuki play ...` when the shell's PATH has no tenuki."""
    import sys

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.chdir(Path(sys.executable).parents[2])  # the folder that holds the venv
    command = shared.tenuki_command()
    assert command.endswith("tenuki") and (Path.cwd() / command).is_file(), command
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert shared.tenuki_command() == "tenuki"


# ------------------------------------------------------------------------------------- errors a user causes


@pytest.mark.parametrize("argv, needle", [
    (["gtp", "--size", "25"], "--size 25"),
    (["play", "--size", "25"], "--size 25"),
    (["demo", "--size", "25"], "--size 25"),
    (["gtp", "--player", "random", "--weights", "{tmp}/x.safetensors"], "--weights"),
    (["play", "--player", "mcts", "--weights", "{tmp}/x.safetensors"], "--weights"),
    (["gtp", "--player", "az-mcts", "--size", "9", "--weights", "{tmp}/nonexist.safetensors"],
     "{tmp}/nonexist.safetensors does not exist"),
    (["play", "--player", "policy", "--size", "9", "--weights", "{tmp}/nonexist.safetensors"],
     "{tmp}/nonexist.safetensors does not exist"),
    (["lecture", "run", "cnn", "--config", "{tmp}/nope.yaml"], "{tmp}/nope.yaml"),
])
def test_user_errors_are_one_line_with_exit_2(argv, needle, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    line = _one_line(capsys.readouterr().err)
    assert needle.replace("{tmp}", str(tmp_path)) in line, line
    assert "nonexist.json" not in line  # the weights file the user gave is named, not its sidecar
    assert list(tmp_path.iterdir()) == []


def test_a_missing_video_extra_is_said_before_the_first_episode(tmp_path, monkeypatch, capsys):
    import importlib.util

    from tenuki.agents.dqn import evaluate

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name.startswith("imageio") else real(name, *a))

    def no_emulator(*args, **kwargs):
        raise AssertionError("an episode started")

    monkeypatch.setattr(evaluate, "AtariVecEnv", no_emulator)
    for suffix in ("gif", "mp4"):
        video = tmp_path / f"x.{suffix}"
        assert main(["atari", "evaluate", "--checkpoint", "random", "--episodes", "1", "--video", str(video)]) == 2
        line = _one_line(capsys.readouterr().err)
        assert str(video) in line and "tenuki-rl[video]" in line, line
    assert main(["atari", "evaluate", "--checkpoint", "random", "--video", str(tmp_path / "x.avi")]) == 2
    assert "allowed: .gif, .mp4, .npz" in _one_line(capsys.readouterr().err)


# ------------------------------------------------------------------------- --set in tenuki.common.yaml_config


def test_set_overrides_are_typed_like_the_file_and_leave_the_document_alone():
    from tenuki.common.config_files import resolve_config
    from tenuki.common.yaml_config import ConfigError, apply_overrides, load_yaml_config
    from tenuki.selfplay.config import config_from_dict, load_config

    path = resolve_config("smoke", "selfplay")
    plain = load_config(path)
    config = load_yaml_config(path, config_from_dict, ConfigError, overrides=[
        "search.visits=24", "run.name=123", "learner.learning_rate=1e-3", "workers.fast_inference=false"])
    assert config.search.visits == 24 and config.run.name == "123"  # a string field keeps the text
    assert config.learner.learning_rate == 0.001 and config.workers.fast_inference is False
    assert (plain.search.visits, plain.run.name) != (24, "123")
    document = {"search": {"visits": 8}}
    changed = apply_overrides(document, [("search.visits", "16"), ("new.key", "1")], ConfigError)
    assert document == {"search": {"visits": 8}} and changed["search"]["visits"] == "16"


@pytest.mark.parametrize("item, message", [
    ("search.visits", "expected KEY=VALUE"), ("=3", "expected KEY=VALUE"), ("search..visits=3", "expected KEY=VALUE"),
    ("search.visits.deep=3", "search.visits is a value, not a section"),
    ("search=3", "search is a section"), ("search.visits=true", "--set search.visits: expected an integer"),
    ("search.nope=1", "--set search.nope: unknown key"), ("nope.key=1", "--set nope: unknown key"),
    ("learner.learning_rate=[1]", "--set learner.learning_rate: expected a number")])
def test_a_bad_set_item_names_it(item, message):
    from tenuki.common.config_files import resolve_config
    from tenuki.common.yaml_config import ConfigError, load_yaml_config
    from tenuki.selfplay.config import config_from_dict

    with pytest.raises(ConfigError, match="^.*" + message.replace("[", r"\[").replace(".", r"\.")):
        load_yaml_config(resolve_config("smoke", "selfplay"), config_from_dict, ConfigError, overrides=[item])
