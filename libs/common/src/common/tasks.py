"""Background work an app runs while it serves: a periodic job inside the app's lifespan.

Every worker of every replica runs the app's lifespan, so a job given ``exclusive=database`` runs
each round under a PostgreSQL advisory lock named after the service's schema and the job: while
one process runs a round, the others skip theirs. The lock is a transaction lock, so a process
that dies mid-round lets go with its connection.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from common.database import Database
from common.sql import Sql

logger = logging.getLogger(__name__)
Job = Callable[[], Awaitable[object]]
_TRY_LOCK = Sql.of("SELECT pg_try_advisory_xact_lock(hashtextextended(:name, 0))")


async def run_exclusively(database: Database, name: str, job: Job) -> bool:
    """Run ``job`` unless another process runs the same job now; whether it ran."""
    async with database.driver.transaction() as transaction:
        if not await transaction.fetchval(_TRY_LOCK, name=f"{database.schema}.{name}"):
            logger.debug("background job skipped: another process runs it", extra={"job": name})
            return False
        await job()
        return True


async def _repeat(every_seconds: float, job: Job, name: str, exclusive: Database | None) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        try:
            if exclusive is None:
                await job()
            else:
                await run_exclusively(exclusive, name, job)
        except Exception:
            logger.exception(
                "background job failed; retrying at the next interval", extra={"job": name}
            )


@contextlib.asynccontextmanager
async def periodically(
    every_seconds: float, job: Job, *, name: str, exclusive: Database | None = None
) -> AsyncIterator[None]:
    """Run ``job`` every ``every_seconds`` while the block runs; after a failure, next time.

    With ``exclusive``, a round runs only while no other process (worker or replica) on that
    database runs the job of the same ``name``.
    """
    task = asyncio.create_task(_repeat(every_seconds, job, name, exclusive), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
