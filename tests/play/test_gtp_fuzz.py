"""``tenuki gtp`` under random input: every command, the board-changing ones included, and ``loadsgf`` of
mutated SGF files (byte flips, truncation, bad coordinates, bad sizes, komi and handicap).

A rejected command (``?``) must leave the game exactly as it was: the stones, the captures and the side
to move (``showboard``), the stones by colour (``list_stones``), the board size (``query_boardsize``) and
the move history, setup and komi (``printsgf``). An accepted command must leave an engine that still
answers; query commands must change nothing even when accepted; accepted ``play`` / ``undo`` /
``boardsize`` / ``clear_board`` / handicap commands must have done what they say. No answer may be an
internal error (an exception the engine did not expect). Fixed seeds; the random player (cheap).

The SGF files are real: GNU Go's regression positions from ``$TENUKI_DATA`` when the data folder is
there, games printed by the engine itself (``printsgf``) and a few records written by hand with setup
stones, PL, passes and variations.
"""

from __future__ import annotations

import io
import random
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tenuki.play.gtp_engine import GTPEngine
from tenuki.play.registry import make
from tests.conftest import data_root

LINES = 5000
SEEDS = (1, 2)  # LINES / len(SEEDS) lines each
LETTERS = "ABCDEFGHJKLMNOPQRST"
# Commands that only read the game: they must change nothing, accepted or not.
QUERIES = {
    "protocol_version",
    "name",
    "version",
    "known_command",
    "list_commands",
    "query_boardsize",
    "showboard",
    "list_stones",
    "is_legal",
    "all_legal",
    "captures",
    "final_score",
    "final_status_list",
    "printsgf",
    "reg_genmove",
    "time_settings",
    "time_left",
    "kgs-time_settings",
}
# Streaming analysis waits for the next command (tested with a subprocess in test_gtp_engine.py); the
# genmove variants end by themselves and are fuzzed.
NOT_FUZZED = {"lz-analyze", "kata-analyze", "quit"}

# How often each command comes (1 when not listed): mostly moves, so that games get long enough for
# captures, kos and full boards.
WEIGHTS = {
    "play": 25.0,
    "genmove": 6.0,
    "undo": 5.0,
    "loadsgf": 5.0,
    "boardsize": 2.0,
    "kgs-genmove_cleanup": 2.0,
    "set_free_handicap": 2.0,
    "fixed_handicap": 2.0,
    "place_free_handicap": 2.0,
    "komi": 2.0,
}

HANDMADE = [
    "(;GM[1]FF[4]SZ[9]KM[6.5]AB[cc][gg]AW[ee];W[ec];B[];W[tt];B[dd](;W[de])(;W[ff]))",
    "(;SZ[5]PL[W]AB[aa][bb]AW[cc];W[dd];W[ee];B[ba]C[a comment with \\] and é])",
    "(;SZ[7]HA[2]AB[cc][ee]KM[0.5];W[dd];B[dc];W[cd];B[de];W[ed];AE[cc]PL[B];B[cc])",
    "(;SZ[13]KM[7.5]RU[Chinese];B[dd];W[jj];B[dj];W[jd];B[gg];W[];B[])",
    "(;SZ[19];B[pd];W[dp];B[pp];W[dd];B[fq];W[cn];B[jp];W[qf];B[nc];W[rd];B[qc];W[qi])",
    "(;SZ[2];B[aa];W[bb];B[];W[])",
]


# ---------------------------------------------------------------------------- SGF corpus and mutations


def real_sgfs(limit: int = 40) -> list[bytes]:
    """SGF files of GNU Go's regression suite (19x19, 13x13, 9x9, setup stones), when the data is there."""
    archive = data_root() / "go" / "regression" / "gnugo-regression.tar.gz"
    if not archive.is_file():
        return []
    with tarfile.open(archive) as tar:
        members = sorted(
            (m for m in tar.getmembers() if m.isfile() and m.name.endswith(".sgf")), key=lambda m: m.name
        )
        step = max(1, len(members) // limit)
        return [tar.extractfile(m).read() for m in members[::step][:limit]]


def printed_games(tmp: Path) -> list[bytes]:
    """Games the engine plays and prints itself (handicap, captures, passes, several sizes)."""
    games = []
    for size, setup, moves in (
        (5, "", 60),
        (7, "fixed_handicap 2", 80),
        (9, "place_free_handicap 3", 120),
        (9, "", 200),
        (13, "fixed_handicap 4", 80),
    ):
        e = new_engine(size)
        ask(e, f"boardsize {size}")
        if setup:
            ask(e, setup)
        for i in range(moves):
            ask(e, f"genmove {'bw'[i % 2]}")
        text = ask(e, "printsgf")
        assert text.startswith("=\n"), text
        games.append(text[2:].strip().encode())
    return games


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three random damages; now and then none."""
    kinds = ["flip", "truncate", "coordinate", "property", "occupied", "garbage"]
    if rng.random() < 0.15:
        return data
    for kind in rng.sample(kinds, rng.randint(1, 3)):
        if kind == "flip" and data:
            raw = bytearray(data)
            for _ in range(rng.randint(1, 6)):
                raw[rng.randrange(len(raw))] = rng.choice([*b"[];()\\:", 0, 0xFF, 0xC3, rng.randrange(256)])
            data = bytes(raw)
        elif kind == "truncate" and data:
            data = data[: rng.randrange(len(data))]
        elif kind == "coordinate":
            points = list(re.finditer(rb"\[[a-zA-Z]{2}\]", data))
            if points:
                m = rng.choice(points)
                bad = rng.choice(
                    [
                        b"[zz]",
                        b"[tt]",
                        b"[a]",
                        b"[abc]",
                        b"[AA]",
                        b"[ss]",
                        b"[99]",
                        b"[sa]",
                        b"[aa:zz]",
                        b"[]",
                        b"[j]",
                    ]
                )
                data = data[: m.start()] + bad + data[m.end() :]
        elif kind == "property":
            prop, values = rng.choice(
                [
                    (b"SZ", [b"0", b"1", b"2", b"20", b"25", b"-3", b"x", b"9:9", b"19", b"5"]),
                    (b"KM", [b"abc", b"nan", b"1e999", b"-7.5", b""]),
                    (b"HA", [b"x", b"10", b"-1", b"400"]),
                    (b"PL", [b"X", b"W", b"B", b"3"]),
                    (b"GM", [b"2", b"x"]),
                ]
            )
            value = rng.choice(values)
            if re.search(prop + rb"\[[^\]]*\]", data):
                data = re.sub(prop + rb"\[[^\]]*\]", prop + b"[" + value + b"]", data, count=1)
            else:
                data = data.replace(b";", b";" + prop + b"[" + value + b"]", 1)
        elif kind == "occupied":  # a move or a setup stone on a point that already has a stone
            moves = re.findall(rb";([BW])\[([a-s]{2})\]", data)
            if moves:
                colour, point = rng.choice(moves)
                extra = rng.choice(
                    [b";" + colour + b"[" + point + b"]", b";AB[" + point + b"]AW[" + point + b"]"]
                )
                cut = data.rfind(b")")
                data = data[:cut] + extra + data[cut:] if cut > 0 else data + extra
        elif kind == "garbage":
            data = (
                bytes(rng.randrange(256) for _ in range(rng.randint(0, 60)))
                + data[rng.randrange(len(data) + 1) :]
            )
    return data


# ---------------------------------------------------------------------------- the engine and its state


def new_engine(size: int = 9) -> GTPEngine:
    return GTPEngine(lambda n: make("random", n), size=size, komi=7.5, out=io.StringIO(), inp=io.StringIO(""))


def ask(e: GTPEngine, line: str) -> str:
    """The answer to ``line``, whether returned or streamed to the engine's output."""
    out = e.out
    start = len(out.getvalue())
    reply = e.handle(line + "\n")
    streamed = out.getvalue()[start:]
    return streamed + (reply or "")


def snapshot(e: GTPEngine) -> tuple[str, ...]:
    """The game as query commands show it: board, captures and side to move (showboard), stones by
    colour, size, and the move history with setup and komi (printsgf)."""
    return tuple(
        ask(e, q)
        for q in (
            "showboard",
            "list_stones black",
            "list_stones white",
            "query_boardsize",
            "printsgf",
            "captures black",
            "captures white",
        )
    )


def stones(e: GTPEngine, colour: str) -> set[str]:
    return set(ask(e, f"list_stones {colour}")[1:].split())


def move_count(e: GTPEngine) -> int:
    return len(re.findall(r";\s*[BW]\[", ask(e, "printsgf")))


# ---------------------------------------------------------------------------- random command lines


class LineMaker:
    def __init__(self, rng: random.Random, sgf_paths: list[Path], tmp: Path, commands: list[str]):
        self.rng, self.sgf_paths, self.tmp = rng, sgf_paths, tmp
        self.commands = [c for c in commands if c not in NOT_FUZZED]
        self.size = 9
        self.empty = True  # the board has no stone and no move: handicap commands come more often

    def colour(self) -> str:
        return self.rng.choice(["b", "w", "B", "W", "black", "white", "BLACK", "b", "w", "purple", "1", ""])

    def vertex(self) -> str:
        r = self.rng.random()
        if r < 0.75:  # on the board (mostly), as a GUI sends it
            n = self.size
            return f"{self.rng.choice(LETTERS[:n])}{self.rng.randint(1, n)}"
        return self.rng.choice(
            [
                "pass",
                "PASS",
                "resign",
                "A0",
                "Z9",
                "I5",
                "A20",
                "T19",
                "j10",
                "",
                "-1",
                "D4D4",
                f"{LETTERS[min(self.size, 18)]}1",
                f"A{self.size + 1}",
            ]
        )

    def number(self, low: int, high: int) -> str:
        if self.rng.random() < 0.85:
            return str(self.rng.randint(low, high))
        return self.rng.choice(["x", "-1", "0", "1e3", "9.0", "99999999999999999999", "", "３"])

    def args(self, command: str) -> list[str]:
        rng = self.rng
        if command in ("play", "is_legal"):
            return [self.colour(), self.vertex()]
        if command in (
            "genmove",
            "reg_genmove",
            "kgs-genmove_cleanup",
            "list_stones",
            "all_legal",
            "captures",
        ):
            return [self.colour()]
        if command in ("lz-genmove_analyze", "kata-genmove_analyze"):
            return [self.colour()] + ([self.number(1, 100)] if rng.random() < 0.5 else [])
        if command == "boardsize":
            return [rng.choice([self.number(2, 19), "5", "7", "9", "9", "13", "25", "1", "20"])]
        if command == "komi":
            return [rng.choice(["7.5", "6.5", "0", "-3", "0.5", "abc", "7,5", "1e3", "", "nan", "inf", "-inf",
                                "1e400"])]
        if command in ("fixed_handicap", "place_free_handicap"):
            return [self.number(0, 12)]
        if command == "set_free_handicap":
            if rng.random() < 0.5:  # distinct points on the board
                n = self.size
                return [
                    f"{LETTERS[a % n]}{a // n + 1}"
                    for a in rng.sample(range(n * n), rng.randint(1, min(9, n * n)))
                ]
            return [self.vertex() for _ in range(rng.randint(0, 6))]
        if command == "loadsgf":
            path = (
                rng.choice(self.sgf_paths)
                if rng.random() < 0.9
                else self.tmp / rng.choice(["missing.sgf", ""])
            )
            return [str(path)] + ([self.number(0, 200)] if rng.random() < 0.3 else [])
        if command == "time_settings":
            return [self.number(0, 600), self.number(0, 60), self.number(0, 25)]
        if command == "time_left":
            return [self.colour(), self.number(0, 600), self.number(0, 25)]
        if command == "kgs-time_settings":
            return [rng.choice(["none", "absolute", "byoyomi", "canadian", "x"])] + [
                self.number(0, 60) for _ in range(rng.randint(0, 3))
            ]
        if command == "final_status_list":
            return [rng.choice(["alive", "dead", "seki", "maybe"])]
        if command == "known_command":
            return [rng.choice(self.commands + ["frobnicate"])]
        if command == "printsgf" and rng.random() < 0.2:
            return [str(self.tmp / "printed.sgf")]
        return []

    def line(self) -> str:
        """Mostly well-formed commands, some damaged, some junk."""
        rng = self.rng
        r = rng.random()
        if r < 0.08:  # junk
            return (
                "".join(
                    chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0x2FF), 0x23, 0x09, 0x00]))
                    for _ in range(rng.randint(0, 30))
                )
                .replace("\n", " ")
                .replace("\r", " ")
            )
        weights = [WEIGHTS.get(c, 1.0) * (8 if self.empty and "handicap" in c else 1) for c in self.commands]
        command = rng.choices(self.commands, weights=weights)[0]
        args = self.args(command)
        if r < 0.12 and args:
            args = args[:-1]  # an argument missing
        elif r < 0.15:
            args = args + [rng.choice(["x", "D4", "7", "b"])]  # one too many
        text = " ".join([command, *args])
        if rng.random() < 0.2:
            text = f"{rng.randint(0, 999)} {text}"  # a command id
        if rng.random() < 0.05:
            text = text.replace(" ", "\t") + rng.choice(["", " # comment", "\x7f"])
        return text


def parse(line: str) -> tuple[str, str, list[str]]:
    """(id, command, arguments) as GTP 2 frames a line (section 2.2): control characters removed, tabs
    as spaces, ``#`` starts a comment, an optional numeric id first."""
    words = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", line.replace("\t", " ")).split("#", 1)[0].split()
    cid = words.pop(0) if words and words[0].isdigit() else ""
    return cid, words[0] if words else "", words[1:]


# ---------------------------------------------------------------------------- the fuzz


@pytest.fixture(scope="module")
def sgf_corpus(tmp_path_factory) -> list[bytes]:
    corpus = [t.encode() for t in HANDMADE] + printed_games(tmp_path_factory.mktemp("printed")) + real_sgfs()
    assert len(corpus) >= len(HANDMADE) + 5
    return corpus


def check_answer(line: str, answer: str) -> None:
    assert answer.startswith(("=", "?")) and answer.endswith("\n\n"), (line, answer)
    assert "internal error" not in answer, (line, answer)  # every refusal is a deliberate one
    cid, command, _ = parse(line)
    if command not in ("lz-genmove_analyze", "kata-genmove_analyze"):
        assert answer.startswith(("=" + cid, "?" + cid)), (line, answer)


def check_accepted(
    e: GTPEngine,
    command: str,
    args: list[str],
    answer: str,
    before_stones: dict[str, set[str]],
    before_moves: int,
) -> None:
    """An accepted board-changing command did what it says."""
    result = answer[answer.index(" ") + 1 :].strip() if " " in answer.split("\n", 1)[0] else ""
    if command == "play":
        colour = "black" if args[0].lower() in ("b", "black") else "white"
        if args[1].lower() != "pass":
            assert args[1].upper() in stones(e, colour), (args, answer)
        assert move_count(e) == before_moves + 1
    elif command == "undo":
        assert move_count(e) == before_moves - 1
    elif command in ("boardsize", "clear_board"):
        assert stones(e, "black") == stones(e, "white") == set() and move_count(e) == 0
        if command == "boardsize":
            assert ask(e, "query_boardsize") == f"= {int(args[0])}\n\n"
    elif command in ("fixed_handicap", "place_free_handicap"):
        assert before_stones["black"] == before_stones["white"] == set()
        assert stones(e, "black") == set(result.split()) and len(result.split()) == int(args[0])
    elif command == "set_free_handicap":
        assert stones(e, "black") == {v.upper() for v in args}
    elif command in ("genmove", "kgs-genmove_cleanup"):
        assert move_count(e) == before_moves + 1 or result == "resign"
    elif command == "komi":
        assert float(re.search(r"KM\[([^\]]*)\]", ask(e, "printsgf")).group(1)) == float(args[0])
    elif command == "loadsgf":  # answered with the side to move, as GNU Go does
        assert result in ("black", "white") and f"{result} to play" in ask(e, "showboard"), answer


def run_fuzz(seed: int, lines: int, corpus: list[bytes], tmp: Path) -> dict[str, int]:
    rng = random.Random(seed)
    paths = []
    for i in range(120):
        path = tmp / f"s{seed}_{i}.sgf"
        path.write_bytes(mutate(rng.choice(corpus), rng))
        paths.append(path)
    (tmp / "empty.sgf").write_bytes(b"")
    paths += [tmp / "empty.sgf", tmp]  # an empty file, a folder
    e = new_engine(9)
    name = ask(e, "name")
    commands = ask(e, "list_commands")[2:].split()
    maker = LineMaker(rng, paths, tmp, commands)
    seen: dict[str, int] = {}
    for _ in range(lines):
        line = maker.line()
        _, command, args = parse(line)
        before = snapshot(e)
        before_stones = {c: stones(e, c) for c in ("black", "white")}
        before_moves = move_count(e)
        answer = ask(e, line)
        if answer == "":  # an empty line or a comment: no answer, nothing changes
            assert snapshot(e) == before, line
            continue
        check_answer(line, answer)
        accepted = answer.startswith("=")
        key = f"{command if command in commands else 'junk'} {'=' if accepted else '?'}"
        seen[key] = seen.get(key, 0) + 1
        if not accepted or command in QUERIES:
            assert snapshot(e) == before, (line, answer)
        else:
            check_accepted(e, command, args, answer, before_stones, before_moves)
        assert ask(e, "name") == name and ask(e, "protocol_version") == "= 2\n\n", line
        maker.size = int(ask(e, "query_boardsize")[2:])
        maker.empty = not (stones(e, "black") or stones(e, "white")) and move_count(e) == 0
    return seen


def test_fuzz_every_command_and_mutated_sgf_files_rejected_ones_change_nothing(sgf_corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a damaged line may still be a valid `printsgf FILE`: files land here
    seen: dict[str, int] = {}
    for seed in SEEDS:
        for key, count in run_fuzz(seed, LINES // len(SEEDS), sgf_corpus, tmp_path).items():
            seen[key] = seen.get(key, 0) + count
    # Not vacuous: every board-changing command was both accepted and rejected along the way.
    for command in (
        "play",
        "genmove",
        "boardsize",
        "clear_board",
        "undo",
        "komi",
        "fixed_handicap",
        "place_free_handicap",
        "set_free_handicap",
        "loadsgf",
        "kgs-genmove_cleanup",
    ):
        assert seen.get(f"{command} =", 0) > 0, (command, seen)
        if command != "clear_board":
            assert seen.get(f"{command} ?", 0) > 0, (command, seen)
    assert seen.get("loadsgf =", 0) >= 20 and seen.get("loadsgf ?", 0) >= 20, seen


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400"])
def test_komi_must_be_a_finite_number(value):
    e = new_engine(9)
    ask(e, "play b E5")
    before = snapshot(e)
    assert ask(e, f"komi {value}").startswith("?")
    assert snapshot(e) == before


def test_fuzz_through_the_command_line_answers_every_line(sgf_corpus, tmp_path):
    """The same kind of lines, written at once to ``tenuki gtp --player random``: one answer per command,
    a clean exit, no traceback."""
    rng = random.Random(7)
    paths = []
    for i in range(30):
        path = tmp_path / f"c{i}.sgf"
        path.write_bytes(mutate(rng.choice(sgf_corpus), rng))
        paths.append(path)
    probe = new_engine(9)
    maker = LineMaker(rng, paths, tmp_path, ask(probe, "list_commands")[2:].split())
    lines = []
    for _ in range(400):
        lines.append(maker.line())
    commands = [line for line in lines if parse(line)[1] or parse(line)[0]]
    text = "\n".join(lines) + "\nname\n"
    done = subprocess.run(
        [sys.executable, "-m", "tenuki", "gtp", "--player", "random"],
        input=text,
        text=True,
        capture_output=True,
        cwd=tmp_path,  # `printsgf FILE` of a damaged line writes here, not into the checkout
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    answers = [a for a in done.stdout.split("\n\n") if a.strip()]
    assert answers[-1] == "= tenuki", answers[-3:]
    assert all(a.lstrip("\n").startswith(("=", "?")) for a in answers), [
        a for a in answers if a[:1] not in "=?"
    ][:3]
    assert len(answers) == len(commands) + 1
