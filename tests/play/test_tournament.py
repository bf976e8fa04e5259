"""``tenuki tournament``: the Bradley-Terry fit against closed forms, relabelling and the anchor shift; a real
gauntlet of fast engines on 5x5 that writes games.jsonl, SGFs, tournament.json and elo.png; resuming after a
SIGKILL (every game once, none replayed, a cut last line dropped); config errors as one line naming the key;
--set, -q / -v, and the shipped configs."""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tenuki.commands.main import build_parser, main
from tenuki.common.config_files import config_names, resolve_config
from tenuki.envs.go.sgf import load_sgf
from tenuki.play.tournament import (
    GAMES_FILE,
    TournamentError,
    build_plan,
    config_from_dict,
    load_tournament_config,
    prepare_run,
    read_games,
)
from tenuki.play.tournament_ratings import ELO_PER_NAT, fit_bradley_terry

RANDOM = "tenuki gtp --player random --size 5 --seed {game}"
TENUKI = Path(sys.executable).parent / "tenuki"


def outcomes(a: str, b: str, wins: int, losses: int, draws: int = 0) -> list[tuple[str, str, float]]:
    return [(a, b, 1.0)] * wins + [(a, b, 0.0)] * losses + [(a, b, 0.5)] * draws


def write_config(folder: Path, **keys) -> Path:
    document = {"name": "t", "format": "round_robin", "size": 5, "games_per_pairing": 2,
                "engines": [{"name": "r1", "command": RANDOM}, {"name": "r2", "command": RANDOM + " --komi 7"},
                            {"name": "r3", "command": RANDOM.replace("{game}", "7")}],
                "out_dir": str(folder / "out")}
    document.update(keys)
    path = folder / "t.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------------------------------------------------ the fit


@pytest.mark.parametrize("games", [10, 40, 100])
def test_two_players_match_the_closed_form(games):
    """w wins of n: the Bradley-Terry MLE is 400 log10(w / (n - w)) Elo. The default prior (N(0, 1000 Elo))
    shrinks it by less than 2%; a prior of 1e5 Elo leaves it within 0.01 Elo."""
    for wins in range(1, games):
        closed = 400.0 * math.log10(wins / (games - wins))
        default = fit_bradley_terry(["a", "b"], outcomes("a", "b", wins, games - wins)).elo("b")["a"][0]
        weak = fit_bradley_terry(["a", "b"], outcomes("a", "b", wins, games - wins), prior_sd_elo=1e5).elo("b")["a"][0]
        assert abs(default - closed) <= 0.02 * abs(closed) + 1e-6, (wins, default, closed)
        assert abs(default) <= abs(closed) + 1e-6  # the prior shrinks, never stretches
        assert weak == pytest.approx(closed, abs=0.01), (wins, weak, closed)


def test_draws_count_half_and_the_interval_is_the_fisher_information():
    # 3 wins, 2 draws of 5 is a score of 4 of 5
    drawn = fit_bradley_terry(["a", "b"], outcomes("a", "b", 3, 0, draws=2), prior_sd_elo=1e5).elo("b")["a"]
    assert drawn[0] == pytest.approx(400.0 * math.log10(4.0), abs=0.01)
    # Fisher information of the difference: n p (1 - p); half width 1.96 * 173.7 / sqrt(n p q)
    elo, low, high = fit_bradley_terry(["a", "b"], outcomes("a", "b", 28, 12), prior_sd_elo=1e5).elo("b")["a"]
    half = 1.959964 * ELO_PER_NAT / math.sqrt(40 * 0.7 * 0.3)
    assert (elo - low, high - elo) == (pytest.approx(half, rel=1e-3), pytest.approx(half, rel=1e-3))


def test_an_undefeated_engine_stays_finite():
    elo, low, high = fit_bradley_terry(["a", "b"], outcomes("a", "b", 10, 0)).elo("b")["a"]
    assert 600 < elo < 1200 and low < elo < high and all(map(math.isfinite, (elo, low, high)))


SYNTHETIC = outcomes("x", "y", 7, 3, 1) + outcomes("y", "z", 6, 4) + outcomes("x", "z", 9, 2, 2)


def test_three_players_relabelled_and_reordered_give_the_same_ratings():
    reference = fit_bradley_terry(["x", "y", "z"], SYNTHETIC).elo("z", 0.0)
    rng = random.Random(0)
    for order in itertools.permutations(["x", "y", "z"]):
        rename = dict(zip(["x", "y", "z"], ["p", "q", "r"], strict=True))  # new labels, new order, games shuffled,
        games = [(rename[b], rename[a], 1.0 - s) if rng.random() < 0.5 else (rename[a], rename[b], s)  # sides swapped
                 for a, b, s in SYNTHETIC]
        rng.shuffle(games)
        fitted = fit_bradley_terry([rename[n] for n in order], games).elo("r", 0.0)
        for name in "xyz":
            assert fitted[rename[name]] == pytest.approx(reference[name], abs=1e-6)


def test_the_anchor_shift_is_exact():
    fit = fit_bradley_terry(["x", "y", "z"], SYNTHETIC)
    at_zero, at_431, by_x = fit.elo("z", 0.0), fit.elo("z", 431.0), fit.elo("x", 0.0)
    assert at_431["z"] == (431.0, 431.0, 431.0) and at_zero["z"] == (0.0, 0.0, 0.0)
    for name in "xyz":
        assert at_431[name][0] - at_zero[name][0] == pytest.approx(431.0, abs=1e-9)
        assert at_431[name][2] - at_431[name][1] == pytest.approx(at_zero[name][2] - at_zero[name][1], abs=1e-9)
        assert by_x[name][0] == pytest.approx(at_zero[name][0] - at_zero["x"][0], abs=1e-9)
    assert at_zero["x"][0] > at_zero["y"][0] > 0.0  # x beat both, y beat z


def test_an_engine_without_games_to_the_anchor_has_no_elo():
    fit = fit_bradley_terry(["x", "y", "z", "w"], outcomes("x", "y", 3, 1) + outcomes("z", "w", 2, 2))
    elo = fit.elo("x")
    assert elo["z"] is None and elo["w"] is None and elo["y"] is not None


# ------------------------------------------------------------------------------------------ real games


def test_a_gauntlet_of_fast_engines_writes_everything(tmp_path, capsys):
    path = write_config(tmp_path, format="gauntlet", opponents=["r3"], anchor={"engine": "r3", "elo": 100},
                        parallel=2)
    assert main(["tournament", "--config", str(path), "-q"]) == 0
    captured = capsys.readouterr()
    assert "[1/4]" not in captured.err  # -q: no progress lines
    out = tmp_path / "out"
    records = [json.loads(line) for line in (out / GAMES_FILE).read_text().splitlines()]
    assert sorted(r["id"] for r in records) == ["r1_vs_r3/001", "r1_vs_r3/002", "r2_vs_r3/001", "r2_vs_r3/002"]
    for record in records:  # colours alternate within a pairing; every game has its SGF
        assert (record["black"] == record["engine_a"]) == (record["game"] == 1)
        sgf = load_sgf(out / record["sgf_path"])
        assert sgf.result == record["result"] and sgf.size == 5
        assert record["sgf_path"] == f"sgf/{record['pairing']}/game-{record['game']:03d}.sgf"
    report = json.loads((out / "tournament.json").read_text())
    assert report["complete"] and report["games_played"] == 4 and len(report["games"]) == 4
    rows = {row["engine"]: row for row in report["ratings"]["engines"]}
    assert rows["r3"]["elo"] == 100.0 and rows["r3"]["anchor"] and rows["r3"]["games"] == 4
    assert sum(row["wins"] + row["draws"] / 2 for row in rows.values()) == 4
    assert [p["pairing"] for p in report["pairings"]] == ["r1_vs_r3", "r2_vs_r3"]
    assert (out / "elo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("r1", "r2", "r3", "(anchor)", "Wilson"):
        assert name in captured.out
    # again, complete: nothing played, -v says so; --json is one object without the game list
    assert main(["tournament", "--config", str(path), "--json", "-v"]) == 0
    captured = capsys.readouterr()
    assert "4 of 4 games recorded, 0 to play" in captured.err
    summary = json.loads(captured.out)
    assert summary["games_played"] == 4 and "games" not in summary and summary["anchor"]["elo"] == 100.0
    assert len((out / GAMES_FILE).read_text().splitlines()) == 4


def test_a_killed_tournament_resumes_without_replaying(tmp_path, capsys):
    path = write_config(tmp_path)
    games = tmp_path / "out" / GAMES_FILE
    process = subprocess.Popen([str(TENUKI), "tournament", "--config", str(path), "-q"], cwd=tmp_path,
                               start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while not (games.exists() and games.read_bytes().count(b"\n") >= 1):
            assert process.poll() is None, "the tournament ended before it was killed"
            assert time.monotonic() < deadline, "no game recorded in 180 s"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    before = games.read_bytes()
    first = [json.loads(line) for line in before.splitlines()]
    assert 1 <= len(first) < 6
    games.write_bytes(before + b'{"id": "r1_vs_r2/0')  # a line cut short by the kill
    assert main(["tournament", "--config", str(path), "--resume"]) == 0
    err = capsys.readouterr().err
    assert "the last line is cut short" in err
    after = games.read_bytes()
    assert after.startswith(before)  # recorded games kept byte for byte
    ids = [json.loads(line)["id"] for line in after.splitlines()]
    assert sorted(ids) == sorted(f"{p}/{g:03d}" for p in ("r1_vs_r2", "r1_vs_r3", "r2_vs_r3") for g in (1, 2))
    played_again = [line for line in err.splitlines() if line.startswith("[")]
    assert len(played_again) == 6 - len(first)
    (tmp_path / "out" / "tournament.json").unlink()
    assert main(["tournament", "--config", str(path), "--report", "--json"]) == 0  # rates, plays nothing
    assert json.loads(capsys.readouterr().out)["games_played"] == 6
    assert games.read_bytes() == after and (tmp_path / "out" / "tournament.json").is_file()
    assert not any(f" {record['id']}:" in line for record in first for line in played_again)
    assert len(list((tmp_path / "out" / "sgf").rglob("*.sgf"))) == 6


def test_report_rates_what_is_recorded_and_plays_nothing(tmp_path, capsys):
    path = write_config(tmp_path)
    assert main(["tournament", "--config", str(path), "--report"]) == 2  # nothing recorded yet
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out" / GAMES_FILE).exists()


def test_a_whole_last_line_without_its_newline_is_kept(tmp_path):
    path = tmp_path / GAMES_FILE
    path.write_text('{"id": "a"}\n{"id": "b"}')
    assert [r["id"] for r in read_games(path)] == ["a", "b"]
    assert path.read_text() == '{"id": "a"}\n{"id": "b"}\n'
    path.write_text('{"id": "a"}\nnot json\n{"id": "b"}\n')
    with pytest.raises(TournamentError, match="line 2 is not a game record"):
        read_games(path)


# ------------------------------------------------------------------------------------------ resuming rules


def recorded(plan, game_id: str, **changes) -> dict:
    record = {"id": game_id, "commands": {n: plan.config.commands[n] for n in ("r1", "r2")},
              "conditions": dict(plan.conditions), "opening_moves": [], "winner": None}
    record.update(changes)
    return record


def test_a_config_may_only_add_games(tmp_path):
    config = load_tournament_config(write_config(tmp_path))
    plan = build_plan(config)
    plan.out_dir.mkdir()
    plan.games_path.write_text(json.dumps(recorded(plan, "r1_vs_r2/002")) + "\n")
    records, missing = prepare_run(plan)
    assert [r["id"] for r in records] == ["r1_vs_r2/002"] and len(missing) == 5
    more = build_plan(load_tournament_config(write_config(tmp_path, games_per_pairing=3)))
    assert len(prepare_run(more)[1]) == 8
    fewer = build_plan(load_tournament_config(write_config(tmp_path, games_per_pairing=1)))
    with pytest.raises(TournamentError, match="r1_vs_r2/002, which the config no longer schedules"):
        prepare_run(fewer)
    changed = config_from_dict({**yaml.safe_load(write_config(tmp_path).read_text()), "komi": 0.5})
    with pytest.raises(TournamentError, match=r"^komi: 7.0 in the recorded game r1_vs_r2/002, 0.5 now"):
        prepare_run(build_plan(changed))


def test_a_changed_command_is_one_line_naming_the_engine(tmp_path, capsys):
    path = write_config(tmp_path)
    plan = build_plan(load_tournament_config(path))
    plan.out_dir.mkdir()
    plan.games_path.write_text(json.dumps(recorded(plan, "r1_vs_r2/001")) + "\n")
    engines = yaml.safe_load(path.read_text())["engines"]
    engines[1]["command"] = "tenuki gtp --player mcts"
    write_config(tmp_path, engines=engines)
    assert main(["tournament", "--config", str(path)]) == 2
    line = one_line(capsys.readouterr().err)
    assert "engines: r2's command changed since game r1_vs_r2/001 was played" in line, line


# ------------------------------------------------------------------------------------------ config errors


@pytest.mark.parametrize("keys, argv, needle", [
    ({"gamez_per_pairing": 2}, [], "gamez_per_pairing: unknown key"),
    ({"games_per_pairing": 0}, [], "games_per_pairing: expected an integer >= 1, got 0"),
    ({"format": "swiss"}, [], "format: expected one of round_robin, gauntlet, got 'swiss'"),
    ({"size": 25}, [], "size: expected an integer in 2..19"),
    ({"komi": "x"}, [], "komi: expected a number"),
    ({"engines": [{"name": "a", "command": RANDOM}]}, [], "engines: a tournament needs at least 2 engines"),
    ({"engines": [{"name": "a", "command": RANDOM}, {"name": "a", "command": RANDOM}]}, [], "engines[1].name"),
    ({"engines": [{"name": "a b", "command": RANDOM}, {"name": "c", "command": RANDOM}]}, [], "engines[0].name"),
    ({"engines": [{"name": "a", "command": ""}, {"name": "c", "command": RANDOM}]}, [], "engines[0].command"),
    ({"engines": [{"name": "a", "cmd": RANDOM}, {"name": "c", "command": RANDOM}]}, [], "engines[0].cmd: unknown"),
    ({"opponents": ["r1"]}, [], "opponents: only with format: gauntlet"),
    ({"format": "gauntlet"}, [], "opponents: format gauntlet needs the field"),
    ({"format": "gauntlet", "opponents": ["r9"]}, [], "opponents: 'r9' is not one of the engines"),
    ({"format": "gauntlet", "opponents": ["r1"], "players": ["r1"]}, [], "players: 'r1' is also an opponent"),
    ({"anchor": {"engine": "r9"}}, [], "anchor.engine: 'r9' is not one of the engines"),
    ({"openings": "nope"}, [], "openings: 'nope': no such file nor shipped opening set"),
    ({"openings": "9x9"}, [], "openings: opening 1"),  # 9x9 openings do not fit a 5x5 board
    ({}, ["--set", "size=many"], "--set size: expected an integer, got 'many'"),
    ({}, ["--set", "gamez=1"], "--set gamez: unknown key"),
    ({}, ["--set", "anchor.elo=high"], "--set anchor.elo: expected a number"),
    ({}, ["--set", "players=r1"], "--set players: expected a list of engine names"),
    ({}, ["--resume"], "--resume: "),
])
def test_config_errors_are_one_line_naming_the_key(keys, argv, needle, tmp_path, capsys):
    path = write_config(tmp_path, **keys)
    assert main(["tournament", "--config", str(path), *argv]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith("tenuki tournament: ") and needle in line, line
    assert not (tmp_path / "out").exists()  # said before any work


def test_an_unknown_config_name_lists_the_shipped_ones(capsys):
    assert main(["tournament", "--config", "nope"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "alphago19" in line and "smoke" in line


# ------------------------------------------------------------------------------------------ CLI and configs


def test_set_is_repeatable_and_overrides_the_file(tmp_path):
    args = build_parser().parse_args(["tournament", "--config", "smoke", "--set", "size=5", "--set", "anchor.elo=3"])
    assert args.set == ["size=5", "anchor.elo=3"] and args.resume is False
    config = load_tournament_config(write_config(tmp_path), ["games_per_pairing=4", "anchor.elo=431", "komi=null",
                                                             "players=[]", "seconds_per_move=1.5", "name=x"])
    assert (config.games_per_pairing, config.anchor.elo, config.komi, config.seconds_per_move, config.name) == \
        (4, 431.0, None, 1.5, "x")


@pytest.mark.parametrize("name", config_names("tournament"))
def test_every_shipped_config_loads_and_schedules(name):
    config = load_tournament_config(resolve_config(name, "tournament"))
    plan = build_plan(config)
    assert len(plan.schedule) == len(plan.pairings) * config.games_per_pairing
    assert plan.out_dir == Path(f"runs/tournament-{name}")


def test_the_alphago19_config_is_a_gauntlet_against_gnugo_10():
    config = load_tournament_config(resolve_config("alphago19", "tournament"))
    assert (config.format, config.opponents, config.anchor_engine, config.size, config.seconds_per_move,
            config.games_per_pairing) == ("gauntlet", ["gnugo-10"], "gnugo-10", 19, 2.0, 10)
    commands = config.commands
    assert "--level 10" in commands["gnugo-10"] and "--level 1 " in commands["gnugo-1"]
    for name in ("policy-sl", "policy-rl", "rollouts", "rollouts-policy", "value", "policy-rollouts", "policy-value",
                 "value-rollouts", "policy-value-rollouts"):
        argv = [word.replace("{game}", "1") for word in shlex.split(commands[name])]
        assert argv[0] == "tenuki", name
        assert build_parser().parse_args(argv[1:]).command == "gtp", name  # options `tenuki gtp` takes today
