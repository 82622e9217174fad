"""Table bases and column helpers: every service's tables live in its own schema.

A service's ``models.py`` declares its base in one line, and every table subclasses it::

    class Table(SQLModel, registry=schema_registry("points")):
        '''Base of the points tables: they land in schema "points" and nowhere else.'''
"""

from typing import Any

from sqlalchemy import Column, DateTime, MetaData, func
from sqlalchemy.orm import registry
from sqlmodel import Field


def schema_registry(schema: str) -> registry:
    """A registry whose metadata puts every table in ``schema`` (``Table.metadata`` for Alembic)."""
    return registry(metadata=MetaData(schema=schema))


def _timestamp() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def created_at_field() -> Any:
    """``created_at timestamptz NOT NULL DEFAULT now()``."""
    return _timestamp()


def updated_at_field() -> Any:
    """``updated_at timestamptz NOT NULL DEFAULT now()``; repositories set it on every change."""
    return _timestamp()
