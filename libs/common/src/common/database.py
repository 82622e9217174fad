"""The service's database: its driver pool (``common.sql``, what requests run on), the ORM's engine
and session (matching's uploads and organizations), and what a database error means.

The ORM's session is one unit of work too: it commits when the endpoint returns and rolls back
when anything raises. Repositories ``flush()``; they never ``commit()``.
"""

import asyncio
import traceback
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import event, text
from sqlalchemy.ext import asyncio as sqlalchemy_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from common.context import note_commit
from common.embedded import embedded_database_url
from common.settings import CommonSettings
from common.sql import DriverPool, Sql

UNIQUE_VIOLATION = "23505"
EXCLUSION_VIOLATION = "23P01"
RETRYABLE_STATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03"})  # shutting down, starting up
QUERY_CANCELED = "57014"  # statement_timeout reached, or a cancel request
BULK_TIMEOUT = "bulk_statement_timeout_ms"


def async_url(url: str) -> str:
    """Point a plain ``postgresql://`` URL at the asyncpg driver."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain) :]
    return url


def resolve_database_url(settings: CommonSettings) -> str:
    """``DATABASE_URL`` when set, else the embedded server under ``DATA_DIR``."""
    return async_url(settings.database_url or embedded_database_url(settings.data_dir))


class Database:
    """One engine per service; every connection's search_path is the service's schema.

    ``hide_parameters``: an error's text never carries the statement's values (emails, names).
    No ping on checkout (it would cost every request round trips of its own): a pooled
    connection that died (the server restarted) fails its first statement, SQLAlchemy then
    invalidates the whole pool, and the middleware runs the request again unless that attempt
    had committed something (``is_stale_connection``).
    """

    def __init__(
        self,
        url: str,
        schema: str,
        *,
        pool_size: int = 5,
        statement_timeout_ms: int = 0,
        bulk_statement_timeout_ms: int = 0,
    ) -> None:
        """``statement_timeout_ms`` bounds every statement (0: no bound); a unit of work that
        calls ``allow_bulk_statements`` gets ``bulk_statement_timeout_ms`` instead."""
        self.schema = schema
        server_settings = {"search_path": schema, "statement_timeout": str(statement_timeout_ms)}
        # Looked up on the module at call time: when traces are on, OpenTelemetry wraps it there.
        self.engine: AsyncEngine = sqlalchemy_asyncio.create_async_engine(
            async_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            hide_parameters=True,
            connect_args={"server_settings": server_settings, "timeout": 5},
        )
        self.sessions = async_sessionmaker(
            self.engine,
            class_=AsyncSession,
            expire_on_commit=False,
            info={BULK_TIMEOUT: bulk_statement_timeout_ms},
        )
        event.listen(self.engine.sync_engine, "commit", _note_commit)
        self.bulk_statement_timeout_ms = bulk_statement_timeout_ms
        self.driver = DriverPool(url, server_settings, size=pool_size * 2)
        """The same database without the ORM: ``common.sql``'s transactions."""

    async def ping(self, within_seconds: float = 2.0) -> None:
        """Raise unless the database answers ``SELECT 1`` in time."""
        async with asyncio.timeout(within_seconds), self.driver.transaction() as transaction:
            await transaction.fetchval(_PING)

    async def dispose(self) -> None:
        await self.driver.close()
        await self.engine.dispose()


_PING = Sql.of("SELECT 1")


def _note_commit(_connection: object) -> None:
    note_commit()


async def _unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: committed when the endpoint returns, rolled back if it raises."""
    database: Database = request.app.state.db
    async with database.sessions() as session:
        yield session
        await session.commit()


DbSession = Annotated[AsyncSession, Depends(_unit_of_work, scope="function")]
"""The request's unit of work; ``scope="function"`` commits before the response is sent."""


async def end_transaction_early(session: AsyncSession) -> None:
    """Commit what the unit of work holds now and give its connection back to the pool.

    Only for a use case that must keep a change although the request then fails, or must not
    hold a pooled connection while it waits on something slow; the caller says which.
    """
    await session.commit()


async def allow_bulk_statements(session: AsyncSession) -> None:
    """Give the rest of this unit of work the longer bulk statement timeout (``SET LOCAL``: it
    ends with the transaction), for a use case that is bulk work by design (an upload, a batch)."""
    timeout_ms = session.info.get(BULK_TIMEOUT, 0)
    connection = await session.connection()
    await connection.execute(
        text("SELECT set_config('statement_timeout', :timeout, true)"),
        {"timeout": str(timeout_ms)},
    )


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, the driver error SQLAlchemy wraps (``orig``) and their causes."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [getattr(current, "orig", None), current.__cause__]


def sqlstate(error: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE of a database error, if it is one."""
    for cause in _causes(error):
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


def constraint_name(error: BaseException) -> str | None:
    """The name of the constraint a database error violated, if any."""
    for cause in _causes(error):
        name = getattr(cause, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None


def is_retryable(error: BaseException) -> bool:
    """A serialization failure or deadlock: the whole unit of work may simply run again."""
    return sqlstate(error) in RETRYABLE_STATES


def is_timed_out(error: BaseException) -> bool:
    """A statement ran past its statement_timeout (or was cancelled)."""
    return sqlstate(error) == QUERY_CANCELED


def is_stale_connection(error: BaseException) -> bool:
    """A pooled connection turned out dead (SQLAlchemy invalidated it, and the pool)."""
    return any(getattr(cause, "connection_invalidated", False) for cause in _causes(error))


def is_unavailable(error: BaseException) -> bool:
    """The database cannot be reached or is restarting (not a fault of the request)."""
    state = sqlstate(error)
    if state is not None:
        return state in UNAVAILABLE_STATES or state.startswith("08")
    return any(
        isinstance(cause, ConnectionError | TimeoutError)
        or type(cause).__name__ in {"ConnectionDoesNotExistError", "InterfaceError"}
        or (isinstance(cause, OSError) and _raised_by_driver(cause))
        for cause in _causes(error)
    )


def _raised_by_driver(error: BaseException) -> bool:
    """Raised inside asyncpg, such as the FileNotFoundError of a Unix socket gone with the server
    (the embedded PostgreSQL listens on one), not by the application's own file I/O."""
    return any(
        str(frame.f_globals.get("__name__", "")).startswith("asyncpg.")
        for frame, _ in traceback.walk_tb(error.__traceback__)
    )
