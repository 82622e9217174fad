"""Prometheus exposition for one process or for every worker of a service.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``common.serve`` sets it, a fresh folder per start, when it
runs more than one worker), prometheus_client keeps each process's values in files of that folder
and ``/<prefix>/metrics`` answers the sum over every worker, the exited ones included, so a
counter never goes back when a worker is replaced. Without it, the app's own registry answers.
"""

import os

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The folder every worker of this service writes its values to, when there is one."""
    return os.environ.get(MULTIPROCESS_DIR) or None


def exposition(registry: CollectorRegistry) -> bytes:
    """The text format of ``registry``, or of every worker's values in multiprocess mode."""
    folder = multiprocess_dir()
    if folder is None:
        return generate_latest(registry)
    every_worker = CollectorRegistry()
    MultiProcessCollector(every_worker, path=folder)  # type: ignore[no-untyped-call]
    return generate_latest(every_worker)


def worker_exited() -> None:
    """Drop this process's live gauges from the multiprocess folder (its counters stay)."""
    folder = multiprocess_dir()
    if folder is not None:
        mark_process_dead(os.getpid(), path=folder)  # type: ignore[no-untyped-call]
