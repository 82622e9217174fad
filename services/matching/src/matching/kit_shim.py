"""TEMPORARY stand-ins for the kit's common.schemas / common.dependencies until it lands."""

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from common.database import Database
from common.errors import ProblemError, Unprocessable

T = TypeVar("T")


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("NUL bytes are not allowed")
        return value


class PageQuery(RequestBody):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def field_error(field: str, message: str, *, error_type: str = "value_error") -> Unprocessable:
    return Unprocessable(
        message, extra={"errors": [{"loc": ["body", field], "msg": message, "type": error_type}]}
    )


def error_summary(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in detail['loc']) or 'value'}: {detail['msg']}"
        for detail in error.errors()
    )


def settings_dependency(cls: type[T]) -> Callable[[Request], T]:
    def dependency(request: Request) -> T:
        settings: T = request.app.state.settings
        return settings

    return dependency


class UnsupportedMediaType(ProblemError):
    status = 415


async def _unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.db
    async with database.sessions() as session:
        try:
            yield session
        except Exception:
            await session.rollback()
            raise
        else:
            await session.commit()


DbSession = Annotated[AsyncSession, Depends(_unit_of_work)]
