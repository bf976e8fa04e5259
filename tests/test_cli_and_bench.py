"""Smoke runs of every command and benchmark with a tiny budget, and the numba cache check."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tenuki.commands.main import main

ROOT = Path(__file__).resolve().parents[1]


def test_demo_plays_a_whole_game(capsys):
    assert main(["demo", "--size", "7", "--playouts", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Tromp-Taylor area" in out and "result" in out


def test_demo_rejects_a_bad_size(capsys):
    assert main(["demo", "--size", "42"]) == 2
    assert "board size 42" in capsys.readouterr().err


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "demo" in capsys.readouterr().out


def test_go_env_benchmark_prints_one_json_object():
    proc = subprocess.run(
        [sys.executable, "-m", "bench.go_env", "--size", "9", "--seconds", "0.3", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )
    result = json.loads(proc.stdout)
    for key in ("tenuki_steps_per_s", "open_spiel_steps_per_s", "pettingzoo_steps_per_s", "playouts_per_s"):
        assert result[key] is not None and result[key] > 0, key


def test_second_process_reaches_its_first_move_quickly():
    """Numba kernels are cached on disk: a fresh process plays its first move in under 2 s."""
    code = (
        "import time; t = time.perf_counter(); from tenuki.envs.go.board import Board; b = Board(19); "
        "b.play(b.legal_moves()[0]); b.legal_mask(); b.score(); b.undo(); "
        "print(time.perf_counter() - t)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, timeout=600)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True,
                          text=True, timeout=120)
    first_move_s = float(proc.stdout.strip())
    assert first_move_s < 2.0, f"first move took {first_move_s:.2f} s (process {time.perf_counter() - start:.2f} s)"


def test_mcts_benchmark_prints_one_json_object():
    proc = subprocess.run(
        [sys.executable, "-m", "bench.mcts", "--size", "9", "--seconds", "0.3", "--sims", "64",
         "--blocks", "1", "--channels", "8", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=True,
    )
    result = json.loads(proc.stdout)
    for key in ("tree_sims_per_s", "rollout_sims_per_s", "open_spiel_rollout_sims_per_s", "nn_sims_per_s"):
        assert result[key] is not None and result[key] > 0, key
    assert 0 < result["nn_time_share"] <= 1


@pytest.mark.data
def test_alphago_benchmark_prints_one_json_object(data_dir: Path, capsys):
    from bench import alphago

    assert alphago.main(["--data", str(data_dir), "--seconds", "0.1", "--threads", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("features_positions_per_s", "stream_positions_per_s", "train_samples_per_s_small",
                "train_samples_per_s_192", "train_samples_per_s_small_as_configured"):
        assert result[key] > 0, key
    assert set(result["train_samples_per_s_as_configured"]) == {"policy19", "policy19-cpu", "policy19-cpu96"}
    assert result["as_configured"]["policy19-cpu96"]["filters"] == 96


def test_alphago_benchmark_training_rate_is_positive_as_configured():
    from bench import alphago

    assert alphago.bench_training(8, 2, 0.05, batch=4, precision="bfloat16", channels_last=True) > 0


def _subcommand_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every sub-command of the parser, nested ones included (``("train", "sl-policy")``)."""
    paths = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                paths.append((*prefix, name))
                paths += _subcommand_paths(child, (*prefix, name))
    return paths


def _parser_at(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> argparse.ArgumentParser:
    for name in path:
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    return parser


def test_every_subcommand_has_help(capsys):
    from tenuki.commands.main import build_parser

    parser = build_parser()
    paths = _subcommand_paths(parser)
    for path in paths:  # a description for each sub-command, a help text for each of its options
        child = _parser_at(parser, path)
        assert child.description, path
        undocumented = [a.dest for a in child._actions
                        if a.help is None and not isinstance(a, argparse._SubParsersAction)]
        assert undocumented == [], (path, undocumented)
    assert {path[0] for path in paths} == {"demo", "gtp", "play", "match", "tournament", "selfplay", "data", "train",
                                           "eval", "atari", "lecture"}
    assert ("train", "sl-policy") in paths and ("eval", "policy-match") in paths and ("train", "rollout") in paths
    for path in paths:
        with pytest.raises(SystemExit) as exit_info:
            main([*path, "--help"])
        assert exit_info.value.code == 0, path
        assert capsys.readouterr().out.startswith(f"usage: tenuki {' '.join(path)}"), path


def test_version_is_the_distributions():
    from importlib.metadata import version

    from tenuki import version as tenuki_version

    assert tenuki_version() == version("tenuki-rl")


@pytest.mark.parametrize("kind, name", [("selfplay", "smoke"), ("selfplay", "go9x9"), ("sl", "policy19-cpu96"),
                                        ("rl", "policy19"), ("atari", "pong"), ("lecture", "cnn")])
def test_a_config_name_finds_the_packaged_file_from_any_folder(kind, name, tmp_path, monkeypatch):
    from tenuki.common.config_files import config_names, resolve_config

    monkeypatch.chdir(tmp_path)
    path = resolve_config(name, kind)
    assert path.is_absolute() and path.is_file() and path.name == f"{name}.yaml" and path.parent.name == kind
    assert name in config_names(kind)


def test_a_config_path_stays_a_path(tmp_path, monkeypatch):
    from tenuki.common.config_files import resolve_config

    monkeypatch.chdir(tmp_path)
    (tmp_path / "smoke").write_text("run:\n  name: mine\n")  # a file wins over a shipped name
    assert resolve_config("smoke", "selfplay") == Path("smoke")
    assert resolve_config("mine.yaml", "selfplay") == Path("mine.yaml")  # missing: its loader says so
    assert resolve_config("sub/go9x9", "selfplay") == Path("sub/go9x9")


@pytest.mark.parametrize("argv, kind", [
    (["selfplay", "launch"], "selfplay"), (["train", "rl-policy"], "rl"), (["train", "sl-policy"], "sl"),
    (["atari", "train"], "atari"), (["lecture", "run", "cnn"], "lecture")])
def test_an_unknown_config_name_is_one_line_listing_the_known_ones(argv, kind, tmp_path, monkeypatch, capsys):
    from tenuki.common.config_files import config_names

    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--config", "no-such-config"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "no-such-config" in err and all(name in err for name in config_names(kind)), err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_lecture_results_default_to_runs_of_the_current_folder(tmp_path, monkeypatch):
    import types

    from tenuki.lecture.common import run_experiment

    def run(config, quick, out_dir):
        return {"headline": {"name": "accuracy", "value": 1.0, "threshold": 0.5, "higher_is_better": True,
                             "passed": True}}

    module = types.SimpleNamespace(NAME="fake", CLAIM="a claim", run=run)
    monkeypatch.chdir(tmp_path)
    record = run_experiment(module, quick=True)
    assert Path(record["results_dir"]) == tmp_path / "runs" / "lecture" / "fake"
    assert (tmp_path / "runs" / "lecture" / "fake" / "result.json").is_file()


def test_dqn_update_benchmark_has_help():
    proc = subprocess.run([sys.executable, "-m", "bench.dqn_update", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0 and "--seconds" in proc.stdout, proc.stderr


def test_bench_record_keeps_the_json_and_the_command(tmp_path, monkeypatch):
    """``python -m bench.record NAME -- CMD`` stores CMD's last JSON line with the command as typed; a failing
    command or a non-JSON output writes nothing and exits 2."""
    from bench import record

    monkeypatch.chdir(tmp_path)
    assert record.main(["demo", "--", "python", "-c", "print('warming up'); print('{\"ratio\": 1.5}')"]) == 0
    saved = json.loads((tmp_path / "docs" / "bench" / "demo.json").read_text())
    assert saved["result"] == {"ratio": 1.5}
    assert saved["command"].startswith("python -c ")
    assert record.main(["bad", "--", "python", "-c", "print('no json')"]) == 2
    assert record.main(["fails", "--", "python", "-c", "raise SystemExit(3)"]) == 2
    assert sorted(p.name for p in (tmp_path / "docs" / "bench").iterdir()) == ["demo.json"]
