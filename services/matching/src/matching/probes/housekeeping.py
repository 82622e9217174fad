"""A background task that drops the questions no window counts any more, of every caller (one
process of all the workers and replicas at a time); a caller's own go at its next request."""

from contextlib import AbstractAsyncContextManager

from common.database import Database
from common.tasks import periodically
from matching.config import Settings
from matching.probes.service import ProbeGuard, ProbeLimits
from matching.ssn import SsnHasher


def housekeeping(database: Database, settings: Settings) -> AbstractAsyncContextManager[None]:
    async def purge() -> None:
        async with database.sessions.begin() as session:
            hasher = SsnHasher(settings.ssn_key_bytes())
            await ProbeGuard(session, hasher, ProbeLimits.of(settings)).forget_expired()

    return periodically(
        settings.probe_housekeeping_interval_seconds,
        purge,
        name="probe-housekeeping",
        exclusive=database,
    )
