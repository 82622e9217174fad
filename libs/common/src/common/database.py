"""The service's database (its driver pool, ``common.sql``), where its URL comes from, and what a
database error means (SQLSTATEs, constraint names, a dead connection)."""

import asyncio
import traceback
from collections.abc import Iterator

from common.embedded import embedded_database_url
from common.settings import CommonSettings
from common.sql import DriverPool, Sql

UNIQUE_VIOLATION = "23505"
EXCLUSION_VIOLATION = "23P01"
RETRYABLE_STATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03"})  # shutting down, starting up
QUERY_CANCELED = "57014"  # statement_timeout reached, or a cancel request


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
    """A service's database: its driver pool, every connection's search_path the service's
    schema and its statement_timeout the configured bound (``common.sql``'s transactions).

    No ping on checkout (it would cost every request round trips of its own): a pooled
    connection that died (the server restarted) fails its first statement, and the middleware
    runs the request again unless that attempt had committed something
    (``is_stale_connection``).
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
        calls ``allow_bulk_statements`` gets ``bulk_statement_timeout_ms`` instead. The pool
        holds up to ``2 x pool_size`` connections, opened as needed."""
        self.schema = schema
        server_settings = {"search_path": schema, "statement_timeout": str(statement_timeout_ms)}
        self.bulk_statement_timeout_ms = bulk_statement_timeout_ms
        self.driver = DriverPool(url, server_settings, size=pool_size * 2)

    async def ping(self, within_seconds: float = 2.0) -> None:
        """Raise unless the database answers ``SELECT 1`` in time."""
        async with asyncio.timeout(within_seconds), self.driver.transaction() as transaction:
            await transaction.fetchval(_PING)

    async def dispose(self) -> None:
        await self.driver.close()


_PING = Sql.of("SELECT 1")


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and its causes (``raise ... from``)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.append(current.__cause__)


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
    """A pooled connection turned out dead (``common.sql.StaleConnection``)."""
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
