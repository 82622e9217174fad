"""matching's tables, all in schema "matching"."""

from sqlalchemy import MetaData
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

SCHEMA = "matching"
metadata = MetaData(schema=SCHEMA)


class Table(SQLModel, registry=registry(metadata=metadata)):
    """Base of matching's table models: they land in schema "matching" and nowhere else."""
