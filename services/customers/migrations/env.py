import customers.auth.models
import customers.records.models  # noqa: F401  (importing registers the tables in the metadata)
from common.migrations import run_migrations
from customers.models import SCHEMA, metadata

run_migrations(SCHEMA, metadata)
