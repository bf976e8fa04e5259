"""Joining a Ray cluster: how the authentication token is found, and a real cluster on this machine.

The token tests set the environment (``HOME``, ``RAY_AUTH_*``) and never start Ray. The slow test
starts a real cluster the way the README tells a user to:
``ray start --head`` on a loopback port and a second node with ``ray start --address`` (each with its
own ``--temp-dir`` and one CPU, so each of the smoke config's two workers needs a node of its own),
both with token authentication; then ``tenuki selfplay launch --config smoke --address HOST:PORT`` in a
subprocess (the driver must not share this process, which may hold the suite's own Ray session). The
driver is given the token file through ``RAY_AUTH_TOKEN_PATH`` but not ``RAY_AUTH_MODE``: connecting
must turn token mode on by itself. A driver with no token must fail in one line that says where the
token goes (exit code 2).

The nodes are stopped by process id (the processes whose command line names their temp dirs, and
their children), not with ``ray stop``: that stops every Ray process on the machine, a training run
or another test session's cluster included.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

log = logging.getLogger(__name__)

ray = pytest.importorskip("ray")

from tenuki.selfplay import cluster  # after the skip: needs Ray
from tenuki.selfplay.cluster import ClusterError, prepare_token_auth, token_source
from tenuki.selfplay.config import ClusterConfig

RAY_CLI = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
E_LINE = "has constructor arguments in the object store"
# variables of the surrounding shell that would change which cluster or token the subprocesses use
CLEARED = ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_TMPDIR")

PROBE = """
import json, sys, time
import ray
ray.init(address=sys.argv[1], log_to_driver=False)
deadline = time.monotonic() + 60
while True:
    nodes = [n for n in ray.nodes() if n["Alive"]]
    if len(nodes) >= 2 or time.monotonic() > deadline:
        break
    time.sleep(0.5)
print(json.dumps({n["NodeID"]: n["ObjectStoreSocketName"] for n in nodes}))
"""


@pytest.fixture
def auth_env(monkeypatch, tmp_path):
    """An empty home and no RAY_AUTH_* variables; returns (home, the calls to refresh Ray's config)."""
    for name in CLEARED:
        # set, then removed: monkeypatch then deletes at teardown a variable that prepare_token_auth sets
        # (a bare delenv of an absent variable records nothing, and RAY_AUTH_MODE=token would leak into the
        # nodes that later tests start, which then refuse the session's unauthenticated cluster)
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    refreshed: list[bool] = []
    monkeypatch.setattr(cluster, "_refresh_ray_config", lambda: refreshed.append(True))
    return home, refreshed


def _default_token(home: Path, text: str = "secret-a") -> Path:
    path = home / ".ray" / "auth_token"
    path.parent.mkdir()
    path.write_text(text)
    return path


def test_no_token_anywhere_leaves_the_auth_mode_alone(auth_env):
    home, refreshed = auth_env
    assert token_source() is None and prepare_token_auth() is None
    assert "RAY_AUTH_MODE" not in os.environ and not refreshed
    _default_token(home, "\n")  # an empty file is no token
    assert token_source() is None


def test_a_token_found_turns_token_mode_on_in_ray_s_order(auth_env, monkeypatch, tmp_path):
    home, refreshed = auth_env
    default = _default_token(home)
    assert token_source() == str(default)
    # the default file alone (Ray writes one for every local instance) does not turn token mode on: a driver
    # in token mode cannot start actors on a cluster without authentication
    assert prepare_token_auth() is None
    assert "RAY_AUTH_MODE" not in os.environ and not refreshed
    named = tmp_path / "token"
    named.write_text("secret-b")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(named))  # before ~/.ray/auth_token
    assert token_source() == f"RAY_AUTH_TOKEN_PATH ({named})"
    assert prepare_token_auth() == f"RAY_AUTH_TOKEN_PATH ({named})"
    assert os.environ["RAY_AUTH_MODE"] == "token" and refreshed == [True]
    monkeypatch.setenv("RAY_AUTH_TOKEN", "secret-c")  # before both
    assert token_source() == "RAY_AUTH_TOKEN"


def test_a_token_path_naming_no_file_is_an_error(auth_env, monkeypatch, tmp_path):
    home, _ = auth_env
    _default_token(home)  # Ray does not fall back to it
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "nope"))
    with pytest.raises(ClusterError, match="RAY_AUTH_TOKEN_PATH=.*nope names a missing or empty file") as error:
        token_source()
    assert "~/.ray/auth_token" in str(error.value) and "\n" not in str(error.value)


def test_an_auth_mode_set_by_the_user_is_respected(auth_env, monkeypatch):
    home, refreshed = auth_env
    _default_token(home)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    assert prepare_token_auth() is None and os.environ["RAY_AUTH_MODE"] == "disabled" and not refreshed
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # the user's choice: the default file's token is sent
    assert prepare_token_auth() == str(home / ".ray" / "auth_token")
    (home / ".ray" / "auth_token").unlink()
    with pytest.raises(ClusterError, match="RAY_AUTH_MODE=token but no Ray authentication token was found"):
        prepare_token_auth()


def _failing_init(message: str):
    def init(**kwargs):
        try:
            raise RuntimeError(f"Failed to connect to GCS. Last connection error: Traceback\n{message}")
        except RuntimeError as cause:
            raise ConnectionError("Failed to connect to Ray cluster at 192.0.2.2:6390") from cause
    return init


@pytest.mark.parametrize(("token", "expected"), [
    (None, "it uses token authentication and no token was found here"),
    ("env", "it refused the authentication token from RAY_AUTH_TOKEN"),
    ("file", "it uses token authentication; to send the token of ~/.ray/auth_token set RAY_AUTH_MODE=token"),
])
def test_an_authentication_failure_says_where_the_token_goes(auth_env, monkeypatch, token, expected):
    home, _ = auth_env
    if token == "env":
        monkeypatch.setenv("RAY_AUTH_TOKEN", "wrong")
    elif token == "file":
        _default_token(home)
    monkeypatch.setattr(cluster.ray, "is_initialized", lambda: False)
    monkeypatch.setattr(cluster.ray, "init", _failing_init(
        "ray.exceptions.AuthenticationError: RPC error: InvalidAuthToken: Authentication token is missing"))
    with pytest.raises(ClusterError) as error:
        cluster.connect(ClusterConfig(), address="127.0.0.1:6390")
    message = str(error.value)
    assert message.startswith("cannot reach the Ray cluster at '127.0.0.1:6390': " + expected), message
    assert "~/.ray/auth_token" in message and "RAY_AUTH_TOKEN" in message and "\n" not in message


def test_other_connection_failures_are_one_line_without_the_token_advice(auth_env, monkeypatch):
    monkeypatch.setattr(cluster.ray, "is_initialized", lambda: False)
    monkeypatch.setattr(cluster.ray, "init", _failing_init("ConnectionRefusedError: [Errno 111]"))
    with pytest.raises(ClusterError) as error:
        cluster.connect(ClusterConfig(), address="127.0.0.1:6390")
    assert str(error.value) == ("cannot start or reach the Ray cluster at '127.0.0.1:6390': "
                                "Failed to connect to Ray cluster at 192.0.2.2:6390")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(RAY_USAGE_STATS_ENABLED="0", PYTHONUNBUFFERED="1", **extra)
    return env


def _processes() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line) of every process, from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (name) "
        table[int(entry.name)] = (int(fields[1]), fields[0], command)
    return table


def _stop_nodes(*temp_dirs: Path, grace_s: float = 5.0) -> None:
    """Stop the Ray processes of these nodes only: those whose command line names one of ``temp_dirs``
    (gcs_server, raylet, agents, monitors) and all their descendants (workers); SIGTERM, then SIGKILL."""
    table = _processes()
    mine = set()
    pid = os.getpid()
    while pid in table and pid not in mine:  # this test and its ancestors name the temp dirs too
        mine.add(pid)
        pid = table[pid][0]
    marks = [str(d) + "/" for d in temp_dirs] + [f"={d}" for d in temp_dirs]
    targets = {p for p, (_, _, cmd) in table.items() if p not in mine and any(m in cmd for m in marks)}
    children: dict[int, list[int]] = {}
    for p, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(p)
    queue = list(targets)
    while queue:
        for child in children.get(queue.pop(), []):
            if child not in targets and child not in mine:
                targets.add(child)
                queue.append(child)

    def alive() -> set[int]:
        now = _processes()
        return {p for p in targets if p in now and now[p][1] != "Z"}

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in alive():
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_s
        while alive() and time.monotonic() < deadline:
            time.sleep(0.2)


def _ray_start(args: list[str], env: dict[str, str]) -> None:
    started = time.monotonic()
    result = subprocess.run([RAY_CLI, "start", "--disable-usage-stats", *args], env=env, capture_output=True,
                            text=True, timeout=90, check=False)
    assert result.returncode == 0, f"ray start {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    log.info("ray start %s: %.1f s", args[0], time.monotonic() - started)


def _launch(address: str, run_dir: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    started = time.monotonic()
    command = [sys.executable, "-m", "tenuki", "selfplay", "launch", "--config", "smoke", "--address", address,
               "--run-dir", str(run_dir), "--plain"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    log.info("tenuki selfplay launch (exit %d): %.1f s", result.returncode, time.monotonic() - started)
    return result


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(RAY_CLI is None, reason="the `ray` command is not installed")
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="stopping the nodes by pid reads /proc")
def test_smoke_run_on_a_two_node_cluster_started_with_ray_start(tmp_path):
    root = Path(tempfile.mkdtemp(prefix="tk-", dir="/tmp"))  # short: Ray's socket paths are limited
    head_dir, node_dir = root / "h", root / "n"
    token_file = tmp_path / "token"
    token_file.write_text(os.urandom(32).hex())
    port = _free_port()
    address = f"127.0.0.1:{port}"
    cluster_env = _environment(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token_file))
    try:
        _ray_start(["--head", "--port", str(port), "--num-cpus", "1", "--temp-dir", str(head_dir),
                    "--include-dashboard=false"], cluster_env)
        _ray_start(["--address", address, "--num-cpus", "1", "--temp-dir", str(node_dir)], cluster_env)
        started = time.monotonic()
        probe = subprocess.run([sys.executable, "-c", PROBE, address], env=cluster_env, capture_output=True,
                               text=True, timeout=90, check=False)
        assert probe.returncode == 0, probe.stderr[-3000:]
        sockets = json.loads(probe.stdout.strip().splitlines()[-1])
        log.info("probe: %d node(s) in %.1f s", len(sockets), time.monotonic() - started)
        node_of = {}  # temp dir -> node id
        for node, socket_path in sockets.items():
            for temp_dir in (head_dir, node_dir):
                if socket_path.startswith(str(temp_dir) + "/"):
                    node_of[temp_dir] = node
        assert set(node_of) == {head_dir, node_dir}, sockets

        # no token anywhere (an empty home, no RAY_AUTH_*): one line naming where the token goes, exit 2;
        # RAY_gcs_server_port_wait_time_s shortens Ray's 20 s of retries
        empty_home = tmp_path / "home"
        empty_home.mkdir()
        refused = _launch(address, tmp_path / "refused", _environment(HOME=str(empty_home),
                                                                      RAY_gcs_server_port_wait_time_s="2"), 120)
        last = refused.stderr.strip().splitlines()[-1]
        assert refused.returncode == 2, refused.stderr[-3000:]
        assert "cannot reach the Ray cluster at" in last and "token" in last, last
        assert "~/.ray/auth_token" in last and "RAY_AUTH_TOKEN" in last, last

        # the token in a file named by RAY_AUTH_TOKEN_PATH, RAY_AUTH_MODE unset
        run_dir = tmp_path / "run"
        result = _launch(address, run_dir, _environment(RAY_AUTH_TOKEN_PATH=str(token_file)), 480)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-5000:]
        assert E_LINE not in output, "a Ray actor still has object-store constructor arguments"
        report = json.loads((run_dir / "nodes.json").read_text())
        state = json.loads((run_dir / "state.json").read_text())
        assert sorted(report["workers"]) == sorted(node_of.values()), (report, node_of)
        games = {node: counts["games"] for node, counts in report["nodes"].items()}
        assert set(games) == set(node_of.values()) and all(g > 0 for g in games.values()), (games, node_of)
        assert sum(games.values()) == state["games"] > 0
        assert sum(c["positions"] for c in report["nodes"].values()) == state["positions"]
    finally:
        started = time.monotonic()
        _stop_nodes(head_dir, node_dir)
        log.info("nodes stopped: %.1f s", time.monotonic() - started)
        shutil.rmtree(root, ignore_errors=True)
