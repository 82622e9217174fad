from common.migrations import run_migrations
from customers.models import SCHEMA, metadata

run_migrations(SCHEMA, metadata)
