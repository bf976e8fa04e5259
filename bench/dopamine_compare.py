"""Dopamine's published Atari curves beside a tenuki run, at the same agent steps (issue 29).

    python -m bench.dopamine_compare --game pong --run runs/atari/pong-dopamine [--plot docs/atari/x.png]
    python -m bench.dopamine_compare --game pong --run docs/atari/pong-dopamine-metrics.jsonl
    python -m bench.dopamine_compare --extract /path/to/dopamine   # refresh docs/atari/dopamine/*.json

**Dopamine's quantity.** Its baseline files (``baselines/atari/data/<game>.json``, the "legacy" page of TF
agents, and ``<game>_CNN.json``, the JAX agents) hold one ``Value`` per agent, seed and iteration. An
iteration is 250,000 agent steps of training (``Runner.training_steps``; 4 frames a step), sticky actions
(0.25), the minimal action set, epsilon 0.01 after its decay; the Value is the mean undiscounted return of
the training episodes of that iteration (``run_experiment.py``: ``_run_train_phase``'s
``average_return``; the current configs have no evaluation phase). Dopamine runs whole episodes in an
iteration, so iteration ``i`` covers agent steps ``[250k * i, 250k * (i + 1))`` plus its last episode.
The figures are read from a copy of those files, ``docs/atari/dopamine/<game>.json`` (iterations 0-7,
every seed, the Dopamine commit named inside; Apache-2.0, data only); ``--extract`` rewrites the copy from
a checkout of google/dopamine.

**tenuki's quantity, the same one.** A run's ``metrics.jsonl`` logs every training episode with the
agent step at which it ended (summed over the environments) and its raw return (``return``: rewards not
clipped). Window ``k`` is the mean return of the episodes that *ended* in ``(250k * k, 250k * (k + 1)]``
(Dopamine counts an episode in the iteration where it started; with episodes of 1-4k steps the
difference is a few episodes per window). The run must use the ``dopamine`` protocol (sticky actions,
minimal action set, no life-loss terminals); another protocol is reported and flagged.

Printed: ONE JSON object: per window, tenuki's mean (and episode count), each Dopamine agent's mean over
its seeds (and the seeds' min and max), and at the last full window which agents tenuki is ahead of.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import print_result

ROOT = Path(__file__).resolve().parents[1]
COPY_DIR = ROOT / "docs" / "atari" / "dopamine"
WINDOW = 250_000  # agent steps in a Dopamine iteration
ITERATIONS = 8  # copied: iterations 0-7 (2M agent steps)
GAMES = {"pong": "Pong", "breakout": "Breakout"}
FILES = {"legacy": "{game}.json", "cnn": "{game}_CNN.json"}
# the agents the issue compares with, as each file names them
MAIN_AGENTS = {"legacy": ("DQN", "Rainbow", "IQN", "Quantile (JAX)", "C51", "DQN (Adam + MSE in JAX)"),
               "cnn": ("DQN", "Rainbow", "IQN", "QR-DQN", "C51")}


class CompareError(ValueError):
    """A file or option this script cannot use; the message names it."""


# --------------------------------------------------------------------------------------- the copy


def _seed_values(rows: list[dict[str, Any]], where: str) -> dict[str, list[list[float]]]:
    """agent -> iteration -> the values of its seeds, for iterations 0..ITERATIONS-1, in file order."""
    out: dict[str, list[list[float]]] = {}
    for row in rows:
        try:
            agent, iteration, value = str(row["Agent"]), int(row["Iteration"]), float(row["Value"])
        except (KeyError, TypeError, ValueError) as error:
            raise CompareError(f"{where}: a row without Agent / Iteration / Value: {row!r}") from error
        if iteration < ITERATIONS:
            out.setdefault(agent, [[] for _ in range(ITERATIONS)])[iteration].append(value)
    return out


def extract(checkout: Path) -> list[Path]:
    """Write ``docs/atari/dopamine/<game>.json`` from a google/dopamine checkout; return the paths."""
    data = "baselines/atari/data"

    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True,
                                  check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return None

    def read(name: str) -> str:
        path = checkout / data / name
        if path.is_file():
            return path.read_text(encoding="utf-8")
        text = git("show", f"HEAD:{data}/{name}")  # a bare clone: the file at HEAD
        if text is None:
            raise CompareError(f"--extract {checkout}: no {data}/{name} (a google/dopamine checkout or clone?)")
        return text

    commit = (git("rev-parse", "HEAD") or "unknown").strip()
    written = []
    for game in GAMES:
        record: dict[str, Any] = {
            "source": "https://github.com/google/dopamine baselines/atari/data", "commit": commit,
            "license": "Apache-2.0 (Copyright 2018 The Dopamine Authors); the values copied unchanged, "
                       f"iterations 0-{ITERATIONS - 1} only",
            "value": "mean undiscounted return of the training episodes of an iteration (250k agent steps, "
                     "sticky actions 0.25, minimal action set, epsilon 0.01 after its decay)",
            "iteration_agent_steps": WINDOW, "files": {},
        }
        for kind, pattern in FILES.items():
            name = pattern.format(game=game)
            try:
                rows = json.loads(read(name))
            except json.JSONDecodeError as error:
                raise CompareError(f"{data}/{name}: {error}") from error
            record["files"][kind] = {"file": name, "agents": _seed_values(rows, name)}
        COPY_DIR.mkdir(parents=True, exist_ok=True)
        target = COPY_DIR / f"{game}.json"
        target.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        written.append(target)
    return written


def load_copy(game: str) -> dict[str, Any]:
    path = COPY_DIR / f"{game}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CompareError(f"{path} is missing: run with --extract DOPAMINE_CHECKOUT first") from None
    except json.JSONDecodeError as error:
        raise CompareError(f"{path} is not JSON: {error}") from error


# ---------------------------------------------------------------------------------- tenuki's run


def read_run(run: Path) -> tuple[list[dict[str, Any]], int, str | None]:
    """(training episodes, the last agent step logged (episodes and evaluations), protocol name or None) of a
    run folder or a metrics.jsonl file (its config: config.yaml beside it, or NAME-config.yaml for
    NAME-metrics.jsonl)."""
    metrics = run / "metrics.jsonl" if run.is_dir() else run
    if not metrics.is_file():
        raise CompareError(f"--run {run}: no metrics.jsonl there (a tenuki atari run folder or its metrics file)")
    episodes, last = [], 0
    for number, line in enumerate(metrics.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash
        if isinstance(record.get("step"), int):
            last = max(last, record["step"])
        if record.get("kind") == "episode":
            if not isinstance(record.get("step"), int) or not isinstance(record.get("return"), (int, float)):
                raise CompareError(f"{metrics}:{number}: an episode without an integer step and a return")
            episodes.append(record)
    protocol = None
    for config in (metrics.parent / "config.yaml", metrics.with_name(metrics.name.replace("metrics.jsonl",
                                                                                      "config.yaml"))):
        if config.is_file():
            import yaml

            loaded = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
            protocol = (loaded.get("env") or {}).get("protocol")
            break
    return episodes, last, protocol


def window_means(episodes: list[dict[str, Any]], last: int, windows: int) -> list[dict[str, Any]]:
    """Window k: the episodes that ended at an agent step in (WINDOW * k, WINDOW * (k + 1)]; complete when
    the run logged a step at or past its end (``last``)."""
    out = []
    for k in range(windows):
        returns = [float(e["return"]) for e in episodes if WINDOW * k < e["step"] <= WINDOW * (k + 1)]
        full = last >= WINDOW * (k + 1)
        out.append({"agent_steps": WINDOW * (k + 1), "mean": round(statistics.fmean(returns), 3) if returns else None,
                    "episodes": len(returns), "complete": full})
    return out


def compare(game: str, run: Path | None, kind: str = "legacy") -> dict[str, Any]:
    copy = load_copy(game)
    agents = copy["files"][kind]["agents"]
    dopamine = {}
    for agent in MAIN_AGENTS[kind]:
        if agent not in agents:
            continue
        per_iteration = agents[agent]
        dopamine[agent] = [{"agent_steps": WINDOW * (i + 1), "mean": round(statistics.fmean(v), 3),
                            "min": min(v), "max": max(v), "seeds": len(v)} for i, v in enumerate(per_iteration) if v]
    result: dict[str, Any] = {"benchmark": "dopamine_compare", "game": GAMES[game], "dopamine_file": copy["files"][kind]["file"],
                              "dopamine_commit": copy["commit"], "dopamine": dopamine}
    if run is None:
        return result
    episodes, last, protocol = read_run(run)
    windows = window_means(episodes, last, ITERATIONS)
    complete = [w for w in windows if w["complete"] and w["mean"] is not None]
    result["tenuki"] = {"run": str(run), "protocol": protocol, "protocol_is_dopamines": protocol == "dopamine",
                        "episodes": len(episodes), "windows": [w for w in windows if w["episodes"]]}
    if complete:
        last = complete[-1]
        k = last["agent_steps"] // WINDOW - 1
        result["at_agent_steps"] = last["agent_steps"]
        result["ahead_of"] = sorted(a for a, rows in dopamine.items() if k < len(rows) and last["mean"] > rows[k]["mean"])
        result["behind"] = sorted(a for a, rows in dopamine.items() if k < len(rows) and last["mean"] <= rows[k]["mean"])
    return result


def markdown(result: dict[str, Any]) -> str:
    """The comparison as a Markdown table: one row per agent, one column per 250k-step window."""
    steps = [r["agent_steps"] for r in next(iter(result["dopamine"].values()))][:4]
    if "tenuki" in result:
        have = [w["agent_steps"] for w in result["tenuki"]["windows"] if w["mean"] is not None]
        steps = sorted(set(steps) | set(have))[:ITERATIONS]
    head = "| agent | " + " | ".join(f"{s / 1e6:g}M" for s in steps) + " |"
    rows = [head, "|---|" + "---:|" * len(steps)]
    if "tenuki" in result:
        by_step = {w["agent_steps"]: w for w in result["tenuki"]["windows"]}
        cells = [("" if s not in by_step or by_step[s]["mean"] is None else
                  f"**{by_step[s]['mean']:+.1f}**" if by_step[s]["complete"] else f"({by_step[s]['mean']:+.1f})")
                 for s in steps]
        rows.append(f"| tenuki ({result['tenuki']['protocol']}) | " + " | ".join(cells) + " |")
    for agent, per in result["dopamine"].items():
        by_step = {r["agent_steps"]: r for r in per}
        rows.append(f"| Dopamine {agent} | " + " | ".join(f"{by_step[s]['mean']:+.1f}" if s in by_step else ""
                                                        for s in steps) + " |")
    if "tenuki" in result and not all(w["complete"] for w in result["tenuki"]["windows"]):
        rows.append("\n(in parentheses: a window the run had not finished)")
    return "\n".join(rows)


def plot(result: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for agent, rows in result["dopamine"].items():
        xs = [r["agent_steps"] / 1e6 for r in rows]
        ax.plot(xs, [r["mean"] for r in rows], marker=".", lw=1, label=f"Dopamine {agent}")
        ax.fill_between(xs, [r["min"] for r in rows], [r["max"] for r in rows], alpha=0.08)
    if "tenuki" in result:
        rows = [w for w in result["tenuki"]["windows"] if w["mean"] is not None]
        ax.plot([w["agent_steps"] / 1e6 for w in rows], [w["mean"] for w in rows], marker="o", lw=2.5, color="black",
                label=f"tenuki ({result['tenuki']['protocol']} protocol)")
    ax.set_xlabel("agent steps (millions); each point: the mean training-episode return of the 250k steps before it")
    ax.set_ylabel("return")
    ax.set_title(f"{result['game']}: tenuki beside Dopamine ({result['dopamine_file']}, 5 seeds; band: min-max)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", choices=sorted(GAMES), default="pong")
    parser.add_argument("--run", type=Path, help="a tenuki atari run folder or its metrics.jsonl (else Dopamine only)")
    parser.add_argument("--file", choices=sorted(FILES), default="legacy",
                        help="Dopamine's legacy page (TF agents; the issue's figures) or the JAX CNN agents")
    parser.add_argument("--plot", type=Path, help="also write a PNG of the curves there")
    parser.add_argument("--extract", type=Path, metavar="DOPAMINE_CHECKOUT",
                        help="rewrite docs/atari/dopamine/*.json from a google/dopamine checkout, then stop")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        if args.extract:
            print_result({"benchmark": "dopamine_compare", "extracted": [str(p) for p in extract(args.extract)]},
                         started)
            return 0
        result = compare(args.game, args.run, args.file)
        result["markdown"] = markdown(result)
        if args.plot:
            result["plot"] = str(plot(result, args.plot))
    except CompareError as error:
        parser.exit(2, f"bench.dopamine_compare: {error}\n")
    print_result(result, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
