"""A background task that forgets expired Idempotency-Keys while the app runs."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from common.database import Database
from points.config import Settings
from points.service import IdempotentRequests

logger = logging.getLogger(__name__)


async def forget_expired_keys(database: Database, settings: Settings) -> int:
    async with database.sessions() as session, session.begin():
        requests = IdempotentRequests(session, ttl_seconds=settings.idempotency_key_ttl_seconds)
        return await requests.forget_expired()


async def forget_periodically(database: Database, settings: Settings) -> None:
    while True:
        await asyncio.sleep(settings.housekeeping_interval_seconds)
        try:
            await forget_expired_keys(database, settings)
        except Exception:
            logger.exception("housekeeping failed; retrying at the next interval")


@contextlib.asynccontextmanager
async def housekeeping(database: Database, settings: Settings) -> AsyncIterator[None]:
    task = asyncio.create_task(forget_periodically(database, settings))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
