"""The job worker inside each replica's process: it runs while the app serves (lifespan).

Each step is one transaction that claims a job with ``FOR UPDATE SKIP LOCKED``, matches one
chunk, stores its results and progress, and commits. A replica that stops mid-step loses only
that step's transaction: the chunk is still there, and the next worker to claim the job (in this
replica after a restart, or in another) goes on from it. So an interrupted job is resumed, never
lost; a step that keeps failing (an error, not a restart) fails the job after
``MATCHING_JOB_MAX_FAILURES`` attempts.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

from common.database import Database
from common.sql import Transaction
from common.tasks import periodically
from matching.config import Settings
from matching.jobs.service import JobRunner

logger = logging.getLogger(__name__)
FAILED_STEP = "A step of this job failed repeatedly; ask again, and tell the operators if it fails"


class JobWorker:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings

    def _transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A unit of work of the worker's (a step matches a chunk: bulk statements allowed)."""
        database = self.database
        return database.driver.transaction(database.bulk_statement_timeout_ms)

    async def step(self) -> bool:
        """Run one step of some job; False when no job waits."""
        claimed: list[uuid.UUID] = []
        try:
            async with self._transaction() as transaction:
                runner = JobRunner(transaction, self.settings)
                job = await runner.claim()
                if job is None:
                    return False
                claimed.append(job.id)
                await runner.step(job)
        except Exception as exc:
            if not claimed:
                raise
            # The step's transaction is rolled back; only the count of failures is kept. The
            # error's type only: its text may quote a person's identifiers (a validation error).
            logger.error(
                "a job step failed", extra={"job": str(claimed[0]), "error": type(exc).__name__}
            )
            async with self._transaction() as transaction:
                await JobRunner(transaction, self.settings).record_failure(claimed[0], FAILED_STEP)
        return True

    async def run(self) -> None:
        """Steps while there is work; a pause of ``job_poll_seconds`` when there is none."""
        await self._announce()
        while True:
            try:
                busy = await self.step()
            except Exception as exc:
                logger.error(
                    "the job worker could not look for work; trying again",
                    extra={"error": type(exc).__name__},
                )
                busy = False
            if not busy:
                await asyncio.sleep(self.settings.job_poll_seconds)

    async def _announce(self) -> None:
        """Say at start how many unfinished jobs (those a restart interrupted among them) this
        worker and its peers will resume."""
        with contextlib.suppress(Exception):
            async with self._transaction() as transaction:
                waiting = await JobRunner(transaction, self.settings).unfinished()
            if waiting:
                logger.info("resuming unfinished jobs", extra={"jobs": waiting})

    async def delete_expired(self) -> int:
        async with self._transaction() as transaction:
            deleted = await JobRunner(transaction, self.settings).delete_expired()
        if deleted:
            logger.info("deleted jobs past their retention", extra={"jobs": deleted})
        return deleted


@contextlib.asynccontextmanager
async def job_worker(database: Database, settings: Settings) -> AsyncIterator[JobWorker]:
    """The worker and the retention sweep, running while the block runs."""
    worker = JobWorker(database, settings)
    task = asyncio.create_task(worker.run(), name="job-worker")
    try:
        async with periodically(
            settings.job_housekeeping_interval_seconds,
            worker.delete_expired,
            name="job-retention",
        ):
            yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
