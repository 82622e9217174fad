"""Async engine and session-per-request for one service's schema."""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from common.embedded import embedded_database_url
from common.settings import CommonSettings


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
    """One engine per service; every connection's search_path is the service's schema."""

    def __init__(self, url: str, schema: str, *, pool_size: int = 5) -> None:
        self.schema = schema
        self.engine: AsyncEngine = create_async_engine(
            async_url(url),
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"server_settings": {"search_path": schema}, "timeout": 5},
        )
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

    async def ping(self, within_seconds: float = 2.0) -> None:
        """Raise unless the database answers ``SELECT 1`` in time."""
        async with asyncio.timeout(within_seconds), self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.db
    async with database.sessions() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(_session)]
