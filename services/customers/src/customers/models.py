"""customers's tables, all in schema "customers"."""

from sqlmodel import SQLModel

from common.models import schema_registry

SCHEMA = "customers"


class Table(SQLModel, registry=schema_registry(SCHEMA)):
    """Base of customers's table models: they land in schema "customers" and nowhere else."""


metadata = Table.metadata
