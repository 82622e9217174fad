from appointments.models import SCHEMA, metadata
from common.migrations import run_migrations

run_migrations(SCHEMA, metadata)
