"""Every statement has a timeout (a longer one for bulk work that opts in), a timed-out statement
is a 503 problem, and a request whose client leaves has its statement cancelled."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Message

from common.app import create_service_app
from common.middleware import CancelOnDisconnect
from common.settings import CommonSettings
from common.sql import DbTransaction, Sql
from common.testing.plugin import ServiceUnderTest

TIMEOUT_MS = 300
BULK_TIMEOUT_MS = 20_000
SLEEP_MARK = "slow-probe"
SLEEP = Sql.of(f"SELECT pg_sleep(:seconds) /* {SLEEP_MARK} */")


def slow_router() -> APIRouter:
    router = APIRouter(prefix="/slow")

    @router.post("/sleep")
    async def sleep(
        seconds: float, transaction: DbTransaction, bulk: bool = False
    ) -> dict[str, Any]:
        if bulk:
            await transaction.allow_bulk_statements()
        await transaction.execute(SLEEP, seconds=seconds)
        return {"slept": seconds}

    return router


def create_slow_app(settings: CommonSettings) -> FastAPI:
    app = create_service_app(name="slow", settings=settings, routers=[slow_router()])
    app.add_middleware(CancelOnDisconnect)
    return app


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("slow", None, create_slow_app, CommonSettings)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"db_statement_timeout_ms": TIMEOUT_MS, "db_bulk_statement_timeout_ms": BULK_TIMEOUT_MS}


async def test_a_statement_past_the_timeout_is_a_503_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/slow/sleep", params={"seconds": 2})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert "took too long" in response.json()["detail"]
    quick = await client.post("/slow/sleep", params={"seconds": 0.01})
    assert quick.status_code == 200


async def test_bulk_work_opts_into_the_longer_timeout(client: httpx.AsyncClient) -> None:
    response = await client.post("/slow/sleep", params={"seconds": 1, "bulk": True})
    assert response.status_code == 200, response.text
    after = await client.post("/slow/sleep", params={"seconds": 1})  # the next request: short
    assert after.status_code == 503


async def _until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll the database (it offers no event to wait on) until the condition holds."""
    while not await condition():  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def _sleeping(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        found = await connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE :mark "
                "AND pid <> pg_backend_pid()"
            ),
            {"mark": f"%pg_sleep%{SLEEP_MARK}%"},
        )
        return int(found.scalar_one())


async def _has_sleeper(engine: AsyncEngine, wanted: bool) -> bool:
    return (await _sleeping(engine) > 0) == wanted


async def test_a_client_that_leaves_cancels_its_statement(
    app: FastAPI, admin_engine: AsyncEngine
) -> None:
    left = asyncio.Event()
    messages: list[Message] = []

    async def receive() -> Message:
        if not messages:
            messages.append({"type": "http.request", "body": b"", "more_body": False})
            return messages[0]
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/slow/sleep",
        "raw_path": b"/slow/sleep",
        "query_string": b"seconds=15&bulk=true",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "root_path": "",
    }
    request = asyncio.create_task(app(scope, receive, send))
    async with asyncio.timeout(10):
        await _until(lambda: _has_sleeper(admin_engine, True))
        left.set()
        await request
        await _until(lambda: _has_sleeper(admin_engine, False))
    assert not any(message["type"] == "http.response.start" for message in messages)
