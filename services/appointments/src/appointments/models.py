"""appointments's tables, all in schema "appointments"."""

from sqlalchemy import MetaData
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

SCHEMA = "appointments"
metadata = MetaData(schema=SCHEMA)


class Table(SQLModel, registry=registry(metadata=metadata)):
    """Base of appointments's table models: they land in schema "appointments" and nowhere else."""
