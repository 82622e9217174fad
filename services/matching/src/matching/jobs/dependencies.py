"""The job service of a request."""

from typing import Annotated

from fastapi import Depends

from common.database import DbSession
from matching.dependencies import MatchingSettings
from matching.jobs.service import JobLimits, JobService, sealer_of


async def _job_service(session: DbSession, settings: MatchingSettings) -> JobService:
    return JobService(session, sealer_of(settings), JobLimits.of(settings))


Jobs = Annotated[JobService, Depends(_job_service)]
