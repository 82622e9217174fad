"""The request's unit of work on a driver connection: SQL straight to asyncpg.

Every route's database work is a ``DbTransaction``: its statements go to an asyncpg connection
with no ORM, no SQLAlchemy execution layer and no greenlet in between (SQLModel's session cost a
request about as much as its whole database work; SQLModel still defines the tables and the
migrations). It begins at the first statement (nothing is sent for a request that runs none),
and ends with the answer, which common's middleware sees: a success (status below 400) commits
before the response is sent, an error answer or an exception rolls back.

Statements are ``Sql`` constants: SQL with ``:name`` parameters, compiled once into asyncpg's
``$n`` form by SQLAlchemy's compiler. Errors keep PostgreSQL's SQLSTATE and constraint name, so
``common.database``'s predicates, the middleware's retries and the constraint problems read
them. A pooled connection found dead is ``StaleConnection``: the middleware runs the request
again, unless its COMMIT had been sent.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeAlias

import asyncpg
import asyncpg.pool
from fastapi import Depends, Request
from sqlalchemy import Executable, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url

from common.context import current_request, note_commit

statement_spans: Callable[[str], AbstractContextManager[None]] | None = None
"""A span per statement (given its text), installed by ``common.tracing`` when traces are on."""
_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]
Record = asyncpg.Record
Connection: TypeAlias = "asyncpg.pool.PoolConnectionProxy[Record]"


@dataclass(frozen=True)
class Sql:
    """A statement compiled once: asyncpg's text and the parameter names in ``$n`` order."""

    text: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Values a Core statement carries itself (``column == "literal"``)."""

    @classmethod
    def of(cls, statement: str | Executable) -> "Sql":
        """``statement``: SQL with ``:name`` parameters, or a Core statement."""
        clause = text(statement) if isinstance(statement, str) else statement
        compiled = clause.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
        names = tuple(compiled.positiontup or ())
        defaults = {name: value for name, value in compiled.params.items() if value is not None}
        return cls(str(compiled), names, defaults)

    def arguments(self, parameters: Mapping[str, Any]) -> list[Any]:
        """The values in ``$n`` order; a missing one is a KeyError naming it."""
        given = {**self.defaults, **parameters}
        return [given[name] for name in self.names]


class RowUpdate:
    """``UPDATE`` statements of a table's row, one compiled per set of columns it changes (and
    ``updated_at``): column names come from ``columns`` only, never from outside, and every
    value is bound."""

    def __init__(self, table: str, *, key: str, columns: Iterable[str], returning: str) -> None:
        self.table, self.key, self.returning = table, key, returning
        self.columns = frozenset(columns)
        self._compiled: dict[tuple[str, ...], Sql] = {}

    def of(self, changed: Iterable[str]) -> Sql:
        """The statement setting ``changed`` (parameters: those columns and ``key``)."""
        chosen = tuple(sorted(changed))
        statement = self._compiled.get(chosen)
        if statement is None:
            if not self.columns.issuperset(chosen):
                raise ValueError(f"{self.table} cannot update {sorted(set(chosen) - self.columns)}")
            assignments = "".join(f"{column} = :{column}, " for column in chosen)
            statement = self._compiled[chosen] = Sql.of(
                f"UPDATE {self.table} SET {assignments}updated_at = now() "  # noqa: S608 (names are ours)
                f"WHERE {self.key} = :{self.key} RETURNING {self.returning}"
            )
        return statement


class StaleConnection(Exception):
    """A pooled connection was dead when the request used it (the server restarted)."""

    connection_invalidated = True  # what common.database.is_stale_connection looks for


class DriverPool:
    """The asyncpg pool of one service: opened at first use, the schema as search_path."""

    def __init__(self, url: str, server_settings: Mapping[str, str], size: int) -> None:
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        """The database's plain asyncpg URL, for a connection of its own (occupancy's LISTEN)."""
        self._server_settings = dict(server_settings)
        self._size = size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self.dsn,
                        min_size=0,
                        max_size=self._size,
                        server_settings=self._server_settings,
                        timeout=5,
                        init=_decode_json,
                        reset=_no_reset_query,
                    )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator["OwnStatements"]:
        """One pooled connection for statements that each commit on their own; a connection
        that fails while held is closed, not pooled again (it may hold a session lock)."""
        pool = await self.pool()
        async with pool.acquire() as connection:
            try:
                yield OwnStatements(connection)
            except BaseException:
                connection.terminate()
                raise

    @asynccontextmanager
    async def transaction(self, bulk_timeout_ms: int = 0) -> AsyncIterator["Transaction"]:
        """A unit of work: committed when the block ends, rolled back when it raises."""
        transaction = Transaction(self, bulk_timeout_ms)
        try:
            yield transaction
        except BaseException:
            await transaction.end(commit=False)
            raise
        await transaction.end(commit=True)


async def _decode_json(connection: asyncpg.Connection) -> None:
    """json and jsonb as Python values both ways, as the ORM's JSON columns are."""
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _no_reset_query(_connection: asyncpg.Connection) -> None:
    """Send nothing when a connection goes back to the pool: asyncpg itself still rolls back a
    transaction left open, and requests change no session state (only ``SET LOCAL`` and
    transaction-scoped locks), so its default ``RESET ALL``, ``UNLISTEN *`` and advisory unlock
    would be one more round trip per request for nothing."""


class Statements:
    """The ways to run an ``Sql`` statement, on the connection a subclass provides; each
    statement a span of its own when traces are on."""

    async def fetch(self, statement: Sql, **parameters: Any) -> list[Record]:
        rows: list[Record] = await self._run("fetch", statement, parameters)
        return rows

    async def fetchrow(self, statement: Sql, **parameters: Any) -> Record | None:
        row: Record | None = await self._run("fetchrow", statement, parameters)
        return row

    async def fetchone(self, statement: Sql, **parameters: Any) -> Record:
        """The row of a statement that always returns one (an INSERT ... RETURNING, say)."""
        row = await self.fetchrow(statement, **parameters)
        if row is None:
            raise LookupError("the statement returned no row")
        return row

    async def fetchval(self, statement: Sql, **parameters: Any) -> Any:
        """The first column of the first row (None when there is no row)."""
        return await self._run("fetchval", statement, parameters)

    async def execute(self, statement: Sql, **parameters: Any) -> str:
        """Run a statement; PostgreSQL's status line (``DELETE 3``)."""
        status: str = await self._run("execute", statement, parameters)
        return status

    async def _run(self, method: str, statement: Sql, parameters: Mapping[str, Any]) -> Any:
        connection = await self._connection_for_statement()
        call = getattr(connection, method)(statement.text, *statement.arguments(parameters))
        if statement_spans is None:
            return await self._guarded(call)
        with statement_spans(statement.text):
            return await self._guarded(call)

    async def _connection_for_statement(self) -> Connection:
        raise NotImplementedError

    async def _guarded(self, operation: Any) -> Any:
        return await operation


class OwnStatements(Statements):
    """Statements on one pooled connection held for a while, in no transaction: each commits
    on its own, and a session advisory lock stays with the connection until it is let go
    (occupancy's exporter). ``DriverPool.connection()`` gives one."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    async def _connection_for_statement(self) -> Connection:
        return self.connection


class Transaction(Statements):
    """One unit of work on one pooled driver connection, taken at its first statement."""

    def __init__(self, pool: DriverPool, bulk_timeout_ms: int) -> None:
        self._pool = pool
        self._bulk_timeout_ms = bulk_timeout_ms
        self._connection: Connection | None = None
        self._transaction: Any = None  # asyncpg's Transaction, once begun
        self._from: asyncpg.Pool | None = None
        self._ended = False

    async def allow_bulk_statements(self) -> None:
        """The bulk statement timeout for the rest of this unit of work (``SET LOCAL``)."""
        await self.execute(_BULK_TIMEOUT, timeout=str(self._bulk_timeout_ms))

    async def _connection_for_statement(self) -> Connection:
        if self._ended:  # a statement after the answer started (a streamed body, say)
            raise RuntimeError("this unit of work has ended; nothing would commit it")
        if self._connection is None:
            self._from = await self._pool.pool()
            connection = await self._from.acquire()
            self._connection = connection
            transaction = connection.transaction()
            await self._guarded(transaction.start())
            self._transaction = transaction
        return self._connection

    async def _guarded(self, operation: Any) -> Any:
        """Await a driver call; a connection that turns out dead is a StaleConnection."""
        try:
            return await operation
        except asyncpg.PostgresError as exc:  # the server's answer, or its last words
            if isinstance(exc, asyncpg.PostgresConnectionError) or self._closed():
                raise StaleConnection("a pooled database connection was dead") from exc
            raise
        except (asyncpg.InterfaceError, asyncpg.InternalClientError, OSError) as exc:
            # The connection is in no state to be used again (a server that ended it while it
            # sat in the pool shows up so): it is closed, not pooled again.
            if self._connection is not None and not self._closed():
                self._connection.terminate()
            raise StaleConnection("a pooled database connection was dead") from exc

    def _closed(self) -> bool:
        return self._connection is None or _is_closed(self._connection)

    async def end(self, *, commit: bool) -> None:
        """Commit (or roll back) and give the connection back; nothing when nothing began."""
        self._ended = True
        connection, pool = self._connection, self._from
        if connection is None or pool is None:
            return
        try:
            if self._transaction is not None and not _is_closed(connection):
                if commit:
                    note_commit()
                    await self._guarded(self._transaction.commit())
                else:
                    await _rolled_back(connection, self._transaction)
        finally:
            self._connection = self._transaction = None
            await pool.release(connection)


def _is_closed(connection: Connection) -> bool:
    try:
        return connection.is_closed()
    except asyncpg.InterfaceError:  # the pool took it back already: it saw it close
        return True


async def _rolled_back(connection: Connection, transaction: Any) -> None:
    """Roll back; a connection that cannot even do that is closed, not pooled again."""
    try:
        await transaction.rollback()
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        connection.terminate()


_BULK_TIMEOUT = Sql.of("SELECT set_config('statement_timeout', :timeout, true)")


async def _request_transaction(request: Request) -> Transaction:
    """The request's unit of work on the driver (see the module's docstring). Not a generator
    dependency (FastAPI's exit stacks cost a request more than the rest of its dependencies):
    common's middleware ends it with the answer, committed as a success starts (status below
    400), rolled back for an error answer or an exception."""
    context = current_request()
    if context is None:
        raise RuntimeError("DbTransaction needs common's RequestContextMiddleware")
    database = request.app.state.db
    transaction = Transaction(database.driver, database.bulk_statement_timeout_ms)
    context.work = transaction
    return transaction


DbTransaction = Annotated[Transaction, Depends(_request_transaction)]
"""The request's driver transaction, committed before the response is sent."""
