"""Live events: PostgreSQL NOTIFY -> this replica's hub -> each stream's own bounded queue.

Every replica LISTENs on one channel with a dedicated asyncpg connection, so an action accepted by
any replica reaches the streams of all of them (NOTIFY is delivered at commit, in commit order).
A stream whose queue is full is marked lagging instead of blocking the hub; it then reads what it
missed from the action log, as a reconnecting client with ``Last-Event-ID`` does.
"""

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator

import asyncpg
from pydantic import ValidationError

from common.database import Database
from occupancy.repository import EVENTS_CHANNEL, RoomRow
from occupancy.schemas import OccupancyEvent
from occupancy.service import OccupancyService

logger = logging.getLogger(__name__)
BACKLOG_BATCH = 500
LISTENER_NAME = "occupancy-events"  # how the LISTEN connections show in pg_stat_activity


class Subscription:
    """One stream's view of the hub: a bounded queue, and whether events were dropped."""

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[OccupancyEvent] = asyncio.Queue(size)
        self.lagging = asyncio.Event()

    def offer(self, event: OccupancyEvent) -> None:
        """Queue the event, or mark the stream lagging when it does not keep up."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.lagging.set()

    def restart(self) -> None:
        """Forget the queue: the stream reads from the log what came since its last event."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.lagging.clear()

    async def next(self) -> OccupancyEvent | None:
        """The next queued event, or None once the stream has lagged."""
        if self.lagging.is_set():
            return None
        getter = asyncio.ensure_future(self.queue.get())
        lagged = asyncio.ensure_future(self.lagging.wait())
        try:
            done, _ = await asyncio.wait({getter, lagged}, return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when the stream is closed while it waits
            lagged.cancel()
            if not getter.done():
                getter.cancel()
        if getter in done and not self.lagging.is_set():
            return getter.result()
        return None  # a lagging stream reads from the log, this event included


class EventHub:
    """This replica's LISTEN connection and the streams it feeds, by room."""

    def __init__(self, dsn: str, *, queue_size: int, reconnect_seconds: float = 1.0) -> None:
        self.dsn = dsn
        self.queue_size = queue_size
        self.reconnect_seconds = reconnect_seconds
        self.subscriptions: dict[str, set[Subscription]] = defaultdict(set)
        self.listening = asyncio.Event()

    @contextlib.contextmanager
    def subscribe(self, room: str) -> Iterator[Subscription]:
        subscription = Subscription(self.queue_size)
        self.subscriptions[room].add(subscription)
        try:
            yield subscription
        finally:
            self.subscriptions[room].discard(subscription)
            if not self.subscriptions[room]:
                del self.subscriptions[room]

    def _on_notification(self, connection: object, pid: int, channel: str, payload: object) -> None:
        try:
            event = OccupancyEvent.model_validate_json(str(payload))
        except ValidationError:
            logger.error("unreadable event notification ignored")
            return
        for subscription in self.subscriptions.get(event.room, ()):
            subscription.offer(event)

    def _all_lagging(self) -> None:
        """Once listening (again), every stream reads what it may have missed from the log."""
        for subscriptions in self.subscriptions.values():
            for subscription in subscriptions:
                subscription.lagging.set()

    async def listen(self) -> None:
        """Keep a LISTEN connection open, reconnecting after failures, until cancelled."""
        while True:
            try:
                await self._listen_once()
            except Exception as exc:  # whatever broke the connection, listen again
                logger.warning("event listener lost its connection", extra={"error": repr(exc)})
            self.listening.clear()
            await asyncio.sleep(self.reconnect_seconds)

    async def _listen_once(self) -> None:
        connection = await asyncpg.connect(
            self.dsn, timeout=5, server_settings={"application_name": LISTENER_NAME}
        )
        closed = asyncio.Event()
        connection.add_termination_listener(lambda _: closed.set())
        try:
            await connection.add_listener(EVENTS_CHANNEL, self._on_notification)
            self.listening.set()
            self._all_lagging()
            while not closed.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), timeout=10)
                if not closed.is_set():
                    await connection.execute("SELECT 1", timeout=5)  # notice a dead server
        finally:
            connection.terminate()  # at once: closing politely could wait on a cancelled query


@contextlib.asynccontextmanager
async def running_hub(dsn: str, *, queue_size: int) -> AsyncIterator[EventHub]:
    hub = EventHub(dsn, queue_size=queue_size)
    task = asyncio.create_task(hub.listen())
    try:
        yield hub
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def room_events(
    hub: EventHub, database: Database, room: RoomRow, after: int
) -> AsyncIterator[OccupancyEvent]:
    """The room's events logged after event ``after``, in order, without end."""
    with hub.subscribe(room.slug) as subscription:
        while True:
            subscription.restart()  # before reading the log: what commits later is queued
            async for event in _backlog(database, room, after):
                after = event.id
                yield event
            while (queued := await subscription.next()) is not None:
                if queued.id > after:
                    after = queued.id
                    yield queued


async def _backlog(database: Database, room: RoomRow, after: int) -> AsyncIterator[OccupancyEvent]:
    """What the log holds after ``after``, read in batches with a short transaction each."""
    while True:
        # Shielded: a client leaving mid-read must not cancel a query half-way (its pooled
        # connection could then wait forever for an answer).
        batch = await asyncio.shield(_events_after(database, room, after))
        for event in batch:
            yield event
        if len(batch) < BACKLOG_BATCH:
            return
        after = batch[-1].id


async def _events_after(database: Database, room: RoomRow, after: int) -> list[OccupancyEvent]:
    async with database.driver.transaction() as transaction:
        return await OccupancyService(transaction).events_after(room, after, limit=BACKLOG_BATCH)
