from appointments.availability import models as availability_models
from appointments.bookings import models as bookings_models
from appointments.models import SCHEMA, metadata
from appointments.people import models as people_models
from common.migrations import run_migrations

# Importing the table modules registers their tables on ``metadata``.
TABLE_MODULES = (people_models, bookings_models, availability_models)
run_migrations(SCHEMA, metadata)
