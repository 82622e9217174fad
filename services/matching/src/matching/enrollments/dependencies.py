"""The per-request objects the /matching/enrollments routes ask for."""

from typing import Annotated

from fastapi import Depends

from common.database import DbSession
from matching.dependencies import Hasher, MatchingSettings
from matching.enrollments.service import EnrollmentService, UploadLimits


async def _enrollment_service(
    session: DbSession, hasher: Hasher, settings: MatchingSettings
) -> EnrollmentService:
    limits = UploadLimits(
        batch_size=settings.upsert_batch_size,
        max_rows=settings.max_enrollments_per_request,
        max_stored=settings.max_enrollments_per_organization,
    )
    return EnrollmentService(session, hasher, limits)


Enrollments = Annotated[EnrollmentService, Depends(_enrollment_service)]
