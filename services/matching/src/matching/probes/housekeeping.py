"""A background task that drops the questions no window counts any more, of every caller (one
process of all the workers and replicas at a time). Requests never do it: what is past a window
is not counted, and deleting it is not their work."""

from contextlib import AbstractAsyncContextManager

from common.database import Database
from common.tasks import periodically
from matching.config import Settings
from matching.probes.service import ProbeGuard, ProbeLimits
from matching.ssn import SsnHasher


def housekeeping(database: Database, settings: Settings) -> AbstractAsyncContextManager[None]:
    async def purge() -> None:
        async with database.driver.transaction() as transaction:
            hasher = SsnHasher(settings.ssn_key_bytes())
            await ProbeGuard(transaction, hasher, ProbeLimits.of(settings)).forget_expired()

    return periodically(
        settings.probe_housekeeping_interval_seconds,
        purge,
        name="probe-housekeeping",
        exclusive=database,
    )
