from common.migrations import run_migrations
from occupancy.models import SCHEMA, metadata

run_migrations(SCHEMA, metadata)
