"""Every service's migrations: own schema, own version table, repeatable, blind to other schemas."""

import asyncio
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from common.migrations import alembic_config, upgrade

ROOT = Path(__file__).resolve().parents[1]
SERVICES = sorted(
    path.name for path in (ROOT / "services").iterdir() if (path / "alembic.ini").exists()
)


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_keep_their_version_table_in_their_own_schema(
    service: str, database_url: str, admin_engine: AsyncEngine
) -> None:
    for _ in range(2):  # a second upgrade to head changes nothing
        await asyncio.to_thread(upgrade, ROOT / "services" / service, database_url)
    async with admin_engine.connect() as connection:
        version_schemas = (
            (
                await connection.execute(
                    text(
                        "SELECT table_schema FROM information_schema.tables"
                        " WHERE table_name = 'alembic_version'"
                    )
                )
            )
            .scalars()
            .all()
        )
        heads = (
            await connection.execute(text(f'SELECT count(*) FROM "{service}".alembic_version'))
        ).scalar()
    assert service in version_schemas
    assert "public" not in version_schemas
    assert heads == 1


@pytest.mark.parametrize("service", SERVICES)
async def test_models_and_migrations_agree_and_ignore_other_schemas(
    service: str, database_url: str
) -> None:
    """Autogenerate finds nothing to do: no model lacks a migration, no other schema leaks in."""
    for name in SERVICES:  # every schema exists, so a leak would show as tables to drop
        await asyncio.to_thread(upgrade, ROOT / "services" / name, database_url)
    config = alembic_config(ROOT / "services" / service, database_url)
    await asyncio.to_thread(command.check, config)
