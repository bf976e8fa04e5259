"""Fixtures of the self-play tests that need Ray.

``ray_cluster``: one ``ray.cluster_utils.Cluster`` for the whole test session (a head node with
2 logical CPUs, no dashboard), the driver connected to it. Tests add nodes to it
(``ray_cluster.add_node``) and must remove what they add, so the next test finds the head alone.
Its files live in a temporary ``RAY_TMPDIR`` of their own, so the tests never touch the
``/tmp/ray`` of a Ray instance already running on the machine (a training run).

``coordinators``: a list to append each ``Coordinator`` a test builds to; their actors are killed
when the test ends (they reserve the head's CPUs, which the next test's workers need).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

import pytest


@pytest.fixture(scope="session")
def ray_cluster():
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    previous = os.environ.get("RAY_TMPDIR")
    temp_dir = tempfile.mkdtemp(prefix="tenuki-ray-", dir="/tmp")  # short: Ray's socket paths are limited
    os.environ["RAY_TMPDIR"] = temp_dir
    cluster = None
    try:
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
        yield cluster
    finally:
        ray.shutdown()
        if cluster is not None:
            cluster.shutdown()
        if previous is None:
            os.environ.pop("RAY_TMPDIR", None)
        else:
            os.environ["RAY_TMPDIR"] = previous
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture
def coordinators(ray_cluster):
    import ray

    built: list = []
    yield built
    for coordinator in built:
        handles = [*getattr(coordinator, "workers", []), getattr(coordinator, "buffer", None),
                   getattr(coordinator, "learner", None), getattr(coordinator, "gatekeeper", None)]
        for handle in handles:
            if handle is not None:
                with contextlib.suppress(Exception):  # already gone
                    ray.kill(handle, no_restart=True)
