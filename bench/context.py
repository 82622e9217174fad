"""What a benchmark gets: the database, helpers that start services and load, and its folders."""

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import wrk
from bench.services import RunningService, migrate, run_service, scratch_database


@dataclass(frozen=True)
class Placement:
    """Which CPUs the services use and which the load generators use.

    With two CPUs or more, a service's one worker gets the first and the load generators the
    rest, so that they do not take turns on one core. PostgreSQL is not pinned.
    """

    service_cpus: tuple[int, ...]
    load_cpus: tuple[int, ...]

    @classmethod
    def split(cls) -> "Placement":
        cpus = tuple(sorted(os.sched_getaffinity(0)))
        if len(cpus) < 2:
            return cls((), ())
        return cls(cpus[:1], cpus[1:])

    def describe(self) -> str:
        if not self.service_cpus:
            return "not pinned (fewer than two CPUs): services and load generators share the CPU"
        return (
            f"service worker on CPU {_cpu_list(self.service_cpus)}, load generators (wrk, httpx) "
            f"on CPU {_cpu_list(self.load_cpus)}, PostgreSQL not pinned"
        )


def _cpu_list(cpus: tuple[int, ...]) -> str:
    return ",".join(map(str, cpus))


def taskset(cpus: tuple[int, ...]) -> list[str]:
    return ["taskset", "-c", _cpu_list(cpus)] if cpus else []


@dataclass
class Context:
    """Given to each benchmark's ``run``; one per benchmark, sharing the run's database."""

    name: str
    database_url: str
    data_dir: Path
    results_dir: Path
    plots_dir: Path
    placement: Placement
    migrated: set[tuple[str, str]] = field(default_factory=set)

    @contextmanager
    def service(
        self,
        name: str,
        env: Mapping[str, str] | None = None,
        *,
        app: str | None = None,
        database_url: str | None = None,
    ) -> Iterator[RunningService]:
        """Service ``name`` migrated and running (one uvicorn worker) for the block's duration.

        It gets the run's database (or ``database_url``, a ``scratch_database``) and a scratch
        ``DATA_DIR``; ``env`` adds or overrides variables; ``app`` serves another uvicorn factory
        (``module:function``) in the service's place.
        """
        url = database_url or self.database_url
        if (name, url) not in self.migrated:
            migrate(name, url)
            self.migrated.add((name, url))
        environment = {"DATABASE_URL": url, "DATA_DIR": str(self.data_dir)}
        with run_service(
            name,
            env={**environment, **(env or {})},
            log=self.results_dir / f"{name}.log",
            command_prefix=taskset(self.placement.service_cpus),
            app=app,
        ) as running:
            yield running

    @contextmanager
    def scratch_database(self, label: str) -> Iterator[str]:
        """The URL of a new empty database on the run's server, named after the benchmark and
        ``label``, dropped after the block: data that must not meet the run's database."""
        with scratch_database(self.database_url, f"bench_{self.name}_{label}".lower()) as url:
            try:
                yield url
            finally:
                self.migrated -= {
                    (name, migrated) for name, migrated in self.migrated if migrated == url
                }

    def wrk(
        self,
        url: str,
        *,
        connections: int,
        duration: int,
        label: str = "",
        headers: Mapping[str, str] | None = None,
        script: Path | None = None,
        script_args: Sequence[str] = (),
    ) -> wrk.WrkResult:
        """Run wrk on the load CPUs; its raw output is kept in the results folder."""
        threads = self.wrk_threads(connections)
        result, output = wrk.run(
            url,
            connections=connections,
            duration=duration,
            threads=threads,
            command_prefix=taskset(self.placement.load_cpus),
            headers=headers,
            script=script,
            script_args=script_args,
        )
        (self.results_dir / f"wrk-{label or f'c{connections}'}.txt").write_text(output)
        return result

    def wrk_threads(self, connections: int) -> int:
        """wrk's threads for ``connections``: one per load CPU, at most one per connection."""
        return max(1, min(connections, len(self.placement.load_cpus)))

    @contextmanager
    def load_generator(self) -> Iterator[None]:
        """Run the block (e.g. ``asyncio.run`` of an httpx scenario) on the load CPUs."""
        if not self.placement.load_cpus:
            yield
            return
        previous = os.sched_getaffinity(0)
        os.sched_setaffinity(0, self.placement.load_cpus)
        try:
            yield
        finally:
            os.sched_setaffinity(0, previous)

    def plot_path(self, stem: str = "") -> Path:
        """Where to save a PNG for the report: ``bench/plots/<benchmark>[-<stem>].png``."""
        return self.plots_dir / f"{self.name}{f'-{stem}' if stem else ''}.png"
