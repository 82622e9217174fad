from common.migrations import run_migrations
from matching.models import SCHEMA, metadata

run_migrations(SCHEMA, metadata)
