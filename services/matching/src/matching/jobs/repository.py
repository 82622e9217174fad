"""All SQL of jobs: the job rows, their sealed chunks and their results."""

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, text, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.pagination import paginate
from matching.jobs.models import UNFINISHED, Job, JobChunk, JobResult

RESULTS_BATCH = 1000
"""Result rows read at a time by a stream over every result of a job."""


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, job: Job) -> None:
        self.session.add(job)
        await self.session.flush()

    async def add_chunk(self, chunk: JobChunk) -> None:
        connection = await self.session.connection()
        await connection.execute(insert(JobChunk), [chunk.model_dump()])

    async def owned(self, job_id: uuid.UUID, owner: str) -> Job | None:
        """The job when ``owner`` asked for it, else None (whether or not it exists)."""
        rows = await self.session.exec(select(Job).where(Job.id == job_id, Job.owner == owner))
        return rows.first()

    async def page(self, owner: str, *, limit: int, offset: int) -> tuple[list[Job], int]:
        """The owner's jobs, newest first."""
        statement = (
            select(Job).where(Job.owner == owner).order_by(col(Job.created_at).desc(), col(Job.id))
        )
        return await paginate(self.session, statement, limit=limit, offset=offset)

    async def delete_owned(self, job_id: uuid.UUID, owner: str) -> bool:
        """Delete the job (its chunks and results with it); False when the owner has none such.
        A job being worked on is deleted once its current chunk is done (its row is locked)."""
        connection = await self.session.connection()
        result = await connection.execute(
            delete(Job).where(col(Job.id) == job_id, col(Job.owner) == owner)
        )
        return bool(result.rowcount)

    async def claim(self) -> Job | None:
        """The oldest unfinished job no one else works on, locked for this transaction: two
        workers (in one process or two replicas) never work on one job at the same time."""
        rows = await self.session.exec(
            select(Job)
            .where(col(Job.status).in_(UNFINISHED))
            .order_by(col(Job.created_at), col(Job.id))
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        return rows.first()

    async def claim_one(self, job_id: uuid.UUID) -> Job | None:
        """This job, when unfinished, locked for this transaction (waiting for a worker's step)."""
        rows = await self.session.exec(
            select(Job).where(Job.id == job_id, col(Job.status).in_(UNFINISHED)).with_for_update()
        )
        return rows.first()

    async def unfinished(self) -> int:
        rows = await self.session.exec(
            select(func.count()).select_from(Job).where(col(Job.status).in_(UNFINISHED))
        )
        return rows.one()

    async def next_chunk(self, job_id: uuid.UUID) -> JobChunk | None:
        rows = await self.session.exec(
            select(JobChunk).where(JobChunk.job_id == job_id).order_by(col(JobChunk.number))
        )
        return rows.first()

    async def delete_chunks(self, job_id: uuid.UUID, number: int | None = None) -> None:
        """Delete one chunk of the job, or every chunk when ``number`` is None."""
        statement = delete(JobChunk).where(col(JobChunk.job_id) == job_id)
        if number is not None:
            statement = statement.where(col(JobChunk.number) == number)
        connection = await self.session.connection()
        await connection.execute(statement)

    async def add_results(
        self, job_id: uuid.UUID, first: int, results: Sequence[dict[str, Any]]
    ) -> None:
        if not results:
            return
        connection = await self.session.connection()
        await connection.execute(
            insert(JobResult),
            [
                {"job_id": job_id, "number": first + offset, "result": result}
                for offset, result in enumerate(results)
            ],
        )

    async def results(self, job_id: uuid.UUID, *, limit: int, offset: int) -> list[JobResult]:
        """Results ``offset`` to ``offset + limit - 1`` (a job's people are numbered densely)."""
        rows = await self.session.exec(
            select(JobResult)
            .where(
                JobResult.job_id == job_id,
                col(JobResult.number) >= offset,
                col(JobResult.number) < offset + limit,
            )
            .order_by(col(JobResult.number))
        )
        return list(rows.all())

    async def every_result(self, job_id: uuid.UUID) -> AsyncIterator[JobResult]:
        """Every result of the job in order, read a batch at a time."""
        after = -1
        while True:
            rows = await self.session.exec(
                select(JobResult)
                .where(JobResult.job_id == job_id, col(JobResult.number) > after)
                .order_by(col(JobResult.number))
                .limit(RESULTS_BATCH)
            )
            batch = list(rows.all())
            for row in batch:
                yield row
            if len(batch) < RESULTS_BATCH:
                return
            after = batch[-1].number

    async def snapshot(self) -> None:
        """Read what follows in this transaction from one snapshot (its first statement)."""
        connection = await self.session.connection()
        await connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))

    async def delete_results(self, job_id: uuid.UUID) -> None:
        connection = await self.session.connection()
        await connection.execute(delete(JobResult).where(col(JobResult.job_id) == job_id))

    async def record_failure(self, job_id: uuid.UUID) -> int:
        """Count one more failed attempt at the job; the failures so far (0: no such job)."""
        connection = await self.session.connection()
        result = await connection.execute(
            update(Job)
            .where(col(Job.id) == job_id)
            .values(failures=Job.failures + 1)
            .returning(col(Job.failures))
        )
        failures = result.scalar_one_or_none()
        return failures or 0

    async def delete_finished_before(self, moment: datetime) -> int:
        """Delete the jobs finished before ``moment``; how many."""
        connection = await self.session.connection()
        result = await connection.execute(delete(Job).where(col(Job.finished_at) < moment))
        return result.rowcount or 0
