"""GTPClient against a scripted fake engine (a few lines of Python): responses, failures, ids,
multi-line answers, banners, engine death, timeouts and shutdown. GNU Go is not needed."""

from __future__ import annotations

import sys
import time

import pytest

from tenuki.play.gtp_client import GTPClient, GTPEngineError, GTPError

FAKE_ENGINE = r"""
import sys, time
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    ident = words.pop(0) if words[0].isdigit() else ""
    name, args = words[0], words[1:]
    if name == "quit":
        if "--stubborn" in sys.argv:
            time.sleep(60)
        print(f"={ident}\n", flush=True)
        break
    if name == "echo":
        print(f"={ident} {' '.join(args)}\n", flush=True)
    elif name == "fail":
        print(f"?{ident} cannot do that\n", flush=True)
    elif name == "multi":
        print(f"={ident} first\nsecond\n third\n", flush=True)
    elif name == "crlf":
        sys.stdout.write(f"={ident}\tcr lf\r\n\r\n"); sys.stdout.flush()
    elif name == "banner":
        print("engine ready, have fun", flush=True)
        print(f"={ident} ok\n", flush=True)
    elif name == "wrong_id":
        print("=999 ok\n", flush=True)
    elif name == "die":
        print("fatal: out of cheese", file=sys.stderr, flush=True)
        sys.exit(3)
    elif name == "hang":
        time.sleep(60)
    else:
        print(f"?{ident} unknown command\n", flush=True)
"""


@pytest.fixture
def engine():
    client = GTPClient([sys.executable, "-c", FAKE_ENGINE], timeout=5.0)
    yield client
    client.close()


def test_success_failure_and_arguments(engine: GTPClient) -> None:
    assert engine.send("echo", "hello", 3) == "hello 3"
    assert engine.send("echo") == ""
    with pytest.raises(GTPError) as info:
        engine.send("fail", "now")
    assert info.value.command == "fail now" and info.value.message == "cannot do that"
    assert engine.alive  # a failure response leaves the engine usable
    assert engine.send("echo again") == "again"


def test_multiline_crlf_tabs_and_banner(engine: GTPClient) -> None:
    assert engine.send("multi") == "first\nsecond\n third"
    assert engine.send("crlf") == "cr lf"
    assert engine.send("banner") == "ok"  # a line before the response is ignored


def test_ids_are_sent_and_checked() -> None:
    with GTPClient([sys.executable, "-c", FAKE_ENGINE], use_ids=True) as client:
        assert client.send("echo a") == "a"
        with pytest.raises(GTPError, match="cannot do that"):
            client.send("fail")
        with pytest.raises(GTPEngineError, match="response id '999' does not match 3"):
            client.send("wrong_id")
        assert not client.alive


def test_commands_must_be_one_line(engine: GTPClient) -> None:
    with pytest.raises(ValueError):
        engine.send("echo a\necho b")
    with pytest.raises(ValueError):
        engine.send("  ")


def test_engine_death_is_a_clear_error(engine: GTPClient) -> None:
    with pytest.raises(GTPEngineError) as info:
        engine.send("die")
    text = str(info.value)
    assert "exited with code 3" in text and "out of cheese" in text
    assert not engine.alive
    with pytest.raises(GTPEngineError, match="closed"):
        engine.send("echo x")


def test_timeout_stops_the_engine() -> None:
    client = GTPClient([sys.executable, "-c", FAKE_ENGINE], timeout=5.0)
    start = time.monotonic()
    with pytest.raises(GTPEngineError, match="no response within 0.3 s"):
        client.send("hang", timeout=0.3)
    assert time.monotonic() - start < 4.0
    assert not client.alive
    client.close()  # idempotent


def test_close_sends_quit_and_kills_a_stubborn_engine() -> None:
    client = GTPClient([sys.executable, "-c", FAKE_ENGINE])
    assert client.close() == 0
    assert client.close() == 0
    stubborn = GTPClient([sys.executable, "-c", FAKE_ENGINE, "--stubborn"])  # never answers quit
    assert stubborn.send("echo x") == "x"
    start = time.monotonic()
    assert stubborn.close(timeout=0.5) not in (None, 0)  # killed
    assert time.monotonic() - start < 4.0
    assert not stubborn.alive


def test_missing_executable() -> None:
    with pytest.raises(GTPEngineError, match="cannot start engine"):
        GTPClient(["/nonexistent/engine", "--mode", "gtp"])
