"""The per-request objects the /matching/enrollments routes ask for."""

from typing import Annotated

from fastapi import Depends

from common.sql import DbTransaction
from matching.dependencies import Hasher, MatchingSettings
from matching.enrollments.service import EnrollmentService, UploadLimits


async def _enrollment_service(
    transaction: DbTransaction, hasher: Hasher, settings: MatchingSettings
) -> EnrollmentService:
    limits = UploadLimits(
        batch_size=settings.upsert_batch_size,
        max_rows=settings.max_enrollments_per_request,
        max_stored=settings.max_enrollments_per_organization,
    )
    return EnrollmentService(transaction, hasher, limits)


Enrollments = Annotated[EnrollmentService, Depends(_enrollment_service)]
