"""Assertions every service's tests make: a problem+json answer, rows counted in a schema."""

from typing import Any

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
