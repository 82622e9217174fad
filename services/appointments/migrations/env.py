from common.migrations import run_migrations
from appointments.models import SCHEMA, metadata

run_migrations(SCHEMA, metadata)
