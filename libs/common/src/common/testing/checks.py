"""What every service's tests share: a problem+json answer, rows counted or read in a schema,
and ``ServiceApi``, the base of each service's ``api`` fixture."""

from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The body of a response that must be a problem+json with ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def count_rows(
    engine: AsyncEngine, schema: str, table: str, where: str = "true", **params: Any
) -> int:
    """Rows of ``schema.table`` matching ``where`` (a test's own SQL, never user input)."""
    async with engine.connect() as connection:
        result = await connection.execute(
            text(f"SELECT count(*) FROM {schema}.{table} WHERE {where}"),  # noqa: S608
            params,
        )
        return int(result.scalar_one())


@dataclass
class ServiceApi:
    """Base of a service's test helper: its client, the admin engine, and its schema's rows.

    A service's conftest subclasses it with ``schema = "<name>"`` and its own shortcuts.
    """

    client: httpx.AsyncClient
    engine: AsyncEngine
    schema: ClassVar[str]

    @staticmethod
    def problem(response: httpx.Response, status: int) -> dict[str, Any]:
        """The body of a problem+json response with this status."""
        return assert_problem(response, status)

    async def count(self, table: str, where: str = "true", **params: Any) -> int:
        return await count_rows(self.engine, self.schema, table, where, **params)

    async def execute(self, statement: str, **params: Any) -> list[Any]:
        """Run a test's own SQL (committed); the rows it returns, if any."""
        async with self.engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []
