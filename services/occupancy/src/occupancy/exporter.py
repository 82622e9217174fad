"""The background exporter: each changed day's CSV file, rewritten whole from the action log.

The database is the source of truth; a file is a projection of one room's day. A changed day is
rewritten from all of that day's rows, so a write is complete and idempotent, and a day that
could not be written (S3 down) stays pending until a later attempt succeeds. Replicas take turns
through a session advisory lock: one exports while the others skip (a replica that dies lets go
with its connection).
"""

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import aioboto3
from aiobotocore.config import AioConfig  # type: ignore[import-untyped]

from common.database import Database
from occupancy.config import Settings
from occupancy.logfiles import day_bounds, object_key, render_day
from occupancy.repository import ActionLog

logger = logging.getLogger(__name__)
DAYS_PER_ROUND = 100


class LogTarget(Protocol):
    """Where the daily files go."""

    description: str

    async def put(self, key: str, body: bytes) -> None:
        """Store ``body`` as the whole object ``key``, replacing what was there."""
        ...


class FolderTarget:
    """Files under a local folder (no S3 configured): each replaced atomically by a rename."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = f"folder {root}"

    async def put(self, key: str, body: bytes) -> None:
        await asyncio.to_thread(self._write, self.root / key, body)

    @staticmethod
    def _write(path: Path, body: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        with os.fdopen(descriptor, "wb") as file:
            file.write(body)
        os.replace(temporary, path)


class S3Target:
    """Objects in an S3 bucket through aioboto3; one ``put_object`` per file."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self.description = f"bucket {bucket}"

    async def put(self, key: str, body: bytes) -> None:
        await self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="text/csv; charset=utf-8"
        )


def s3_client(settings: Settings) -> Any:
    """An aioboto3 S3 client (an async context manager) that fails fast while S3 is down."""
    config = AioConfig(
        connect_timeout=settings.s3_timeout_seconds,
        read_timeout=settings.s3_timeout_seconds,
        retries={"max_attempts": 1},
        s3={"addressing_style": "path"},
    )
    return aioboto3.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key,
        config=config,
    )


@contextlib.asynccontextmanager
async def log_target(settings: Settings) -> AsyncIterator[LogTarget]:
    """The bucket when ``OCCUPANCY_S3_BUCKET`` is set, else the local folder."""
    if settings.s3_bucket is None:
        yield FolderTarget(settings.log_folder())
        return
    async with s3_client(settings) as client:
        yield S3Target(client, settings.s3_bucket)


class LogExporter:
    def __init__(self, database: Database, target: LogTarget, *, prefix: str = "") -> None:
        self.database = database
        self.target = target
        self.prefix = prefix

    async def export_once(self) -> int | None:
        """Write every pending day's file; how many, or None when another replica is exporting.

        Every statement commits on its own, so no row stays locked while a file is written: a
        slow or unreachable target never holds up a request. A day counts as exported once its
        file is written; a failure leaves the rest pending for the next round.
        """
        async with self.database.driver.connection() as statements:
            log = ActionLog(statements)
            if not await log.take_exporter_lock():
                return None
            try:
                return await self._write_pending(log)
            finally:
                # the pool sends no reset query: a failed release closes the connection
                await log.release_exporter_lock()

    async def _write_pending(self, log: ActionLog) -> int:
        pending = await log.pending_days(limit=DAYS_PER_ROUND)
        for day in pending:
            start, end = day_bounds(day.day, day.time_zone)
            body = render_day(await log.between(day.room_id, start, end), day.time_zone)
            await self.target.put(object_key(self.prefix, day.slug, day.day), body)
            await log.mark_exported(day.room_id, day.day, day.last_action)
        return len(pending)

    async def run(self, interval: float, max_delay: float, stopping: asyncio.Event) -> None:
        """Export every ``interval`` seconds until ``stopping`` is set; after failures wait
        longer, up to ``max_delay``. A round in progress is finished, not cut short."""
        delay = interval
        while not stopping.is_set():
            try:
                written = await self.export_once()
            except Exception as exc:
                delay = min(delay * 2, max_delay)
                logger.warning(
                    "log export failed; retrying",
                    extra={
                        "target": self.target.description,
                        "error": type(exc).__name__,
                        "retry_in_seconds": delay,
                    },
                )
            else:
                if written:
                    logger.info("log files written", extra={"files": written})
                if written == DAYS_PER_ROUND:
                    continue  # more are waiting
                delay = interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)


@contextlib.asynccontextmanager
async def running_exporter(database: Database, settings: Settings) -> AsyncIterator[LogExporter]:
    """The exporter running in the background while the app runs.

    At shutdown it finishes its round rather than being cancelled: a database call cancelled
    half-way can leave its pooled connection waiting for an answer that never comes.
    """
    async with log_target(settings) as target:
        exporter = LogExporter(database, target, prefix=settings.s3_prefix)
        stopping = asyncio.Event()
        task = asyncio.create_task(
            exporter.run(
                settings.export_interval_seconds, settings.export_retry_max_seconds, stopping
            )
        )
        try:
            yield exporter
        finally:
            stopping.set()
            await task
