from common.migrations import run_migrations
from points.models import SCHEMA, metadata

run_migrations(SCHEMA, metadata)
