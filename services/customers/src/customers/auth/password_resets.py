"""Password-reset requests, handled off the request path by one background worker.

The endpoint only queues the email and answers 202, so a known and an unknown email take the
same time to answer: the lookup, the token and the outbox message happen here, afterwards.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from common.database import Database
from customers.auth.service import AuthComponents, AuthService

logger = logging.getLogger(__name__)
MAX_WAITING = 1000  # a flood beyond this is dropped rather than held in memory
DRAIN_SECONDS = 5.0  # at shutdown, how long queued requests may still be handled


class PasswordResetRequests:
    """A bounded queue of emails and the worker that handles them in order, one at a time."""

    def __init__(self, max_waiting: int = MAX_WAITING) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue(max_waiting)

    def submit(self, email: str) -> None:
        """Queue a request; when the queue is full it is dropped (the person may ask again)."""
        try:
            self._queue.put_nowait(email)
        except asyncio.QueueFull:
            logger.warning("password reset request dropped: too many waiting")

    async def handled(self) -> None:
        """Return once every request queued so far has been handled."""
        await self._queue.join()

    @contextlib.asynccontextmanager
    async def running(self, database: Database, components: AuthComponents) -> AsyncIterator[None]:
        """Handle requests while the app runs; at shutdown, finish the queue for a moment."""
        worker = asyncio.create_task(self._work(database, components))
        try:
            yield
        finally:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.handled(), DRAIN_SECONDS)
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _work(self, database: Database, components: AuthComponents) -> None:
        while True:
            email = await self._queue.get()
            try:
                async with database.driver.transaction() as transaction:
                    service = AuthService(transaction, components, database.driver)
                    await service.request_password_reset(email)
            except Exception:
                logger.exception("password reset request failed")  # no email: personal data
            finally:
                self._queue.task_done()
