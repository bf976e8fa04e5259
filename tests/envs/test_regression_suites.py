"""Fuego's rules regression suites replayed on ``Board``.

Source: ``$TENUKI_DATA/go/regression/fuego-regression.tar.gz`` (Fuego's ``regression/`` folder,
GPL-3, used as test data only, read in memory and never copied into the repository).

The suites are GoGui regression scripts: GTP commands, each numbered command followed by
``#? [expected]`` where ``expected`` is a regular expression the whole answer must match; a
trailing ``*`` marks a case Fuego itself is known to fail (the bracket still holds the right
answer, and Board must give it).

==================  =====  =========================================================================
suite               cases  what is checked
==================  =====  =========================================================================
repetition.tst        15   ``is_legal`` in 5 positions under Fuego's ``go_param_rules ko_rule``
                           ``simple`` / ``superko`` (= situational) / ``pos_superko`` (= positional)
scoring_static.tst    30   ``static_score tromp_taylor_score`` = ``Board.score("area")`` and
                           ``static_score japanese_score`` = ``Board.score("territory")`` (no dead
                           stones in these positions), 15 positions around the end of two games
==================  =====  =========================================================================

``loadsgf FILE [N]`` follows GTP: the root setup, then the moves before move ``N`` (all when
absent), every move played for the colour the record gives. A position whose own game record
breaks the ko rule under test cannot be built on a Board (it refuses the illegal move, and has no
way to switch the rule after loading); such a case is skipped with the reason.

A second test loads every repetition position into GNU Go (``loadsgf``) under the matching ko
flag and compares the full legal-move sets of both colours, not just the one move Fuego asks about.
"""

from __future__ import annotations

import functools
import os
import re
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sgfmill import sgf

from tenuki.envs.go.board import Board, IllegalMoveError
from tenuki.envs.go.coords import to_gtp
from tenuki.play.gtp_client import GTPClient
from tests.conftest import find_gnugo

REPO_ROOT = Path(__file__).resolve().parents[2]
# Same rule as tests/conftest.py ``data_root``; needed at collection time to list the cases.
DATA_ROOT = Path(os.environ.get("TENUKI_DATA", REPO_ROOT.parent / "shared" / "data"))
FUEGO_ARCHIVE = DATA_ROOT / "go" / "regression" / "fuego-regression.tar.gz"
ARCHIVE_PREFIX = "regression/"
SUITES = {"repetition.tst": 15, "scoring_static.tst": 30}  # suite -> number of cases

FUEGO_KO_RULES = {"simple": "simple", "superko": "situational", "pos_superko": "positional"}
GNUGO = find_gnugo() or "/usr/games/gnugo"  # gnugo on the PATH first (tests/conftest.py)
GNUGO_KO_FLAGS = {"simple": "--simple-ko", "situational": "--situational-superko",
                  "positional": "--positional-superko"}
SCORE_RULES = {"tromp_taylor_score": "area", "japanese_score": "territory"}

pytestmark = [
    pytest.mark.data,
    pytest.mark.skipif(not FUEGO_ARCHIVE.is_file(), reason=f"Fuego regression archive missing: {FUEGO_ARCHIVE}"),
]


# ---------------------------------------------------------------------------- reading the suites


@functools.cache
def archive_files() -> dict[str, bytes]:
    """Every ``.tst`` and ``.sgf`` file of the archive by path below ``regression/`` (1.4 MB)."""
    files: dict[str, bytes] = {}
    if not FUEGO_ARCHIVE.is_file():
        return files
    with tarfile.open(FUEGO_ARCHIVE) as archive:
        for member in archive:
            if member.isfile() and member.name.startswith(ARCHIVE_PREFIX) and member.name.endswith((".tst", ".sgf")):
                handle = archive.extractfile(member)
                assert handle is not None
                files[member.name[len(ARCHIVE_PREFIX):]] = handle.read()
    return files


@dataclass(frozen=True)
class RegressionCase:
    """One numbered command of a suite with its expectation and the state set up before it."""

    suite: str
    case_id: int
    command: str
    args: tuple[str, ...]
    expected: str  # regular expression for the whole answer
    fuego_known_failure: bool  # the ``*`` marker
    sgf_path: str
    move_number: int | None
    ko_rule: str | None  # Board's name (simple / situational / positional), None when never set
    line: int

    @property
    def name(self) -> str:
        return f"{self.suite}:{self.case_id}"


def parse_suite(suite: str, text: str) -> list[RegressionCase]:
    """Parse a GoGui regression script. Raises ValueError on a command this reader does not know,
    so that a changed suite is noticed rather than silently misread."""
    cases: list[RegressionCase] = []
    pending: tuple[int, str, tuple[str, ...], int] | None = None
    sgf_path, move_number, ko_rule = "", None, None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("#?"):
            found = re.fullmatch(r"#\?\s*\[(.*)\]\s*(\*?)", line)
            if pending is None or found is None:
                raise ValueError(f"{suite}:{number}: expectation without a numbered command: {raw!r}")
            case_id, command, args, command_line = pending
            cases.append(RegressionCase(suite, case_id, command, args, found.group(1), found.group(2) == "*",
                                        sgf_path, move_number, ko_rule, command_line))
            pending = None
            continue
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0].isdigit():
            pending = (int(words[0]), words[1], tuple(words[2:]), number)
        elif words[0] == "loadsgf":
            sgf_path = words[1]
            move_number = int(words[2]) if len(words) > 2 else None
        elif words[:2] == ["go_param_rules", "ko_rule"]:
            ko_rule = FUEGO_KO_RULES[words[2]]
        else:
            raise ValueError(f"{suite}:{number}: unknown setup command {line!r}")
    return cases


@functools.cache
def suite_cases() -> tuple[RegressionCase, ...]:
    files = archive_files()
    return tuple(case for suite in SUITES if suite in files
                 for case in parse_suite(suite, files[suite].decode("utf-8")))


def replay_sgf(data: bytes, move_number: int | None, ko_rule: str, komi: float | None = None) -> Board:
    """The position GTP ``loadsgf`` sets up: root (and later) setup stones, then the main line's
    moves before ``move_number`` (all when None) for the colours the record gives.

    Minimal on purpose (sgfmill only; envs/go/sgf.py is the project's full reader). sgfmill points
    are (row from the bottom, column); Board actions count rows from the top."""
    game = sgf.Sgf_game.from_bytes(data)
    size = game.get_size()
    board = Board(size, komi=game.get_komi() if komi is None else komi, ko_rule=ko_rule)

    def action(point: tuple[int, int] | None) -> int:
        return size * size if point is None else (size - 1 - point[0]) * size + point[1]

    played = 0
    for node in game.get_main_sequence():
        if node.has_setup_stones():
            black, white, empty = node.get_setup_stones()
            board.set_stones(black=map(action, black), white=map(action, white), empty=map(action, empty))
        if node.has_property("PL"):
            board.set_to_play(node.get("PL"))
        color, point = node.get_move()
        if color is None:
            continue
        played += 1
        if move_number is not None and played >= move_number:
            break
        board.play(action(point), color)
    return board


def answer(case: RegressionCase, board: Board) -> str:
    """What Board answers to the case's GTP command, in Fuego's format."""
    if case.command == "is_legal":
        color, vertex = case.args
        return "1" if board.is_legal(vertex, color) else "0"
    if case.command == "static_score":
        return board.score(SCORE_RULES[case.args[0]]).result
    raise NotImplementedError(f"{case.name}: command {case.command!r}")


def case_board(case: RegressionCase) -> Board:
    """The case's position under its ko rule. A record that itself breaks that rule (Fuego's
    repetition-1.sgf does) is replayed under simple ko, then the rule is switched."""
    ko_rule = case.ko_rule or "positional"
    try:
        return replay_sgf(archive_files()[case.sgf_path], case.move_number, ko_rule)
    except IllegalMoveError:
        board = replay_sgf(archive_files()[case.sgf_path], case.move_number, "simple")
        board.set_ko_rule(ko_rule)
        return board


# ---------------------------------------------------------------------------- Fuego's answers


def test_suites_have_the_expected_cases() -> None:
    """Guards the parametrisation below: the archive holds the suites with their known sizes."""
    counts = {suite: sum(case.suite == suite for case in suite_cases()) for suite in SUITES}
    assert counts == SUITES
    assert {case.command for case in suite_cases()} == {"is_legal", "static_score"}


@pytest.mark.parametrize("case", suite_cases(), ids=lambda case: case.name)
def test_fuego_regression_case(case: RegressionCase) -> None:
    board = case_board(case)
    got = answer(case, board)
    assert re.fullmatch(case.expected, got), (
        f"{case.name} (line {case.line}: {case.command} {' '.join(case.args)} after loadsgf {case.sgf_path} "
        f"{case.move_number or ''}, ko rule {case.ko_rule}): Board answers {got!r}, expected [{case.expected}]"
        f"\n{board.to_ascii()}"
    )


# ---------------------------------------------------------------------------- GNU Go on the same positions


@pytest.fixture(scope="module")
def sgf_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repetition SGFs written to a temporary folder, for GNU Go's ``loadsgf``."""
    root = tmp_path_factory.mktemp("fuego-regression")
    for path, data in archive_files().items():
        if path.startswith("sgf/repetition/"):
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(data)
    return root


@pytest.fixture(scope="module")
def gnugo_in(sgf_folder: Path) -> Iterator[Callable[[str], GTPClient]]:
    clients: dict[str, GTPClient] = {}

    def get(ko_rule: str) -> GTPClient:
        if ko_rule not in clients:
            argv = [GNUGO, "--mode", "gtp", "--chinese-rules", "--forbid-suicide", GNUGO_KO_FLAGS[ko_rule]]
            clients[ko_rule] = GTPClient(argv, cwd=str(sgf_folder))
        return clients[ko_rule]

    yield get
    for client in clients.values():
        client.close()


def repetition_positions() -> list[tuple[str, int | None, str]]:
    seen = {(c.sgf_path, c.move_number, c.ko_rule or "positional") for c in suite_cases()
            if c.suite == "repetition.tst"}
    return sorted(seen, key=lambda p: (p[0], p[1] or 0, p[2]))


@pytest.mark.gnugo
@pytest.mark.skipif(not os.access(GNUGO, os.X_OK), reason=f"GNU Go is not installed at {GNUGO}")
@pytest.mark.parametrize(("sgf_path", "move_number", "ko_rule"), repetition_positions(),
                         ids=lambda v: str(v).replace("sgf/repetition/", ""))
def test_repetition_positions_match_gnugo(
    gnugo_in: Callable[[str], GTPClient], sgf_path: str, move_number: int | None, ko_rule: str
) -> None:
    """Stones, side to move and the legal moves of both colours agree with GNU Go 3.8 after
    ``loadsgf`` (GNU Go replays the record without checking it, so a record that breaks the
    rule is skipped as in the Fuego test)."""
    where = f"{sgf_path} {move_number or ''} ko rule {ko_rule}"
    try:
        board = replay_sgf(archive_files()[sgf_path], move_number, ko_rule)
    except IllegalMoveError as exc:
        pytest.skip(f"{where}: the record breaks the ko rule ({exc})")
    engine = gnugo_in(ko_rule)
    to_play = engine.send("loadsgf", sgf_path, *([move_number] if move_number else []))
    assert to_play == {1: "black", 2: "white"}[board.to_play], where
    n = board.size
    stones = board.stones().reshape(-1)
    for color, name in ((1, "black"), (2, "white")):
        ours = {to_gtp(int(a), n) for a in np.flatnonzero(stones == color)}
        assert ours == set(engine.send("list_stones", name).split()), f"{name} stones; {where}"
        legal = {to_gtp(int(a), n) for a in board.legal_moves(color)} - {"pass"}
        theirs = set(engine.send("all_legal", name).split())
        assert legal == theirs, (f"{name} legal moves: only Board [{' '.join(sorted(legal - theirs))}], "
                                 f"only GNU Go [{' '.join(sorted(theirs - legal))}]; {where}")


def test_reader_rejects_unknown_commands() -> None:
    """The suite reader stops at a command it would not understand."""
    with pytest.raises(ValueError, match="unknown setup command"):
        parse_suite("x.tst", "go_rules japanese\n10 is_legal b a1\n#? [1]\n")
    cases = parse_suite("x.tst", "loadsgf sgf/a.sgf 3\ngo_param_rules ko_rule superko\n7 is_legal w b2\n#? [0]*\n")
    assert cases == [RegressionCase("x.tst", 7, "is_legal", ("w", "b2"), "0", True, "sgf/a.sgf", 3, "situational", 3)]
