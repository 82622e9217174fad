"""Rules of jobs: a cohort too large for one request is sealed in chunks, matched a chunk at a
time by a background worker, and kept for its owner until its retention ends."""

import logging
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from common.auth import Principal
from common.database import Database
from common.errors import Conflict, NotFound
from common.schemas import field_error
from common.sql import Transaction
from matching.audit.service import AuditService, Tally
from matching.config import Settings
from matching.jobs.answers import answer_chunk, report_json
from matching.jobs.models import Job, JobChunk, JobResult
from matching.jobs.repository import JobRepository
from matching.jobs.sealing import Sealer
from matching.matches.service import matching_service
from matching.probes.service import JobStepGuard, ProbeGuard

logger = logging.getLogger(__name__)
NOT_YOURS = "You have no job with this id"


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class JobLimits:
    max_people: int
    chunk_size: int
    retention: timedelta

    @classmethod
    def of(cls, settings: Settings) -> "JobLimits":
        return cls(
            settings.max_people_per_job,
            settings.job_chunk_size,
            timedelta(seconds=settings.job_retention_seconds),
        )


def sealer_of(settings: Settings) -> Sealer:
    return _sealer(settings.ssn_key_bytes())


@lru_cache(maxsize=4)
def _sealer(secret: bytes) -> Sealer:
    """One per key: every request asks for the jobs' service, most never seal anything."""
    return Sealer(secret)


class JobService:
    """What an owner does with jobs: submit a cohort, follow it, read and delete its results."""

    def __init__(
        self, transaction: Transaction, sealer: Sealer, limits: JobLimits, guard: ProbeGuard
    ) -> None:
        self.jobs = JobRepository(transaction)
        self.sealer = sealer
        self.limits = limits
        self.guard = guard

    async def submit(self, kind: str, caller: Principal, people: AsyncIterable[object]) -> Job:
        """A queued job of every person in ``people``, sealed a chunk at a time as they come.
        In the caller's unit of work: a cohort refused halfway stores nothing."""
        job = Job(
            id=uuid.uuid4(),
            owner=caller.subject,
            owner_roles=",".join(sorted(caller.roles)),
            kind=kind,
            status="queued",
            total=0,
            created_at=now(),
        )
        await self.jobs.add(job)
        chunk: list[object] = []
        async for person in people:
            if job.total >= self.limits.max_people:
                raise field_error("people", f"at most {self.limits.max_people} people per job")
            chunk.append(person)
            job.total += 1
            if len(chunk) == self.limits.chunk_size:
                await self._seal(job, chunk)
                chunk = []
        if chunk:
            await self._seal(job, chunk)
        # The whole cohort counts against the owner's budget now (429 or 422 stores nothing).
        await self.guard.charge(caller.subject, job.total)
        await self.jobs.save(job)
        return job

    async def _seal(self, job: Job, people: list[object]) -> None:
        number = (job.total - 1) // self.limits.chunk_size
        await self.jobs.add_chunk(
            JobChunk(
                job_id=job.id,
                number=number,
                first_person=job.total - len(people),
                people=len(people),
                sealed=self.sealer.seal(job.id, number, people),
            )
        )

    async def owned(self, job_id: uuid.UUID, caller: Principal) -> Job:
        """The caller's job; NotFound for anyone else's, as for one that does not exist."""
        job = await self.jobs.owned(job_id, caller.subject)
        if job is None:
            raise NotFound(NOT_YOURS)
        return job

    async def page(self, caller: Principal, *, limit: int, offset: int) -> tuple[list[Job], int]:
        return await self.jobs.page(caller.subject, limit=limit, offset=offset)

    async def _done_matches(self, job_id: uuid.UUID, caller: Principal) -> Job:
        job = await self.owned(job_id, caller)
        if job.kind != "matches":
            raise Conflict("An outcome report job has no per-person results; its report is the job")
        if job.status != "done":
            raise Conflict(f"The job is {job.status}; its results come when it is done")
        return job

    async def results(
        self, job_id: uuid.UUID, caller: Principal, *, limit: int, offset: int
    ) -> tuple[Job, list[JobResult]]:
        job = await self._done_matches(job_id, caller)
        return job, await self.jobs.results(job.id, limit=limit, offset=offset)

    async def downloadable(self, job_id: uuid.UUID, caller: Principal) -> Job:
        """The caller's done matches job, whose results ``stream_results`` reads."""
        return await self._done_matches(job_id, caller)

    async def delete(self, job_id: uuid.UUID, caller: Principal) -> None:
        if not await self.jobs.delete_owned(job_id, caller.subject):
            raise NotFound(NOT_YOURS)

    def expires_at(self, job: Job) -> datetime | None:
        return job.finished_at + self.limits.retention if job.finished_at else None


async def stream_results(database: Database, job_id: uuid.UUID) -> AsyncIterator[JobResult]:
    """Every result of a job in order, from one snapshot in a transaction of its own: the stream
    outlives the request's unit of work, and a job deleted meanwhile is still read whole."""
    async with database.driver.transaction() as transaction:
        jobs = JobRepository(transaction)
        await jobs.snapshot()
        async for row in jobs.every_result(job_id):
            yield row


def owner_of(job: Job) -> Principal:
    """The job's owner as they asked (the probe guard and the audit log count by them)."""
    return Principal(subject=job.owner, roles=frozenset(job.owner_roles.split(",")))


class JobRunner:
    """One step of the worker: the next chunk of the oldest job no other worker holds."""

    def __init__(self, transaction: Transaction, settings: Settings) -> None:
        self.transaction = transaction
        self.settings = settings
        self.jobs = JobRepository(transaction)
        self.sealer = sealer_of(settings)
        self.matching = matching_service(transaction, settings, guard=JobStepGuard)

    async def claim(self) -> Job | None:
        """The oldest unfinished job no other worker holds, locked for this unit of work."""
        return await self.jobs.claim()

    async def step(self, job: Job) -> None:
        """Match the claimed job's next chunk, finishing the job after its last."""
        if job.status == "queued":
            job.status, job.started_at = "running", now()
        chunk = await self.jobs.next_chunk(job.id)
        if chunk is not None:
            await self._match(job, chunk)
        if job.done >= job.total:
            await self._finish(job)
        await self.jobs.save(job)

    async def _match(self, job: Job, chunk: JobChunk) -> None:
        people = self.sealer.open(job.id, chunk.number, chunk.sealed)
        results, counts = await answer_chunk(self.matching, job.kind, owner_of(job), people)
        await self.jobs.add_results(job.id, chunk.first_person, results)
        await self.jobs.delete_chunks(job.id, chunk.number)
        job.done += chunk.people
        job.matched += counts.matched
        job.complete_matches += counts.complete_matches
        job.partial_matches += counts.partial_matches
        job.probes_refused += counts.probes_refused

    async def _finish(self, job: Job) -> None:
        """Done: the report of a report job (its per-person rows then deleted), and the audit
        row of the whole cohort, as one request of that size would have."""
        if job.kind == "outcome_report":
            stored = [row.result async for row in self.jobs.every_result(job.id)]
            job.report = report_json(stored, self.matching.rules)
            await self.jobs.delete_results(job.id)
        job.status, job.finished_at = "done", now()
        tally = Tally(
            job.total, job.matched, job.complete_matches, job.partial_matches, job.probes_refused
        )
        await AuditService(self.transaction).record(owner_of(job), job.kind, tally)
        logger.info("job done", extra={"job": str(job.id), "people": job.total})

    async def record_failure(self, job_id: uuid.UUID, reason: str) -> None:
        """Count a failed step; after ``job_max_failures`` the job fails for good, its input and
        results deleted (nothing of it is shown)."""
        failures = await self.jobs.record_failure(job_id)
        if failures < self.settings.job_max_failures:
            return
        job = await self.jobs.claim_one(job_id)
        if job is None:
            return
        await self.jobs.delete_chunks(job_id)
        await self.jobs.delete_results(job_id)
        job.status, job.finished_at, job.error = "failed", now(), reason
        await self.jobs.save(job)

    async def unfinished(self) -> int:
        return await self.jobs.unfinished()

    async def delete_expired(self) -> int:
        retention = timedelta(seconds=self.settings.job_retention_seconds)
        return await self.jobs.delete_finished_before(now() - retention)
