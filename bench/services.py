"""Real processes for benchmarks: a PostgreSQL, and services run by uvicorn on loopback ports."""

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from common.database import async_url
from common.embedded import start_embedded_postgres
from common.migrations import upgrade
from common.settings import CommonSettings
from common.testing.processes import free_port, wait_until_answering

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Database:
    url: str
    origin: str
    """Where it comes from, for the report."""


@contextmanager
def database() -> Iterator[Database]:
    """``DATABASE_URL`` when set, else an embedded PostgreSQL in a temporary folder."""
    configured = CommonSettings().database_url
    if configured:
        yield Database(configured, "DATABASE_URL")
        return
    with tempfile.TemporaryDirectory(prefix="bench-pg-") as folder:
        server = start_embedded_postgres(Path(folder) / "pg")
        try:
            yield Database(server.get_uri(), "embedded pgserver in a temporary folder")
        finally:
            server.cleanup()


@contextmanager
def scratch_database(server_url: str, name: str) -> Iterator[str]:
    """A new empty database ``name`` on the server of ``server_url`` for the block, dropped
    after it (one left over by an interrupted run is dropped first)."""
    url = make_url(async_url(server_url))
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(
        async_url(server_url), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def migrate(service: str, database_url: str) -> None:
    """Bring one service's schema to head."""
    upgrade(ROOT / "services" / service, database_url)


@dataclass(frozen=True)
class RunningService:
    name: str
    base_url: str
    log: Path
    pid: int
    """The uvicorn worker's process id (``taskset`` execs it), for its CPU accounting."""


@contextmanager
def run_service(
    name: str,
    *,
    env: Mapping[str, str],
    log: Path,
    command_prefix: Sequence[str] = (),
    ready_timeout: float = 90.0,
    app: str | None = None,
) -> Iterator[RunningService]:
    """One uvicorn worker serving ``<name>.main:create_app`` (or ``app``) as ``make stack`` does.

    The service's output is appended to ``log``; it is ready once ``/<name>/readyz`` answers 200.
    """
    port = free_port()
    command = [
        *command_prefix,
        sys.executable,
        "-m",
        "uvicorn",
        app or f"{name}.main:create_app",
        "--factory",
        f"--host={LOOPBACK}",
        f"--port={port}",
        "--workers=1",
    ]
    base_url = f"http://{LOOPBACK}:{port}"
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            wait_until_answering(f"{base_url}/{name}/readyz", process, ready_timeout, log=log)
            yield RunningService(name, base_url, log, process.pid)
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
