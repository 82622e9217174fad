"""A database that cannot be reached is ``unavailable`` (503), whatever way the driver says so."""

import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from common.database import is_unavailable


async def test_a_unix_socket_gone_with_the_server_is_unavailable() -> None:
    """The embedded PostgreSQL listens on a Unix socket, which disappears when it stops."""
    folder = tempfile.mkdtemp(prefix="no-postgres-")
    engine = create_async_engine(f"postgresql+asyncpg://postgres@/postgres?host={folder}")
    with pytest.raises(FileNotFoundError) as raised:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    await engine.dispose()
    assert is_unavailable(raised.value)


def test_the_applications_own_missing_file_is_not_unavailable() -> None:
    with pytest.raises(FileNotFoundError) as raised:
        Path("/no/such/file").read_text()
    assert not is_unavailable(raised.value)
