"""The driver's statements as spans, when traces are on: what common.tracing's SQLAlchemy
instrumentation records for the ORM's session (a client span named by the statement's first
word, ``db.system`` and ``db.statement``, never the values), for ``common.sql``'s transactions.

It belongs in common (common.sql knows its statements; points runs on the driver too and has
no SQL spans); it sits here until common records them itself. OpenTelemetry's asyncpg
instrumentation would do it, but no release of it matches the OpenTelemetry the workspace locks.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from common.sql import Record, Sql, Transaction


class TracedTransaction(Transaction):
    """The request's driver transaction, each statement in a span of its own.

    A proxy: every public method is the wrapped transaction's, so nothing of the base's state is
    used (its ``__init__`` is not run)."""

    def __init__(self, inner: Transaction) -> None:
        from opentelemetry import trace

        self._inner = inner
        self._tracer = trace.get_tracer(__name__)

    async def fetch(self, statement: Sql, **parameters: Any) -> list[Record]:
        with self._span(statement):
            return await self._inner.fetch(statement, **parameters)

    async def fetchrow(self, statement: Sql, **parameters: Any) -> Record | None:
        with self._span(statement):
            return await self._inner.fetchrow(statement, **parameters)

    async def fetchval(self, statement: Sql, **parameters: Any) -> Any:
        with self._span(statement):
            return await self._inner.fetchval(statement, **parameters)

    async def execute(self, statement: Sql, **parameters: Any) -> str:
        with self._span(statement):
            return await self._inner.execute(statement, **parameters)

    async def allow_bulk_statements(self) -> None:
        await self._inner.allow_bulk_statements()

    async def end(self, *, commit: bool) -> None:
        await self._inner.end(commit=commit)

    @contextmanager
    def _span(self, statement: Sql) -> Iterator[None]:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        words = statement.text.split(None, 1)
        with self._tracer.start_as_current_span(
            words[0] if words else "postgresql",
            kind=SpanKind.CLIENT,
            attributes={"db.system": "postgresql", "db.statement": statement.text},
            # an error's text may quote a value (a key the constraint refused): its type only
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield
            except Exception as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise
