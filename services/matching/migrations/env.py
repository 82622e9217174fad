from common.migrations import run_migrations
from matching.audit import models as audit_models
from matching.enrollments import models as enrollment_models
from matching.jobs import models as job_models
from matching.linkage import models as linkage_models
from matching.models import SCHEMA, metadata
from matching.organizations import models as organization_models
from matching.probes import models as probe_models

# Imported for their tables: autogenerate compares the database with everything in ``metadata``.
del audit_models, enrollment_models, job_models, linkage_models, organization_models, probe_models
run_migrations(SCHEMA, metadata)
