"""Scaling out: two replicas of points, appointments and occupancy behind the real nginx (one
upstream with two servers), and one service with two uvicorn workers.

The invariants hold across replicas, because PostgreSQL, not a process, keeps them: a storm of
spends never overdraws a ledger, one slot booked through both replicas lands once, a client of
either occupancy replica sees the actions registered on the other, and the exporter runs in one
process at a time. With two workers, /metrics counts what both served.
"""

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from common.testing.processes import free_port
from gateway.stack import Stack
from tests.conftest import create_admin, stack_in
from tests.test_e2e_occupancy import bucket_object, sse_events

pytestmark = pytest.mark.e2e

REPLICATED = ("points", "appointments", "occupancy")
PASSWORD = "violet-harbor-quilt-1987"
EXPORTER_LOCK = 0x0CC0_0001  # occupancy.repository.EXPORTER_LOCK, as another exporter takes it


@pytest.fixture(scope="module")
def replicas(
    nginx: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The stack with two replicas of each service in REPLICATED, one worker each."""
    folder = tmp_path_factory.mktemp("replicas")
    with stack_in(folder, database_url, replicas=dict.fromkeys(REPLICATED, 2)) as stack:
        yield stack


@pytest.fixture(scope="module")
def http(replicas: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=replicas.url, timeout=30) as client:
        yield client


def replica_urls(stack: Stack, service: str) -> list[str]:
    """Each replica's own address (what nginx balances over)."""
    return [
        f"http://127.0.0.1:{port}" for name, port in stack.instances().values() if name == service
    ]


def requests_served(stack: Stack, service: str, method: str, route: str) -> list[float]:
    """How many such requests each replica has counted, from its own /metrics."""
    counts = []
    for url in replica_urls(stack, service):
        text = httpx.get(f"{url}/{service}/metrics").text
        counts.append(count_requests(text, method, route))
    return counts


def count_requests(exposition: str, method: str, route: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "http_requests_total"
        and sample.labels["method"] == method
        and sample.labels["route"] == route
    )


def bearer(http: httpx.Client, email: str) -> dict[str, str]:
    tokens = http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


@pytest.fixture(scope="module")
def admin(replicas: Stack, http: httpx.Client) -> dict[str, str]:
    """An admin made with ``customers create-admin`` against the stack's database."""
    email = f"scaleout-admin-{uuid.uuid4().hex[:8]}@example.com"
    create_admin(replicas, email, PASSWORD)
    return bearer(http, email)


def person(http: httpx.Client, admin: dict[str, str], role: str | None) -> tuple[str, dict]:
    """A signed-up account (given ``role`` by the admin) and its ``Authorization`` header."""
    email = f"scaleout-{role or 'customer'}-{uuid.uuid4().hex[:10]}@example.com"
    signup = http.post("/auth/signup", json={"email": email, "password": PASSWORD})
    assert signup.status_code == 201, signup.text
    if role:
        granted = http.put(f"/customers/{email}/roles", json={"roles": [role]}, headers=admin)
        assert granted.status_code == 200, granted.text
    return email, bearer(http, email)


def test_a_storm_of_spends_over_both_replicas_never_overdraws(
    replicas: Stack, http: httpx.Client, admin: dict[str, str]
) -> None:
    _, holder = person(http, admin, None)
    credit = {"payer": "DANNON", "points": 1000, "timestamp": "2020-11-02T14:00:00Z"}
    assert http.post("/points/transactions", json=credit, headers=holder).status_code == 201
    before = requests_served(replicas, "points", "POST", "/points/spend")

    def spend(_: int) -> int:
        return http.post("/points/spend", json={"points": 100}, headers=holder).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = Counter(pool.map(spend, range(40)))

    assert statuses == {200: 10, 409: 30}
    assert http.get("/points/balance", headers=holder).json() == {"DANNON": 0}
    after = requests_served(replicas, "points", "POST", "/points/spend")
    assert all(now > then for now, then in zip(after, before, strict=True)), (before, after)


def test_one_slot_booked_through_both_replicas_lands_once(
    replicas: Stack, http: httpx.Client, admin: dict[str, str]
) -> None:
    doctor_email, doctor = person(http, admin, "doctor")
    _, receptionist = person(http, admin, "receptionist")
    patients = [person(http, admin, "patient")[0] for _ in range(6)]
    every_day = [{"weekday": day, "start": "07:00", "end": "19:00"} for day in range(7)]
    hours = http.put(
        f"/appointments/doctors/{doctor_email}/working-hours",
        json={"timezone": "UTC", "hours": every_day},
        headers=doctor,
    )
    assert hours.status_code == 200, hours.text
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)
    starts_at = dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=dt.UTC).isoformat()
    before = requests_served(replicas, "appointments", "POST", "/appointments")

    def book(patient: str) -> httpx.Response:
        booking = {"patient": patient, "doctor": doctor_email, "starts_at": starts_at}
        return http.post("/appointments", json=booking, headers=receptionist)

    with ThreadPoolExecutor(max_workers=len(patients)) as pool:
        answers = list(pool.map(book, patients))

    assert Counter(answer.status_code for answer in answers) == {201: 1, 409: 5}
    for refused in (answer for answer in answers if answer.status_code == 409):
        assert refused.headers["content-type"] == "application/problem+json"
        assert "doctor" in refused.json()["detail"]
    listed = http.get("/appointments", params={"doctor": doctor_email}, headers=receptionist)
    assert listed.json()["total"] == 1
    after = requests_served(replicas, "appointments", "POST", "/appointments")
    assert all(now > then for now, then in zip(after, before, strict=True)), (before, after)


@pytest.fixture(scope="module")
def staff(http: httpx.Client, admin: dict[str, str]) -> dict[str, str]:
    return person(http, admin, "staff")[1]


def new_room(http: httpx.Client, admin: dict[str, str]) -> str:
    room = f"scale-{uuid.uuid4().hex[:8]}"
    created = http.post("/occupancy/rooms", json={"slug": room, "title": "Hall"}, headers=admin)
    assert created.status_code == 201, created.text
    return room


async def test_a_client_of_either_replica_sees_what_the_other_registered(
    replicas: Stack, http: httpx.Client, admin: dict[str, str], staff: dict[str, str]
) -> None:
    room = new_room(http, admin)
    first, second = replica_urls(replicas, "occupancy")
    names = ["Ann", "Bob", "Cem", "Dia"]
    timeout = httpx.Timeout(10, read=30)
    async with (
        httpx.AsyncClient(base_url=first, timeout=timeout) as one,
        httpx.AsyncClient(base_url=second, timeout=timeout) as two,
        one.stream("GET", f"/occupancy/rooms/{room}/events", headers=staff) as on_one,
        two.stream("GET", f"/occupancy/rooms/{room}/events", headers=staff) as on_two,
    ):
        assert on_one.status_code == on_two.status_code == 200
        streams = [sse_events(on_one), sse_events(on_two)]
        for index, name in enumerate(names):  # registered on each replica in turn
            client = (one, two)[index % 2]
            path = f"/occupancy/rooms/{room}/register"
            registered = await client.post(path, json={"name": name}, headers=staff)
            assert registered.status_code == 200, registered.text
        seen = [
            [json.loads((await asyncio.wait_for(anext(stream), 15))["data"]) for _ in names]
            for stream in streams
        ]
    for events in seen:
        assert [event["name"] for event in events] == names
        assert [event["count"] for event in events] == [1, 2, 3, 4]
    assert seen[0] == seen[1]


async def test_no_replica_exports_while_another_exporter_holds_the_turn(
    replicas: Stack, http: httpx.Client, admin: dict[str, str], staff: dict[str, str]
) -> None:
    """The test takes the exporters' advisory lock as a third exporter would: while it holds it,
    neither replica writes the room's file (however many export rounds pass); once it lets go,
    one of them writes the file the log gives."""
    room = new_room(http, admin)
    day = dt.datetime.now(dt.UTC).date().isoformat()
    key = f"{room}/{day}-logs.csv"
    dsn = make_url(replicas.env["DATABASE_URL"]).set(drivername="postgresql")
    holder = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        # waits while a replica finishes its round, then no replica can start one
        await holder.execute("SELECT pg_advisory_lock($1)", EXPORTER_LOCK)
        for name in ("Ann", "Bob"):
            path = f"/occupancy/rooms/{room}/register"
            registered = await asyncio.to_thread(
                http.post, path, json={"name": name}, headers=staff
            )
            assert registered.status_code == 200, registered.text
        await asyncio.sleep(3 * 2)  # three export rounds of each replica (2 s apart)
        assert await asyncio.to_thread(bucket_object, replicas, key) is None
    finally:
        await holder.close()  # lets go of the lock

    expected = await asyncio.to_thread(
        http.get, f"/occupancy/rooms/{room}/logs", params={"date": day}, headers=staff
    )
    assert expected.status_code == 200
    assert expected.content.count(b"\r\n") == 3
    deadline = time.monotonic() + 60
    while await asyncio.to_thread(bucket_object, replicas, key) != expected.content:
        assert time.monotonic() < deadline, f"{key} never matched the database's CSV"
        await asyncio.sleep(0.2)


@dataclass
class Workers:
    """points under ``common.serve`` with WEB_CONCURRENCY=2."""

    url: str
    metrics: Path
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def two_workers(replicas: Stack, tmp_path: Path) -> Iterator[Workers]:
    port, folder, log = free_port(), tmp_path / "metrics", tmp_path / "points.log"
    env = {**replicas.env, "WEB_CONCURRENCY": "2", "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    command = [sys.executable, "-m", "common.serve", "points", "--host", "127.0.0.1"]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own launcher)
            [*command, "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    workers = Workers(f"http://127.0.0.1:{port}", folder, process, log)
    try:
        deadline = time.monotonic() + 120
        while not ready(f"{workers.url}/points/readyz"):
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "two workers never became ready"
            time.sleep(0.2)
        yield workers
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(30)


def ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def per_worker_healthz(folder: Path) -> dict[str, float]:
    """Each worker's own count of GET /points/healthz, from its file in the metrics folder."""
    counts = {}
    for file in folder.glob("counter_*.db"):
        metrics = MultiProcessCollector.merge([str(file)], accumulate=True)
        counts[file.stem] = sum(
            sample.value
            for metric in metrics
            for sample in metric.samples
            if sample.name == "http_requests_total" and sample.labels["route"] == "/points/healthz"
        )
    return {pid: count for pid, count in counts.items() if count}


def test_metrics_add_up_what_both_workers_served(two_workers: Workers) -> None:
    url, folder = two_workers.url, two_workers.metrics
    sent = 0
    deadline = time.monotonic() + 60
    with ThreadPoolExecutor(max_workers=8) as pool:
        while len(per_worker_healthz(folder)) < 2:  # until the kernel gave both some connections
            assert time.monotonic() < deadline, f"one worker served everything: {folder}"
            # a connection of its own each: either worker may accept it
            answers = list(pool.map(lambda _: httpx.get(f"{url}/points/healthz"), range(16)))
            assert all(answer.status_code == 200 for answer in answers)
            sent += len(answers)
    workers = per_worker_healthz(folder)
    assert sum(workers.values()) == sent
    exposition = httpx.get(f"{url}/points/metrics").text
    assert count_requests(exposition, "GET", "/points/healthz") == sent
    assert all(count < sent for count in workers.values())  # neither alone says it

    two_workers.process.terminate()  # SIGTERM, as a container runtime stops the image
    assert two_workers.process.wait(30) == 0
    lines = [json.loads(line) for line in two_workers.log.read_text().splitlines()]
    finished = {line["msg"] for line in lines if line["msg"].startswith("Finished server")}
    assert len(finished) == 2  # each worker shut down its app, then the supervisor stopped
    assert lines[-1]["msg"].startswith("Stopping parent process")


def test_the_stack_runs_one_worker_per_service_unless_asked(replicas: Stack) -> None:
    assert replicas.env["WEB_CONCURRENCY"] == os.environ.get("WEB_CONCURRENCY", "1")
    assert "PROMETHEUS_MULTIPROC_DIR" not in replicas.env
