"""A background task that drops expired login attempts and tokens while the app runs."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from common.database import Database
from customers.auth.service import purge_expired
from customers.config import Settings

logger = logging.getLogger(__name__)


async def purge_periodically(database: Database, settings: Settings) -> None:
    while True:
        await asyncio.sleep(settings.housekeeping_interval_seconds)
        try:
            async with database.sessions.begin() as session:
                await purge_expired(session, settings)
        except Exception:
            logger.exception("housekeeping failed; retrying at the next interval")


@contextlib.asynccontextmanager
async def housekeeping(database: Database, settings: Settings) -> AsyncIterator[None]:
    task = asyncio.create_task(purge_periodically(database, settings))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
