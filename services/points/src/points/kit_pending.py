"""TEMPORARY stand-ins for the platform kit (issue 7) until its "kit:" commits land on main.

Same names and behaviour as /work/wt/KIT-CONTRACT.md; deleted at the merge, imports then point
at common.
"""

from collections.abc import AsyncIterator
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from common.database import Database
from common.errors import Unprocessable


async def _unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.db
    async with database.sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


DbSession = Annotated[AsyncSession, Depends(_unit_of_work)]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageQuery(RequestBody):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def field_error(field: str, message: str, *, error_type: str = "value_error") -> Unprocessable:
    return Unprocessable(
        message, extra={"errors": [{"loc": ["body", field], "msg": message, "type": error_type}]}
    )
