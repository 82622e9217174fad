"""``paginate_sql``: one page of a SELECT and the number of rows it matches on all pages."""

from typing import Any

from common.sql import Record, Sql, Transaction


async def paginate_sql(
    transaction: Transaction,
    page: Sql,
    count: Sql,
    *,
    limit: int,
    offset: int,
    **parameters: Any,
) -> tuple[list[Record], int]:
    """``page`` (ordered, ending ``LIMIT :limit OFFSET :offset``) and ``count`` (how many rows it
    matches on all pages), run with the same parameters."""
    rows = await transaction.fetch(page, limit=limit, offset=offset, **parameters)
    total = await transaction.fetchval(count, **parameters)
    return rows, int(total)
