"""matching's tables, all in schema "matching"."""

from sqlmodel import SQLModel

from common.models import schema_registry

SCHEMA = "matching"


class Table(SQLModel, registry=schema_registry(SCHEMA)):
    """Base of matching's table models: they land in schema "matching" and nowhere else."""


metadata = Table.metadata
