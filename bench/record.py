"""Run one benchmark and keep its JSON as evidence: ``docs/bench/NAME.json`` with the exact command.

    python -m bench.record go_env-9 -- python -m bench.go_env --size 9 --seconds 10 --json

The benchmark's own JSON object (its last stdout line) is stored under ``result``, next to the command
as typed, the date, the git commit and whether the checkout had uncommitted changes, so that every figure
the README quotes points at the file that produced it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import shlex
import subprocess
import sys
from pathlib import Path

OUT_DIR = Path("docs/bench")


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.record", description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="file name under docs/bench (without .json)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the benchmark command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the benchmark command after --")
    as_typed = " ".join(shlex.quote(part) for part in command)
    if command[0] == "python":  # the interpreter running this script, as the README's `python -m` means
        command = [sys.executable, *command[1:]]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        print(f"bench.record: the command failed with exit code {done.returncode}", file=sys.stderr)
        return 2
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        print("bench.record: the command's last stdout line is not a JSON object", file=sys.stderr)
        return 2
    record = {
        "command": as_typed,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "machine": {"processor": platform.processor() or platform.machine(), "python": platform.python_version()},
        "result": result,
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{args.name}.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(result))
    print(f"bench.record: wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
