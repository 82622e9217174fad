"""customers's tables, all in schema "customers"."""

from sqlalchemy import MetaData
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

SCHEMA = "customers"
metadata = MetaData(schema=SCHEMA)


class Table(SQLModel, registry=registry(metadata=metadata)):
    """Base of customers's table models: they land in schema "customers" and nowhere else."""
