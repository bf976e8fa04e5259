"""Connecting to Ray: an embedded local instance by default, or an existing cluster.

- no address: ``ray.init`` starts a local Ray instance sized to this machine (``num_cpus``: the
  machine's cores unless the config says otherwise), nothing to set up;
- ``auto``: join the cluster started on this machine with ``ray start --head`` (or the one named
  by ``RAY_ADDRESS``); ``HOST:PORT``: join the cluster whose head is there.

The dashboard of a local instance is off by default and binds to 127.0.0.1 when turned on
(``cluster.include_dashboard``), so a run never opens a port to the network unless configured.
"""

from __future__ import annotations

import os

import ray

from tenuki.selfplay.config import ClusterConfig


class ClusterError(RuntimeError):
    """Ray could not be started or reached."""


def connect(cluster: ClusterConfig, address: str | None = None, num_cpus: int | None = None) -> dict:
    """Start or join Ray; returns ``{"address", "local", "cpus", "nodes"}``."""
    address = address if address is not None else (cluster.address or None)
    if ray.is_initialized():
        return describe(local=address is None)
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    try:
        if address:
            ray.init(address=address, log_to_driver=True)
        else:
            cpus = num_cpus or cluster.num_cpus or os.cpu_count() or 1
            ray.init(num_cpus=cpus, include_dashboard=cluster.include_dashboard,
                     dashboard_host=cluster.dashboard_host, log_to_driver=True)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
        raise ClusterError(f"cannot start or reach {where}: {error}") from error
    return describe(local=address is None)


def describe(local: bool) -> dict:
    resources = ray.cluster_resources()
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    return {"address": ray.get_runtime_context().gcs_address, "local": local,
            "cpus": resources.get("CPU", 0.0), "gpus": resources.get("GPU", 0.0), "nodes": len(nodes)}
