"""In-Python load with httpx, for scenarios wrk cannot express.

For example "p50 of GET /auth/me while 20 logins run"::

    async with load.client(base_url, connections=21) as http:
        async with load.background(lambda: http.post("/auth/login", json=...), concurrency=20):
            me = await load.measure(lambda: http.get("/auth/me", headers=...), duration=5)
    me.percentile(50)

Latencies are measured in this process, so they include the client's own overhead; run the
scenario inside ``Context.load_generator()`` to keep it off the service's CPU.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import numpy

from bench.report import Table

Send = Callable[[], Awaitable[httpx.Response]]


@dataclass
class Samples:
    """Latencies (seconds) of the successful requests, the failures, and the time it took."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            raise ValueError("no successful request was measured")
        return float(numpy.percentile(self.latencies, q))

    @property
    def per_second(self) -> float:
        """Successful requests per second."""
        return len(self.latencies) / self.seconds


def client(base_url: str, *, connections: int, timeout: float = 30.0) -> httpx.AsyncClient:
    """An httpx client keeping up to ``connections`` connections open (no proxies)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout, trust_env=False)


async def measure(send: Send, *, duration: float, concurrency: int = 1) -> Samples:
    """``concurrency`` loops each sending one request after another for ``duration`` seconds."""
    samples = Samples()
    start = time.perf_counter()
    deadline = start + duration
    await asyncio.gather(
        *(_loop(send, samples, lambda: time.perf_counter() < deadline) for _ in range(concurrency))
    )
    samples.seconds = time.perf_counter() - start
    return samples


@asynccontextmanager
async def background(send: Send, *, concurrency: int) -> AsyncIterator[Samples]:
    """``concurrency`` loops sending requests until the block ends; their samples fill in."""
    samples = Samples()
    stopped = asyncio.Event()
    start = time.perf_counter()
    loops = [
        asyncio.create_task(_loop(send, samples, lambda: not stopped.is_set()))
        for _ in range(concurrency)
    ]
    try:
        yield samples
    finally:
        stopped.set()
        await asyncio.gather(*loops)
        samples.seconds = time.perf_counter() - start


async def _loop(send: Send, samples: Samples, running: Callable[[], bool]) -> None:
    while running():
        start = time.perf_counter()
        try:
            response = await send()
        except httpx.HTTPError:
            samples.errors += 1
            continue
        if response.is_success:
            samples.latencies.append(time.perf_counter() - start)
        else:
            samples.errors += 1


@dataclass(frozen=True)
class Scenario:
    """One measured scenario of a benchmark: what ran, and its latency samples."""

    label: str
    samples: Samples


def ms(samples: Samples, percentile: float) -> str:
    """A percentile of the samples in milliseconds, for a table or a summary."""
    return f"{samples.percentile(percentile) * 1000:.2f}"


def scenario_table(scenarios: list[Scenario]) -> Table:
    """The usual table: requests, throughput, p50/p95/p99 and errors of each scenario."""
    return Table(
        columns=("scenario", "requests", "requests/s", "p50 ms", "p95 ms", "p99 ms", "errors"),
        rows=[
            (
                scenario.label,
                f"{len(scenario.samples.latencies):,}",
                f"{scenario.samples.per_second:,.1f}",
                ms(scenario.samples, 50),
                ms(scenario.samples, 95),
                ms(scenario.samples, 99),
                str(scenario.samples.errors),
            )
            for scenario in scenarios
        ],
    )
