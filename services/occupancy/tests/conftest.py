import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aioboto3
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from moto.server import ThreadedMotoServer
from sqlalchemy.ext.asyncio import AsyncEngine

from common.testing import TokenFactory
from common.testing.checks import ServiceApi
from common.testing.plugin import ServiceUnderTest
from occupancy.config import SERVICE_DIR, Settings
from occupancy.main import create_app


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("occupancy", SERVICE_DIR, create_app, Settings)


@pytest.fixture
def logs_dir(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def settings_overrides(logs_dir: Path) -> dict[str, Any]:
    """Daily files in a folder of the test; the exporter looks often so tests wait little."""
    return {"logs_dir": logs_dir, "export_interval_seconds": 0.05}


@pytest.fixture
def staff(token_factory: TokenFactory) -> dict[str, str]:
    return token_factory.auth("staff-1", ["staff"])


@pytest.fixture
def admin(token_factory: TokenFactory) -> dict[str, str]:
    return token_factory.auth("admin-1", ["admin"])


@pytest.fixture
def customer(token_factory: TokenFactory) -> dict[str, str]:
    return token_factory.auth("customer-1", ["customer"])


T = TypeVar("T")


@dataclass
class OccupancyApi(ServiceApi):
    """Shortcuts for the calls most tests make, and a look at the tables."""

    schema = "occupancy"
    staff: dict[str, str]
    admin: dict[str, str]

    async def create_room(self, slug: str, **fields: Any) -> dict[str, Any]:
        body = {"slug": slug, "title": f"Room {slug}", **fields}
        response = await self.client.post("/occupancy/rooms", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def register(self, room: str, name: str) -> httpx.Response:
        return await self.client.post(
            f"/occupancy/rooms/{room}/register", json={"name": name}, headers=self.staff
        )

    async def unregister(self, room: str, name: str) -> httpx.Response:
        return await self.client.post(
            f"/occupancy/rooms/{room}/unregister", json={"name": name}, headers=self.staff
        )

    async def status(self, room: str) -> dict[str, Any]:
        response = await self.client.get(f"/occupancy/rooms/{room}/status", headers=self.staff)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    @staticmethod
    async def eventually(
        probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], *, within: float = 10.0
    ) -> T:
        """Poll ``probe`` until ``accept`` holds for its result (fails after ``within`` s)."""
        deadline = time.monotonic() + within
        while True:
            value = await probe()
            if accept(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"still {value!r} after {within} s")
            await asyncio.sleep(0.05)

    async def document(self) -> dict[str, Any]:
        """The service's OpenAPI document, as a client generator reads it."""
        response = await self.client.get("/occupancy/openapi.json")
        assert response.status_code == 200
        document: dict[str, Any] = response.json()
        return document


@pytest.fixture
def api(
    client: httpx.AsyncClient,
    admin_engine: AsyncEngine,
    staff: dict[str, str],
    admin: dict[str, str],
) -> OccupancyApi:
    return OccupancyApi(client, admin_engine, staff, admin)


BUCKET = "occupancy-logs"
S3_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


class MotoS3:
    """moto's S3 server on a loopback port that can be stopped and started again (same state)."""

    def __init__(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, self.port = self.server.get_host_and_port()
        self.url = f"http://{host}:{self.port}"
        # moto's state lives in this process, not in one server: start every test from nothing.
        httpx.post(f"{self.url}/moto-api/reset").raise_for_status()

    def stop(self) -> None:
        self.server.stop()

    def start_again(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def client(self) -> Any:
        return aioboto3.Session().client(
            "s3", endpoint_url=self.url, region_name="us-east-1", **S3_CREDENTIALS
        )

    async def object(self, key: str) -> bytes | None:
        """The object's content, None when it does not exist."""
        async with self.client() as s3:
            try:
                response = await s3.get_object(Bucket=BUCKET, Key=key)
            except s3.exceptions.NoSuchKey:
                return None
            body: bytes = await response["Body"].read()
            return body


@pytest.fixture
async def moto_s3() -> AsyncIterator[MotoS3]:
    server = MotoS3()
    async with server.client() as s3:
        await s3.create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


@pytest.fixture
def s3_settings(moto_s3: MotoS3) -> dict[str, Any]:
    return {
        "s3_bucket": BUCKET,
        "s3_endpoint_url": moto_s3.url,
        "s3_access_key_id": S3_CREDENTIALS["aws_access_key_id"],
        "s3_secret_access_key": S3_CREDENTIALS["aws_secret_access_key"],
        "s3_timeout_seconds": 1.0,
        "export_interval_seconds": 0.05,
        "export_retry_max_seconds": 0.2,
    }


@dataclass
class LiveServer:
    """An app served by uvicorn on a loopback port (httpx's ASGI transport cannot stream)."""

    url: str


@contextlib.asynccontextmanager
async def live(app: FastAPI) -> AsyncIterator[LiveServer]:
    """Serve ``app`` (its lifespan already running) until the block ends."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="off", log_config=None, timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()  # it failed to start: raise why
        await asyncio.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{sock.getsockname()[1]}")
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class SseEvent:
    id: str | None
    event: str | None
    data: str
    comment: bool = False


class SseReader:
    """Reads one event stream line by line: events and heartbeat comments."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()

    async def next(self, *, within: float = 10.0, comments: bool = False) -> SseEvent:
        async with asyncio.timeout(within):
            fields: dict[str, str] = {}
            async for line in self.lines:
                if line.startswith(":"):
                    if comments:
                        return SseEvent(None, None, line[1:].strip(), comment=True)
                elif line:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                elif fields:
                    return SseEvent(fields.get("id"), fields.get("event"), fields.get("data", ""))
        raise AssertionError("the stream ended")

    async def events(self, count: int) -> list[SseEvent]:
        return [await self.next() for _ in range(count)]


@contextlib.asynccontextmanager
async def sse(
    url: str, headers: dict[str, str], last_event_id: str | None = None
) -> AsyncIterator[SseReader]:
    """An open event stream at ``url``."""
    if last_event_id is not None:
        headers = {**headers, "Last-Event-ID": last_event_id}
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=30)) as http,
        http.stream("GET", url, headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseReader(response)


@pytest.fixture
async def second_replica(service: ServiceUnderTest, settings: Settings) -> AsyncIterator[FastAPI]:
    """Another instance of the service on the same database, as a second replica would be."""
    application = service.create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def serve() -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[LiveServer]]:
    """``async with serve(app) as server``: the app on a real port, at ``server.url``."""
    return live


@pytest.fixture
def stream() -> Callable[..., contextlib.AbstractAsyncContextManager[SseReader]]:
    """``async with stream(url, headers, last_event_id) as events``: an open event stream."""
    return sse
