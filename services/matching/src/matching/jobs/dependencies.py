"""The job service of a request."""

from typing import Annotated

from fastapi import Depends

from common.database import DbSession
from matching.dependencies import Clock, Hasher, MatchingSettings
from matching.jobs.service import JobLimits, JobService, sealer_of
from matching.probes.service import ProbeGuard, ProbeLimits


async def _job_service(
    session: DbSession, settings: MatchingSettings, hasher: Hasher, now: Clock
) -> JobService:
    guard = ProbeGuard(session, hasher, ProbeLimits.of(settings), now)
    return JobService(session, sealer_of(settings), JobLimits.of(settings), guard)


Jobs = Annotated[JobService, Depends(_job_service)]
