"""A client for Go Text Protocol (GTP version 2) engines: GNU Go, KataGo, Leela Zero, Fuego, ...

    with GTPClient(["/usr/games/gnugo", "--mode", "gtp"]) as engine:
        engine.send("boardsize", 9)
        engine.send("play", "black", "E5")
        reply = engine.send("genmove", "white", timeout=60.0)  # e.g. "C3"; the client waits 60 s at most

Protocol notes (GTP 2 draft, section 2): a command is one line ``[id] name [args]``; a response is
``=[id] text`` (success) or ``?[id] message`` (failure) followed by an empty line, and may span
several lines. Carriage returns are dropped and tabs read as spaces. Lines the engine writes before
a response starts (some engines print banners) are ignored.

Errors:

- ``GTPError``: the engine answered ``?``; the engine is still usable (e.g. an illegal move).
- ``GTPEngineError``: the engine died, broke the protocol, or did not answer within the timeout.
  The engine is stopped and the client is closed: a late answer would desynchronise the stream.

Reading happens on a daemon thread so that a timeout never blocks; a second thread drains stderr
(engines such as KataGo log a lot there and would stall on a full pipe) and keeps its last lines
for error messages. The engine runs in its own process group, so stopping it also stops the
children of a wrapper script. A client sends one command at a time: it is not thread-safe.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import NoReturn, Self

DEFAULT_TIMEOUT_S = 30.0
QUIT_TIMEOUT_S = 5.0
KILL_GRACE_S = 1.0  # after a failure: how long the engine may take to exit before it is killed
STDERR_TAIL_LINES = 40
_EOF = None  # what the reader thread queues when stdout closes


class _Unset:
    """Type of ``_UNSET``: "use the client's default timeout"."""


_UNSET = _Unset()


class GTPError(Exception):
    """The engine answered a command with a failure response (``? message``)."""

    def __init__(self, command: str, message: str):
        self.command, self.message = command, message
        super().__init__(f"GTP command {command!r} failed: {message}")


class GTPEngineError(RuntimeError):
    """The engine died, timed out or broke the protocol; the client is closed afterwards."""

    def __init__(self, command: str | None, problem: str, stderr_tail: str = ""):
        self.command, self.problem, self.stderr_tail = command, problem, stderr_tail
        text = problem if command is None else f"GTP command {command!r}: {problem}"
        if stderr_tail:
            text += f"\n--- last lines the engine wrote to stderr ---\n{stderr_tail}"
        super().__init__(text)


class GTPClient:
    """One GTP engine running as a subprocess.

    Parameters:
        argv: the engine's command line, e.g. ``["gnugo", "--mode", "gtp"]``.
        timeout: default seconds to wait for each response (``None``: wait forever).
        use_ids: prefix every command with an increasing numeric id and check that the response
            carries it back.
        cwd: working directory of the engine (relative paths in ``loadsgf`` resolve there).
    """

    def __init__(
        self,
        argv: Sequence[str],
        timeout: float | None = DEFAULT_TIMEOUT_S,
        use_ids: bool = False,
        cwd: str | None = None,
    ):
        if not argv:
            raise ValueError("GTPClient needs an engine command line (argv is empty)")
        self.argv = list(argv)
        self.timeout = timeout
        self.use_ids = use_ids
        self._next_id = 1
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._closed = False
        try:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
                cwd=cwd,
                start_new_session=True,  # own process group: a kill also reaches a wrapper's children
            )
        except OSError as exc:
            raise GTPEngineError(None, f"cannot start engine {self.argv}: {exc}") from exc
        self._reader = threading.Thread(target=self._read_stdout, name="gtp-stdout", daemon=True)
        self._drainer = threading.Thread(target=self._read_stderr, name="gtp-stderr", daemon=True)
        self._reader.start()
        self._drainer.start()

    # ------------------------------------------------------------------ threads

    def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        try:
            for line in self._proc.stdout:
                self._lines.put(line)
        except (OSError, ValueError):  # pipe closed under us by close()
            pass
        finally:
            self._lines.put(_EOF)

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        try:
            for line in self._proc.stderr:
                self._stderr_tail.append(line.rstrip("\n"))
        except (OSError, ValueError):
            pass

    # ------------------------------------------------------------------ commands

    @property
    def alive(self) -> bool:
        """True while the engine process runs and the client is usable."""
        return not self._closed and self._proc.poll() is None

    @property
    def stderr_tail(self) -> str:
        """The last lines the engine wrote to stderr."""
        return "\n".join(self._stderr_tail)

    def send(self, command: str, *args: object, timeout: float | None | _Unset = _UNSET) -> str:
        """Send ``command`` (with ``args`` joined by spaces) and return the response text.

        The text has the ``=`` and id stripped; a multi-line response keeps its inner newlines.
        ``timeout`` overrides the client's default for this command (``None``: wait forever).
        Raises ``GTPError`` on a failure response and ``GTPEngineError`` when the engine is gone.
        """
        line = " ".join([command.strip(), *(str(a) for a in args)]).strip()
        if not line or any(c in line for c in "\r\n"):
            raise ValueError(f"a GTP command is one non-empty line, got {line!r}")
        if self._closed:
            raise GTPEngineError(line, "the client is closed")
        wait = self.timeout if isinstance(timeout, _Unset) else timeout
        command_id = None
        if self.use_ids:
            command_id = self._next_id
            self._next_id += 1
            line = f"{command_id} {line}"
        self._write(line)
        ok, text = self._read_response(line, command_id, wait)
        if not ok:
            raise GTPError(line, text)
        return text

    def known_command(self, name: str) -> bool:
        return self.send("known_command", name).strip().lower() == "true"

    def list_commands(self) -> list[str]:
        return [c.strip() for c in self.send("list_commands").splitlines() if c.strip()]

    def _write(self, line: str) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            self._fail(line, f"cannot write to the engine ({exc}); {self._exit_text()}")

    def _read_line(self, command: str, deadline: float | None, timeout: float | None) -> str:
        try:
            line = self._lines.get(timeout=_left(deadline))
        except queue.Empty:
            self._fail(command, f"no response within {timeout:g} s (engine stopped)")
        if line is _EOF:
            self._lines.put(_EOF)  # later reads see the end too
            self._fail(command, f"the engine closed its output; {self._exit_text()}")
        return line.replace("\r", "").replace("\t", " ").rstrip("\n")

    def _read_response(self, command: str, command_id: int | None, timeout: float | None) -> tuple[bool, str]:
        # One timeout for the whole response: the first line and its continuation.
        deadline = None if timeout is None else time.monotonic() + timeout
        first = ""
        while first[:1] not in ("=", "?"):
            first = self._read_line(command, deadline, timeout)
        ok = first[0] == "="
        head = first[1:]
        digits = len(head) - len(head.lstrip("0123456789"))
        answered_id = head[:digits]
        if command_id is not None and answered_id != str(command_id):
            self._fail(command, f"response id {answered_id or 'none'!r} does not match {command_id}")
        body = [head[digits:].strip()]
        while True:
            line = self._read_line(command, deadline, timeout)
            if line.strip() == "":
                break
            body.append(line)
        return ok, "\n".join(body).strip()

    def _exit_text(self) -> str:
        try:
            code = self._proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "the process is still running"
        return f"the process exited with code {code}"

    def _fail(self, command: str, problem: str) -> NoReturn:
        self._kill(KILL_GRACE_S)
        tail = self.stderr_tail  # after the kill: the drainer has read what the engine left
        raise GTPEngineError(command, problem, tail)

    # ------------------------------------------------------------------ shutdown

    def close(self, timeout: float = QUIT_TIMEOUT_S) -> int | None:
        """Send ``quit``, wait up to ``timeout`` s for the engine to exit, kill it otherwise.
        Idempotent. Returns the exit code (None if unknown)."""
        if not self._closed and self._proc.poll() is None:
            try:
                self.send("quit", timeout=timeout)
            except (GTPError, GTPEngineError):
                pass
        self._kill(timeout)
        return self._proc.returncode

    def _kill(self, timeout: float) -> None:
        """Close stdin (most engines exit on end of input), wait ``timeout`` s, then kill."""
        self._closed = True
        proc = self._proc
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:  # the engine is gone: flushing the buffer fails
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            if hasattr(os, "killpg"):
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.kill()
            proc.wait()
        # A reader still blocked holds its stream's lock (a grandchild keeps the pipe open):
        # closing that stream would block too, so it is left to the daemon thread.
        for thread, stream in ((self._reader, proc.stdout), (self._drainer, proc.stderr)):
            thread.join(timeout=0.5)
            if not thread.is_alive() and stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_proc", None) is not None and not self._closed:
            with contextlib.suppress(Exception):  # best effort, maybe at interpreter shutdown
                self._proc.kill()
                self._proc.wait(timeout=1.0)

    def __repr__(self) -> str:
        state = "alive" if self.alive else "closed"
        return f"GTPClient({self.argv!r}, {state})"


def _left(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())
