"""The per-request objects the /matching/enrollments routes ask for."""

from typing import Annotated

from fastapi import Depends

from common.database import DbSession
from matching.dependencies import Hasher, MatchingSettings
from matching.enrollments.service import EnrollmentService


async def _enrollment_service(
    session: DbSession, hasher: Hasher, settings: MatchingSettings
) -> EnrollmentService:
    return EnrollmentService(
        session,
        hasher,
        batch_size=settings.upsert_batch_size,
        max_rows=settings.max_enrollments_per_request,
    )


Enrollments = Annotated[EnrollmentService, Depends(_enrollment_service)]
