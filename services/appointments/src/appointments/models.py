"""appointments's tables, all in schema "appointments"; each area keeps its own in its models.py."""

from sqlmodel import SQLModel

from common.models import schema_registry

SCHEMA = "appointments"


class Table(SQLModel, registry=schema_registry(SCHEMA)):
    """Base of appointments's table models: they land in schema "appointments" and nowhere else."""


metadata = Table.metadata
