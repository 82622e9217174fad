"""``paginate``: one page of a SELECT and the number of rows it matches on all pages."""

from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

RowT = TypeVar("RowT")


async def paginate(
    session: AsyncSession, statement: SelectOfScalar[RowT], *, limit: int, offset: int
) -> tuple[list[RowT], int]:
    """The rows of ``statement`` (ordered by the caller) from ``offset`` on, at most ``limit``,
    and how many rows it matches in all."""
    rows = await session.exec(statement.limit(limit).offset(offset))
    total = await session.exec(_count_of(statement))
    return list(rows), int(total.one())


def _count_of(statement: SelectOfScalar[Any]) -> SelectOfScalar[int]:
    return select(func.count()).select_from(statement.order_by(None).subquery())
