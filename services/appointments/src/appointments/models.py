"""appointments's tables, all in schema "appointments"; each area keeps its own in its models.py."""

from common.models import table_base

SCHEMA = "appointments"
Table = table_base(SCHEMA)
metadata = Table.metadata
