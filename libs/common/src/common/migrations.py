"""Alembic per service: each service's ``migrations/env.py`` calls ``run_migrations``.

The version table lives in the service's schema, and autogenerate sees only that schema.
"""

import asyncio
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from common.database import async_url, resolve_database_url
from common.settings import CommonSettings


def alembic_config(service_dir: Path, database_url: str | None = None) -> Config:
    """The service's ``alembic.ini``, with the database URL carried as an attribute.

    The URL is not put in the ini's options: configparser would choke on ``%`` in a password.
    """
    config = Config(str(service_dir / "alembic.ini"))
    config.set_main_option("script_location", str(service_dir / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(service_dir: Path, database_url: str | None = None, revision: str = "head") -> None:
    """Migrate one service's schema (blocking: call it in a thread from async code)."""
    command.upgrade(alembic_config(service_dir, database_url), revision)


def _only_schema(schema: str) -> Any:
    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return type_ != "schema" or name == schema

    def include_object(
        obj: Any, name: str | None, type_: str, reflected: bool, compare: Any
    ) -> bool:
        if type_ == "table":
            return bool(obj.schema == schema)
        return True

    return include_name, include_object


def _ensure_schema(connection: Connection, schema: str) -> None:
    """Create the schema when missing; a role that owns an existing one needs no CREATE grant.

    ``CREATE SCHEMA IF NOT EXISTS`` is refused without CREATE on the database even when the
    schema exists, so a least-privilege role (deploy/postgres/init.sql) must not run it.
    """
    exists = connection.execute(
        text("SELECT 1 FROM pg_namespace WHERE nspname = :schema"), {"schema": schema}
    ).first()
    if exists is None:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))


def _run(connection: Connection, schema: str, metadata: MetaData) -> None:
    _ensure_schema(connection, schema)
    include_name, include_object = _only_schema(schema)
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=schema,
        include_schemas=True,
        include_name=include_name,
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str, schema: str, metadata: MetaData) -> None:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run, schema, metadata)
    finally:
        await engine.dispose()


def run_migrations(schema: str, metadata: MetaData) -> None:
    """Body of every service's ``env.py`` (online mode only: migrations run against a database)."""
    url = context.config.attributes.get("database_url") or resolve_database_url(CommonSettings())
    asyncio.run(_run_online(url, schema, metadata))
