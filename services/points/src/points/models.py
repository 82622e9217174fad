"""points's tables, all in schema "points"."""

from sqlalchemy import MetaData
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

SCHEMA = "points"
metadata = MetaData(schema=SCHEMA)


class Table(SQLModel, registry=registry(metadata=metadata)):
    """Base of points's table models: they land in schema "points" and nowhere else."""
