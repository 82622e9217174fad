"""Pytest fixtures shared by every service's tests (enabled in the root ``conftest.py``).

A service's ``tests/conftest.py`` defines one fixture, ``service``, naming what is under test;
``app`` and ``client`` then give it a migrated, emptied schema in a real PostgreSQL.
"""

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from common.database import async_url
from common.embedded import start_embedded_postgres
from common.logging import flush_logs
from common.migrations import upgrade
from common.settings import CommonSettings
from common.testing import TEST_AUDIENCE, TEST_ISSUER, TokenFactory

_readouterr = pytest.CaptureFixture.readouterr


def _readouterr_after_the_logs(self: pytest.CaptureFixture[Any]) -> Any:
    """``capsys.readouterr()`` once the log writer thread has written what is queued."""
    flush_logs()
    return _readouterr(self)


pytest.CaptureFixture.readouterr = _readouterr_after_the_logs  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _logs_written_within_the_test() -> Iterator[None]:
    """A test's log lines are written while its output is captured, not into the next one's."""
    yield
    flush_logs()


@dataclass(frozen=True)
class ServiceUnderTest:
    """What a service's tests run: its schema name, its folder (for migrations), its factory."""

    name: str
    directory: Path | None
    create_app: Callable[..., FastAPI]
    settings_class: type[CommonSettings]


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """``TEST_DATABASE_URL`` when set, else a throwaway embedded server for this session."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield async_url(configured)
        return
    with tempfile.TemporaryDirectory(prefix="pgtest-") as folder:
        server = start_embedded_postgres(Path(folder) / "pg")
        try:
            yield async_url(server.get_uri())
        finally:
            server.cleanup()


async def _admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _fresh_database(server_url: str) -> AsyncIterator[str]:
    """A new empty database on the server, dropped when the iteration ends."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name)
    yield url.render_as_string(hide_password=False)
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh database for this test session, dropped at the end."""
    async for url in _fresh_database(postgres_server_url):
        yield url


@pytest.fixture(scope="module")
async def module_database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A database of the test module's own, for data that must not reach the session's: a dev
    server's deliberate failed logins from 127.0.0.1 would throttle the stack's logins."""
    async for url in _fresh_database(postgres_server_url):
        yield url


@pytest.fixture(scope="session")
async def admin_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def token_factory() -> TokenFactory:
    return TokenFactory()


_migrated: set[tuple[str, Path]] = set()


async def empty_schema(engine: AsyncEngine, schema: str) -> None:
    """Truncate every table of ``schema`` but Alembic's version table."""
    async with engine.begin() as connection:
        rows = await connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = :schema "
                "AND tablename <> 'alembic_version'"
            ),
            {"schema": schema},
        )
        tables = [f'"{schema}"."{name}"' for (name,) in rows]
        if tables:
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def service_database(
    service: ServiceUnderTest, database_url: str, admin_engine: AsyncEngine
) -> str:
    """The session's database with the service's schema migrated (once) and emptied (each test)."""
    if service.directory and (database_url, service.directory) not in _migrated:
        await asyncio.to_thread(upgrade, service.directory, database_url)
        _migrated.add((database_url, service.directory))
    await empty_schema(admin_engine, service.name)
    return database_url


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change the service's settings."""
    return {}


@pytest.fixture
def settings(
    service: ServiceUnderTest,
    service_database: str,
    token_factory: TokenFactory,
    settings_overrides: dict[str, Any],
) -> CommonSettings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": service_database,
        "auth_public_key": token_factory.keys.public_pem,
        "auth_issuer": TEST_ISSUER,
        "auth_audience": TEST_AUDIENCE,
        **settings_overrides,
    }
    return service.settings_class(**values)


@pytest.fixture
async def app(service: ServiceUnderTest, settings: CommonSettings) -> AsyncIterator[FastAPI]:
    """The service's app with its lifespan running."""
    application = service.create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
