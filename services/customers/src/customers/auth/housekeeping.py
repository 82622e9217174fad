"""A background task that drops expired login attempts and tokens while the app runs (one
process of all the workers and replicas at a time)."""

from contextlib import AbstractAsyncContextManager

from common.database import Database
from common.tasks import periodically
from customers.auth.service import purge_expired
from customers.config import Settings


def housekeeping(database: Database, settings: Settings) -> AbstractAsyncContextManager[None]:
    async def purge() -> None:
        async with database.driver.transaction() as transaction:
            await purge_expired(transaction, settings)

    return periodically(
        settings.housekeeping_interval_seconds, purge, name="housekeeping", exclusive=database
    )
