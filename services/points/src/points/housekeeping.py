"""A background task that forgets expired Idempotency-Keys while the app runs (one process of
all the workers and replicas at a time)."""

from contextlib import AbstractAsyncContextManager

from common.database import Database
from common.tasks import periodically
from points.config import Settings
from points.service import IdempotentRequests


async def forget_expired_keys(database: Database, settings: Settings) -> int:
    async with database.driver.transaction() as transaction:
        requests = IdempotentRequests(transaction, ttl_seconds=settings.idempotency_key_ttl_seconds)
        return await requests.forget_expired()


def housekeeping(database: Database, settings: Settings) -> AbstractAsyncContextManager[None]:
    return periodically(
        settings.housekeeping_interval_seconds,
        lambda: forget_expired_keys(database, settings),
        name="housekeeping",
        exclusive=database,
    )
