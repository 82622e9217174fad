"""occupancy: register/unregister under 50 clients, and how fast an action reaches SSE clients."""

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field

import httpx
import numpy

from bench import charts, load
from bench.context import Context
from bench.report import Section, Table
from common.testing import TokenFactory

WRITERS = 50
DURATION = 8.0
WARMUP = 2.0
SUBSCRIBER_COUNTS = (1, 500)
EVENTS_PER_RUN = 40
EVENT_SPACING = 0.05
ROOM = "bench-hall"
ROOM_LAYOUTS = (1, WRITERS)  # the writers share one room, or each has its own


@dataclass
class Deliveries:
    """When each event was sent and when each subscriber received it."""

    expected: int
    sent: dict[tuple[str, str], float] = field(default_factory=dict)
    received: list[tuple[tuple[str, str], float]] = field(default_factory=list)
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def arrived(self, key: tuple[str, str]) -> None:
        self.received.append((key, time.perf_counter()))
        if len(self.received) >= self.expected:
            self.complete.set()

    def latencies(self) -> list[float]:
        return [at - self.sent[event] for event, at in self.received if event in self.sent]


@dataclass(frozen=True)
class Writes:
    rooms: int
    register: load.Samples
    unregister: load.Samples

    @property
    def per_second(self) -> float:
        done = len(self.register.latencies) + len(self.unregister.latencies)
        return done / self.register.seconds


def run(ctx: Context) -> Section:
    tokens = TokenFactory()
    env = {**tokens.service_env(), "LOG_LEVEL": "WARNING"}
    staff = tokens.auth("bench-staff", ["staff", "admin"], ttl=3600)
    with ctx.service("occupancy", env=env) as occupancy, ctx.load_generator():
        status = asyncio.run(_status_alone(occupancy.base_url, staff))
        writes = [asyncio.run(_writes(occupancy.base_url, staff, rooms)) for rooms in ROOM_LAYOUTS]
        streams = {
            n: asyncio.run(_fan_out(occupancy.base_url, staff, n)) for n in SUBSCRIBER_COUNTS
        }
    plot = charts.latency_bars(
        {
            f"{action}, {_rooms(run.rooms)}": samples
            for run in writes
            for action, samples in (("register", run.register), ("unregister", run.unregister))
        },
        title=f"occupancy: {WRITERS} concurrent staff clients, one uvicorn worker",
        path=ctx.plot_path(),
    )
    shared, spread = writes[0], writes[-1]
    few, many = streams[SUBSCRIBER_COUNTS[0]], streams[SUBSCRIBER_COUNTS[-1]]
    return Section(
        title="occupancy: register/unregister and live events",
        method=_method(),
        summary=(
            f"{WRITERS} clients complete {shared.per_second:,.0f} register+unregister requests/s "
            f"in one room (register p50 {load.ms(shared.register, 50)} ms, p95 "
            f"{load.ms(shared.register, 95)} ms) and {spread.per_second:,.0f}/s in a room each. A "
            f"register reaches 1 SSE client in {_pct(few, 50)} ms at p50 and each of "
            f"{SUBSCRIBER_COUNTS[-1]} clients in {_pct(many, 50)} ms at p50 "
            f"({_pct(many, 95)} ms p95). For scale: GET status alone, one client, p50 "
            f"{load.ms(status, 50)} ms."
        ),
        tables=[_writes_table(writes), _events_table(streams)],
        plots=[plot],
    )


async def _status_alone(base_url: str, staff: dict[str, str]) -> load.Samples:
    """One client reading the default room's status: the cost of a request on this machine."""
    async with load.client(base_url, connections=1) as http:
        status = await load.measure(
            lambda: http.get("/occupancy/rooms/default/status", headers=staff), duration=WARMUP
        )
    if status.errors:
        raise RuntimeError(f"{status.errors} status requests failed")
    return status


def _rooms(count: int) -> str:
    return "one room" if count == 1 else f"{count} rooms"


async def _writes(base_url: str, staff: dict[str, str], rooms: int) -> Writes:
    """Client i registers and unregisters its own name in room i % rooms, over and over."""
    slugs = [f"bench-{rooms}-{number}" for number in range(rooms)]
    async with load.client(base_url, connections=WRITERS) as http:
        for slug in slugs:
            await _create_room(http, staff, slug)
        await _pairs(http, staff, slugs, WARMUP)
        register, unregister = await _pairs(http, staff, slugs, DURATION)
    return Writes(rooms, register, unregister)


async def _create_room(http: httpx.AsyncClient, staff: dict[str, str], slug: str) -> None:
    created = await http.post("/occupancy/rooms", json={"slug": slug, "title": slug}, headers=staff)
    if created.status_code != 409:  # made by an earlier run on the same database
        created.raise_for_status()


async def _pairs(
    http: httpx.AsyncClient, staff: dict[str, str], slugs: list[str], duration: float
) -> tuple[load.Samples, load.Samples]:
    register, unregister = load.Samples(), load.Samples()
    start = time.perf_counter()
    deadline = start + duration

    async def client(number: int) -> None:
        body = {"name": f"writer-{number}"}
        room = slugs[number % len(slugs)]
        while time.perf_counter() < deadline:
            for action, samples in (("register", register), ("unregister", unregister)):
                began = time.perf_counter()
                response = await http.post(
                    f"/occupancy/rooms/{room}/{action}", json=body, headers=staff
                )
                if response.is_success:
                    samples.latencies.append(time.perf_counter() - began)
                else:
                    samples.errors += 1

    await asyncio.gather(*(client(number) for number in range(WRITERS)))
    register.seconds = unregister.seconds = time.perf_counter() - start
    if register.errors or unregister.errors:
        raise RuntimeError(f"{register.errors + unregister.errors} writes failed")
    return register, unregister


@dataclass
class FanOut:
    subscribers: int
    latencies: list[float]
    deliveries_per_second: float
    missing: int


async def _fan_out(base_url: str, staff: dict[str, str], subscribers: int) -> FanOut:
    """``subscribers`` open streams; registers sent one by one; each arrival timed."""
    deliveries = Deliveries(expected=subscribers * EVENTS_PER_RUN)
    ready = asyncio.Semaphore(0)
    limits = httpx.Limits(max_connections=subscribers + 4, max_keepalive_connections=4)
    timeout = httpx.Timeout(30, read=120)
    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=timeout, trust_env=False
    ) as http:
        await _create_room(http, staff, ROOM)
        listeners = [
            asyncio.create_task(_listen(http, staff, deliveries, ready)) for _ in range(subscribers)
        ]
        for _ in range(subscribers):
            await asyncio.wait_for(ready.acquire(), 60)
        names = (f"guest-{subscribers}-{n}" for n in itertools.count())
        first = time.perf_counter()
        for _ in range(EVENTS_PER_RUN // 2):
            name = next(names)
            for action in ("register", "unregister"):
                await _send(http, staff, action, name, deliveries)
                await asyncio.sleep(EVENT_SPACING)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(deliveries.complete.wait(), 30)
        last = max((at for _, at in deliveries.received), default=first)
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    return FanOut(
        subscribers=subscribers,
        latencies=deliveries.latencies(),
        deliveries_per_second=len(deliveries.received) / (last - first),
        missing=deliveries.expected - len(deliveries.received),
    )


async def _send(
    http: httpx.AsyncClient, staff: dict[str, str], action: str, name: str, into: Deliveries
) -> None:
    into.sent[(action, name)] = time.perf_counter()
    response = await http.post(
        f"/occupancy/rooms/{ROOM}/{action}", json={"name": name}, headers=staff
    )
    response.raise_for_status()


async def _listen(
    http: httpx.AsyncClient, staff: dict[str, str], into: Deliveries, ready: asyncio.Semaphore
) -> None:
    async with http.stream("GET", f"/occupancy/rooms/{ROOM}/events", headers=staff) as stream:
        ready.release()
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                into.arrived((event["action"], event["name"]))


def _method() -> str:
    return (
        "The occupancy service runs as one uvicorn worker (`occupancy.main:create_app`, "
        "development settings, daily files to a scratch folder, the exporter running) with "
        "tokens from a test key pair. As a yardstick of the machine's speed, GET status is "
        f"measured first with one client for {WARMUP:.0f} s. Writes: {WRITERS} httpx clients "
        "on the load CPU each register and then unregister their own name, all in one room, "
        "then each in a room of its own, one request after "
        f"another, for {DURATION:.0f} s after a {WARMUP:.0f} s warm-up; every write takes the "
        "room's row lock, logs the action, marks its day for export and NOTIFYs in one "
        f"transaction. Events: N event-stream clients (N = "
        f"{', '.join(map(str, SUBSCRIBER_COUNTS))}) connect, then {EVENTS_PER_RUN} actions are "
        f"sent {EVENT_SPACING * 1000:.0f} ms apart; the latency of a delivery is from just before "
        "the POST to the arrival of the event's `data` line at each client; deliveries/s counts "
        "all arrivals from the first POST to the last arrival."
    )


def _writes_table(writes: list[Writes]) -> Table:
    return Table(
        columns=(
            "rooms",
            "request",
            "requests",
            "requests/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
        ),
        rows=[
            (
                str(run.rooms),
                action,
                f"{len(samples.latencies):,}",
                f"{samples.per_second:,.1f}",
                load.ms(samples, 50),
                load.ms(samples, 95),
                load.ms(samples, 99),
                str(samples.errors),
            )
            for run in writes
            for action, samples in (("register", run.register), ("unregister", run.unregister))
        ],
    )


def _events_table(streams: dict[int, FanOut]) -> Table:
    return Table(
        columns=(
            "SSE clients",
            "deliveries",
            "p50 ms",
            "p95 ms",
            "max ms",
            "deliveries/s",
            "missing",
        ),
        rows=[
            (
                str(n),
                f"{len(fan.latencies):,}",
                _pct(fan, 50),
                _pct(fan, 95),
                f"{max(fan.latencies) * 1000:.1f}",
                f"{fan.deliveries_per_second:,.0f}",
                str(fan.missing),
            )
            for n, fan in streams.items()
        ],
    )


def _pct(fan: FanOut, percentile: float) -> str:
    return f"{float(numpy.percentile(fan.latencies, percentile)) * 1000:.1f}"
