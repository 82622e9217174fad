import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from common.testing import TokenFactory
from common.testing.checks import ServiceApi
from common.testing.plugin import ServiceUnderTest
from customers.config import SERVICE_DIR, Settings
from customers.main import create_app

# argon2's smallest cost: these tests are about behaviour; test_passwords checks the real cost.
FAST_HASHING = {"argon2_memory_kib": 8, "argon2_time_cost": 1}


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("customers", SERVICE_DIR, create_app, Settings)


@pytest.fixture
def fast_settings(token_factory: TokenFactory) -> dict[str, Any]:
    """Signs with the test key pair, so ``token_factory`` tokens are this service's tokens too."""
    return {"signing_keys": [token_factory.keys.private_pem], **FAST_HASHING}


@pytest.fixture
def settings_overrides(fast_settings: dict[str, Any]) -> dict[str, Any]:
    return fast_settings


@dataclass
class CustomersApi(ServiceApi):
    """Shortcuts for the HTTP calls most tests start with, and a look at the tables."""

    schema = "customers"
    app: FastAPI
    password: str = "violet-harbor-quilt-1987"
    other_password: str = "marble-orchid-lantern-204"

    async def signup(
        self, email: str, password: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        body = {"email": email, "password": password or self.password, **fields}
        response = await self.client.post("/auth/signup", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def login(self, email: str, password: str | None = None) -> dict[str, Any]:
        response = await self.client.post(
            "/auth/login", json={"email": email, "password": password or self.password}
        )
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    async def customer_with_tokens(self, email: str) -> dict[str, str]:
        """Sign up and log in; the ``Authorization`` header of the new customer."""
        await self.signup(email)
        return self.bearer(await self.login(email))

    async def request_reset(self, email: str) -> None:
        """Ask for a password reset and wait until the background worker has handled it."""
        response = await self.client.post("/auth/password-reset/request", json={"email": email})
        assert response.status_code == 202, response.text
        assert response.content == b""
        await self.app.state.password_resets.handled()

    async def reset_token_for(self, email: str) -> str:
        """Ask for a reset; the token the outbox holds for ``email`` then."""
        await self.request_reset(email)
        rows = await self.execute(
            "SELECT payload->>'token' AS token FROM customers.outbox"
            " WHERE recipient = lower(:email) ORDER BY id DESC LIMIT 1",
            email=email,
        )
        return str(rows[0].token)

    @staticmethod
    def bearer(tokens: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def api(client: httpx.AsyncClient, admin_engine: AsyncEngine, app: FastAPI) -> CustomersApi:
    return CustomersApi(client, admin_engine, app)


ADMIN_EMAIL = "zz-admin@example.com"  # sorts after every other address in these tests


@pytest.fixture
async def admin(api: CustomersApi, token_factory: TokenFactory) -> dict[str, str]:
    """Headers of an admin's account: admin-only routes check the account, not only the token."""
    await api.execute(
        "INSERT INTO customers.customers (customer_id, email, roles)"
        " VALUES ('admin-1', :email, '{admin}')",
        email=ADMIN_EMAIL,
    )
    return token_factory.auth("admin-1", ["admin"])


DEADLINE_SECONDS = 10
Condition = Callable[[], Awaitable[bool]]


async def poll_until(condition: Condition, deadline_seconds: float = DEADLINE_SECONDS) -> None:
    """Poll ``condition`` until it holds; fail when the deadline passes first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_seconds
    while not await condition():
        assert loop.time() < deadline, "the condition did not hold before the deadline"
        await asyncio.sleep(0.02)


@pytest.fixture
def eventually() -> Callable[[Condition], Awaitable[None]]:
    """``await eventually(condition)``: no fixed sleeps, a deadline instead."""
    return poll_until


@asynccontextmanager
async def serve_on_loopback(app: ASGIApp) -> AsyncIterator[str]:
    """uvicorn on a free loopback port in this event loop; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
def serve_over_http() -> Callable[[ASGIApp], AbstractAsyncContextManager[str]]:
    """``async with serve_over_http(app) as base_url``: the app over real HTTP (lifespan off)."""
    return serve_on_loopback
