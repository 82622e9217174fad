"""Background work an app runs while it serves: a periodic job inside the app's lifespan."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

logger = logging.getLogger(__name__)


async def _repeat(every_seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await job()
        except Exception:
            logger.exception(
                "background job failed; retrying at the next interval", extra={"job": name}
            )


@contextlib.asynccontextmanager
async def periodically(
    every_seconds: float, job: Callable[[], Awaitable[object]], *, name: str
) -> AsyncIterator[None]:
    """Run ``job`` every ``every_seconds`` while the block runs; after a failure, next time."""
    task = asyncio.create_task(_repeat(every_seconds, job, name), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
