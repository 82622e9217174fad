"""``paginate``: one page of a SELECT and the number of rows it matches on all pages (the ORM's
session); ``paginate_sql`` the same on the driver."""

from typing import Any, TypeVar, TypeVarTuple, overload

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select, SelectOfScalar

from common.sql import Record, Sql, Transaction

RowT = TypeVar("RowT")
ColumnsT = TypeVarTuple("ColumnsT")


@overload
async def paginate(
    session: AsyncSession, statement: SelectOfScalar[RowT], *, limit: int, offset: int
) -> tuple[list[RowT], int]: ...


@overload
async def paginate(
    session: AsyncSession, statement: Select[*ColumnsT], *, limit: int, offset: int
) -> tuple[list[tuple[*ColumnsT]], int]: ...


async def paginate(
    session: AsyncSession, statement: Any, *, limit: int, offset: int
) -> tuple[list[Any], int]:
    """The rows of ``statement`` (ordered by the caller) from ``offset`` on, at most ``limit``,
    and how many rows it matches in all."""
    rows = await session.exec(statement.limit(limit).offset(offset))
    total = await session.exec(
        select(func.count()).select_from(statement.order_by(None).subquery())
    )
    return list(rows), int(total.one())


async def paginate_sql(
    transaction: Transaction,
    page: Sql,
    count: Sql,
    *,
    limit: int,
    offset: int,
    **parameters: Any,
) -> tuple[list[Record], int]:
    """The driver's form of ``paginate``: ``page`` (ordered, ending ``LIMIT :limit OFFSET
    :offset``) and ``count`` (how many rows it matches on all pages) with the same parameters."""
    rows = await transaction.fetch(page, limit=limit, offset=offset, **parameters)
    total = await transaction.fetchval(count, **parameters)
    return rows, int(total)
