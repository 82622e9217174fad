"""The job service of a request."""

from typing import Annotated

from fastapi import Depends

from common.sql import DbTransaction
from matching.dependencies import Clock, Hasher, MatchingSettings
from matching.jobs.service import JobLimits, JobService, sealer_of
from matching.probes.service import ProbeGuard, ProbeLimits


async def _job_service(
    transaction: DbTransaction, settings: MatchingSettings, hasher: Hasher, now: Clock
) -> JobService:
    guard = ProbeGuard(transaction, hasher, ProbeLimits.of(settings), now)
    return JobService(transaction, sealer_of(settings), JobLimits.of(settings), guard)


Jobs = Annotated[JobService, Depends(_job_service)]
