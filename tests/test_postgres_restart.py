"""PostgreSQL stops under light load and comes back: 503s meanwhile, never a hang, then healing.

The stack here runs on an embedded PostgreSQL of its own (a temporary folder), so stopping it
touches no other test. A light load sends every parameterless GET the services document, with
a customer's token. While PostgreSQL is down every service's readiness and customers' ``/auth/me``
answer 503 problem+json, and no answer is another 5xx or missing (a hang ends at the client's
timeout); when it is back every service serves again with no process restarted.
"""

import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.embedded import start_embedded_postgres
from gateway.stack import Stack, service_ports
from tests.conftest import stack_in

pytestmark = pytest.mark.e2e

SERVICES = sorted(service_ports())
PASSWORD = "violet-harbor-quilt-1987"
PROBLEM_JSON = "application/problem+json"
# A request that takes longer than this is a hang: the services must answer without waiting
# for a database that is not there.
REQUEST_TIMEOUT_SECONDS = 10
HEAL_SECONDS = 30


class EmbeddedPostgres:
    """A PostgreSQL of this test's own, which it can stop and start again on the same data."""

    def __init__(self, folder: Path) -> None:
        self.pgdata = folder / "pg"
        self.server: Any = start_embedded_postgres(self.pgdata)
        self.url: str = self.server.get_uri()

    def stop(self) -> None:
        self.server.cleanup()  # this process holds the only handle, so the server stops

    def start(self) -> None:
        self.server = start_embedded_postgres(self.pgdata)
        assert self.server.get_uri() == self.url  # same socket folder: the services' URL holds


@dataclass
class Sample:
    path: str
    status: int | None  # None: no answer within the timeout, or the connection failed
    content_type: str


@dataclass
class LightLoad:
    """One client sending a customer's GETs to every service, over and over."""

    url: str
    paths: list[str]
    headers: dict[str, str]
    samples: list[Sample] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
            while not self.stopped.is_set():
                for path in self.paths:
                    self.samples.append(self.send(http, path))
                self.stopped.wait(0.05)  # pacing: light load, not a burst

    def send(self, http: httpx.Client, path: str) -> Sample:
        try:
            response = http.get(path, headers=self.headers)
        except httpx.TransportError:
            return Sample(path, None, "")
        return Sample(path, response.status_code, response.headers.get("content-type", ""))


@pytest.fixture(scope="module")
def postgres() -> Iterator[EmbeddedPostgres]:
    folder = Path(tempfile.mkdtemp(prefix="pg-restart-"))
    server = EmbeddedPostgres(folder)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def own_stack(nginx: str, postgres: EmbeddedPostgres) -> Iterator[Stack]:
    """The whole stack on the test's own PostgreSQL, logs kept beside its data."""
    with stack_in(postgres.pgdata.parent, postgres.url) as running:
        yield running


def customer_headers(http: httpx.Client) -> dict[str, str]:
    email = f"restart-{uuid.uuid4().hex[:12]}@example.com"
    body = {"email": email, "password": PASSWORD}
    assert http.post("/auth/signup", json=body).status_code == 201
    login = http.post("/auth/login", json=body)
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def parameterless_gets(http: httpx.Client) -> list[str]:
    """Every GET without path parameters that the services' OpenAPI documents."""
    paths = []
    for name in SERVICES:
        document = http.get(f"/{name}/openapi.json").json()
        paths += [
            path
            for path, operations in document["paths"].items()
            if "get" in operations and "{" not in path
        ]
    return paths


def poll(
    http: httpx.Client, path: str, headers: dict[str, str], until: Callable[[Any], bool]
) -> httpx.Response:
    """GET ``path`` until ``until(response)`` holds; fails after HEAL_SECONDS."""
    deadline = time.monotonic() + HEAL_SECONDS
    while True:
        response = http.get(path, headers=headers)
        if until(response):
            return response
        assert time.monotonic() < deadline, f"{path} still {response.status_code}: {response.text}"
        time.sleep(0.1)


def assert_unavailable_problem(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == 503


def test_services_answer_503_while_postgres_is_down_and_heal_after(
    own_stack: Stack, postgres: EmbeddedPostgres
) -> None:
    http = httpx.Client(base_url=own_stack.url, timeout=REQUEST_TIMEOUT_SECONDS)
    bearer = customer_headers(http)
    data_paths = [f"/{name}/readyz" for name in SERVICES] + ["/auth/me"]
    processes = {name: process.pid for name, process in own_stack.processes.items()}
    load = LightLoad(own_stack.url, parameterless_gets(http), bearer)
    worker = threading.Thread(target=load.run)
    worker.start()
    try:
        postgres.stop()
        for path in data_paths:
            assert_unavailable_problem(poll(http, path, bearer, lambda r: r.status_code != 200))
        postgres.start()
        for path in data_paths:
            poll(http, path, bearer, lambda r: r.status_code == 200)
    finally:
        load.stopped.set()
        worker.join()
    own_stack.check_alive()
    assert {name: process.pid for name, process in own_stack.processes.items()} == processes
    assert [s.path for s in load.samples if s.status is None] == []
    failures = {(s.path, s.status, s.content_type) for s in load.samples if s.status >= 500}
    assert {(status, kind) for _, status, kind in failures} == {(503, PROBLEM_JSON)}, failures
