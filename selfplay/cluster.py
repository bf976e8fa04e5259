"""Connecting to Ray: an embedded local instance by default, or an existing cluster.

- no address: ``ray.init`` starts a local Ray instance sized to this machine (``num_cpus``: the
  machine's cores unless the config says otherwise), nothing to set up;
- ``auto``: join the cluster started on this machine with ``ray start --head`` (or the one named
  by ``RAY_ADDRESS``); ``HOST:PORT``: join the cluster whose head is there.

Token authentication (Ray >= 2.5x): ``ray start --head`` turns it on when a token exists (``ray.init``
writes one to ``~/.ray/auth_token`` the first time it starts a local instance), and every node and
every client then needs that token. Ray looks for it in ``RAY_AUTH_TOKEN`` (the token itself), then
``RAY_AUTH_TOKEN_PATH`` (a file holding it), then ``~/.ray/auth_token``; but a client given an explicit
``HOST:PORT`` sends it only when ``RAY_AUTH_MODE=token`` is set, and otherwise fails after 20 s of
``InvalidAuthToken`` warnings. ``connect`` therefore turns token mode on whenever a token is found and
``RAY_AUTH_MODE`` is unset (a cluster without authentication ignores the token), and explains an
authentication failure in one line that says where to put the token.

The dashboard of a local instance is off by default and binds to 127.0.0.1 when turned on
(``cluster.include_dashboard``), so a run never opens a port to the network unless configured.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import ray
from ray.exceptions import RayError

from tenuki.selfplay.config import ClusterConfig

log = logging.getLogger(__name__)

AUTH_MODE_VAR = "RAY_AUTH_MODE"
TOKEN_VAR = "RAY_AUTH_TOKEN"
TOKEN_PATH_VAR = "RAY_AUTH_TOKEN_PATH"
TOKEN_HELP = ("copy the cluster's token (the file ~/.ray/auth_token on its head node) to ~/.ray/auth_token here, "
              f"or set {TOKEN_VAR} to it (or {TOKEN_PATH_VAR} to a file holding it)")
# what Ray's messages say when a token is missing, refused, or not sent
_AUTH_FAILURE_MARKS = ("InvalidAuthToken", "AuthenticationError", "authentication token")


class ClusterError(RuntimeError):
    """Ray could not be started or reached."""


def default_token_path() -> Path:
    return Path.home() / ".ray" / "auth_token"


def _holds_token(path: Path) -> bool:
    try:
        return bool(path.read_text().strip())
    except (OSError, UnicodeDecodeError):
        return False


def token_source() -> str | None:
    """Where Ray will read the authentication token from, in Ray's own order (``RAY_AUTH_TOKEN``,
    ``RAY_AUTH_TOKEN_PATH``, ``~/.ray/auth_token``); None when there is none. A ``RAY_AUTH_TOKEN_PATH``
    naming a missing or empty file is an error (Ray does not fall back to the default file then)."""
    if os.environ.get(TOKEN_VAR, "").strip():
        return TOKEN_VAR
    named = os.environ.get(TOKEN_PATH_VAR)
    if named:
        if not _holds_token(Path(named).expanduser()):
            raise ClusterError(f"{TOKEN_PATH_VAR}={named} names a missing or empty file: {TOKEN_HELP}")
        return f"{TOKEN_PATH_VAR} ({named})"
    path = default_token_path()
    return str(path) if _holds_token(path) else None


def prepare_token_auth() -> str | None:
    """Before joining a cluster: turn Ray's token mode on when ``RAY_AUTH_TOKEN`` or ``RAY_AUTH_TOKEN_PATH``
    gives a token and ``RAY_AUTH_MODE`` is unset (what Ray does itself only for ``auto``); returns where the
    token comes from (None: no token is sent). The default file ``~/.ray/auth_token`` alone does not turn
    it on (see below). ``RAY_AUTH_MODE`` set by the user is respected; ``token`` without a token is an error."""
    mode = os.environ.get(AUTH_MODE_VAR)
    source = token_source()
    if mode is not None:
        if mode.strip().lower() != "token":
            return None
        if source is None:
            raise ClusterError(f"{AUTH_MODE_VAR}=token but no Ray authentication token was found: {TOKEN_HELP}")
        return source
    if source is not None and source != str(default_token_path()):
        os.environ[AUTH_MODE_VAR] = "token"  # read by this process's Ray core and by its child processes
        _refresh_ray_config()
        log.debug("Ray token authentication on (token from %s)", source)
        return source
    # ~/.ray/auth_token alone says nothing about the cluster: Ray writes it for every local instance, and a
    # driver in token mode cannot create actors on a cluster without authentication (its actors die before
    # they start). Ray's default then (no token sent); an auth failure says to set RAY_AUTH_MODE=token.
    return None


def _refresh_ray_config() -> None:
    """Ray's core caches its settings (RAY_AUTH_MODE among them): read them again, as Ray's own
    ``_enable_token_auth`` does before it joins a cluster found with ``auto``."""
    try:
        from ray._raylet import Config

        Config.initialize("")
    except (ImportError, AttributeError):  # another Ray version: the variable alone is read at init
        pass


def _messages(error: BaseException) -> str:
    """The text of an exception and of the exceptions it was raised from."""
    parts = []
    while error is not None and len(parts) < 8:
        parts.append(f"{type(error).__name__}: {error}")
        error = error.__cause__ or error.__context__
    return "\n".join(parts)


def _explain(address: str | None, error: BaseException, source: str | None) -> str:
    """One line: what failed and, for an authentication failure, where the token goes."""
    where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if address and any(mark in _messages(error) for mark in _AUTH_FAILURE_MARKS):
        if source is None and os.environ.get(AUTH_MODE_VAR) is None and _holds_token(default_token_path()):
            return (f"cannot reach {where}: it uses token authentication; to send the token of "
                    f"~/.ray/auth_token set {AUTH_MODE_VAR}=token (or {TOKEN_VAR} / {TOKEN_PATH_VAR}, which "
                    f"turn it on); if that token is not the cluster's: {TOKEN_HELP}")
        if source is None:
            return (f"cannot reach {where}: it uses token authentication and no token was found here "
                    f"({TOKEN_VAR}, {TOKEN_PATH_VAR}, ~/.ray/auth_token): {TOKEN_HELP}")
        return f"cannot reach {where}: it refused the authentication token from {source}: {TOKEN_HELP}"
    return f"cannot start or reach {where}: {first}"


def connect(cluster: ClusterConfig, address: str | None = None, num_cpus: int | None = None) -> dict:
    """Start or join Ray; returns ``{"address", "local", "cpus", "gpus", "nodes"}``. Raises
    ``ClusterError`` (a one-line message) when Ray cannot be started or reached."""
    address = address if address is not None else (cluster.address or None)
    if ray.is_initialized():
        return describe(local=address is None)
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    source = prepare_token_auth() if address else None
    try:
        if address:
            ray.init(address=address, log_to_driver=True)
        else:
            cpus = num_cpus or cluster.num_cpus or os.cpu_count() or 1
            ray.init(num_cpus=cpus, include_dashboard=cluster.include_dashboard,
                     dashboard_host=cluster.dashboard_host, log_to_driver=True)
    except (ConnectionError, RuntimeError, ValueError, RayError) as error:
        raise ClusterError(_explain(address, error, source)) from error
    return describe(local=address is None)


def describe(local: bool) -> dict:
    resources = ray.cluster_resources()
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    return {"address": ray.get_runtime_context().gcs_address, "local": local,
            "cpus": resources.get("CPU", 0.0), "gpus": resources.get("GPU", 0.0), "nodes": len(nodes)}
