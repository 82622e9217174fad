"""occupancy's tables, all in schema "occupancy"."""

from sqlalchemy import MetaData
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

SCHEMA = "occupancy"
metadata = MetaData(schema=SCHEMA)


class Table(SQLModel, registry=registry(metadata=metadata)):
    """Base of occupancy's table models: they land in schema "occupancy" and nowhere else."""
