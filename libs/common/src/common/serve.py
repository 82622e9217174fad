"""``python -m common.serve <service>``: the service's app, ``WEB_CONCURRENCY`` uvicorn workers.

What the service images and ``make stack`` run. ``WEB_CONCURRENCY`` unset means one worker per CPU
this process may use (its CPU affinity, and a container's CPU quota from cgroup v2's ``cpu.max``);
``make stack`` sets it to 1. With more than one worker, the workers share one listening socket and
their Prometheus values go to a folder made fresh for this start (``PROMETHEUS_MULTIPROC_DIR``, or
a new temporary folder when it is unset), so ``/<service>/metrics`` answers the sum over them all.
"""

import argparse
import contextlib
import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import uvicorn

from common.logging import configure_logging
from common.metrics import MULTIPROCESS_DIR

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def quota_cpus(cpu_max: str) -> int | None:
    """The CPUs a cgroup v2 ``cpu.max`` line (``"<quota> <period>"``) allows, rounded up; None
    for ``max`` (no quota) or a line that is not of that shape."""
    quota, _, period = cpu_max.strip().partition(" ")
    if not (quota.isdigit() and period.isdigit()) or int(period) == 0:
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def available_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The CPUs this process may run on, bounded by its container's CPU quota."""
    cpus = len(os.sched_getaffinity(0))
    with contextlib.suppress(OSError):
        quota = quota_cpus(cpu_max.read_text())
        if quota is not None:
            cpus = min(cpus, quota)
    return cpus


def worker_count() -> int:
    """``WEB_CONCURRENCY`` (a positive integer), else one worker per available CPU."""
    configured = os.environ.get("WEB_CONCURRENCY", "").strip()
    if not configured:
        return available_cpus()
    if not configured.isdigit() or int(configured) < 1:
        raise SystemExit(f"WEB_CONCURRENCY must be a positive integer, not {configured!r}")
    return int(configured)


@contextlib.contextmanager
def fresh_metrics_folder(service: str) -> Iterator[Path]:
    """An empty multiprocess folder in ``PROMETHEUS_MULTIPROC_DIR`` for the workers to inherit:
    the configured folder emptied of an earlier start's files, or a temporary one removed after."""
    configured = os.environ.get(MULTIPROCESS_DIR)
    if configured:
        folder = Path(configured)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        yield folder
        return
    folder = Path(tempfile.mkdtemp(prefix=f"{service}-metrics-"))
    os.environ[MULTIPROCESS_DIR] = str(folder)
    try:
        yield folder
    finally:
        del os.environ[MULTIPROCESS_DIR]
        shutil.rmtree(folder, ignore_errors=True)


def serve(service: str, *, host: str, port: int, workers: int) -> None:
    """Run ``<service>.main:create_app`` until uvicorn is told to stop. Every process logs JSON
    lines: uvicorn keeps the logging configured here (the supervisor's) and by the app factory."""
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"), default_service=service)
    app = f"{service}.main:create_app"
    if workers == 1 and not os.environ.get(MULTIPROCESS_DIR):
        uvicorn.run(app, factory=True, host=host, port=port, log_config=None)
        return
    with fresh_metrics_folder(service):
        uvicorn.run(app, factory=True, host=host, port=port, log_config=None, workers=workers)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m common.serve", description="A service, WEB_CONCURRENCY uvicorn workers."
    )
    parser.add_argument("service", help="the service's package: customers, points, ...")
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 (a container's port)
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    serve(args.service, host=args.host, port=args.port, workers=worker_count())


if __name__ == "__main__":
    main()
