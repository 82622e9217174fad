"""All SQL of occupancy: rooms, occupants, the action log, its export bookkeeping, notifications;
sent straight to the driver (``common.sql``).

A request's statements run in its unit of work (``Transaction``); the action log's also on the
exporter's connection, where each commits on its own (``common.sql.OwnStatements``).
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from common.pagination import paginate_sql
from common.sql import RowUpdate, Sql, Statements, Transaction
from occupancy.models import DEFAULT_ROOM

EVENTS_CHANNEL = "occupancy_events"
# Advisory lock key of the exporter (pg_try_advisory_lock): one replica exports at a time.
EXPORTER_LOCK = 0x0CC0_0001

ROOM_COLUMNS = (
    "room_id, slug, title, capacity, time_zone, public, occupant_count, last_update, "
    "created_at, updated_at"
)
"""The columns of a ``RoomRow``, for the statements built per shape."""
_UPDATE = RowUpdate(
    "rooms", key="room_id", columns={"title", "capacity", "public"}, returning=ROOM_COLUMNS
)
_ROOM = Sql.of(
    "SELECT room_id, slug, title, capacity, time_zone, public, occupant_count, last_update, "
    "created_at, updated_at FROM rooms WHERE slug = :slug"
)
_ROOM_FOR_UPDATE = Sql.of(
    "SELECT room_id, slug, title, capacity, time_zone, public, occupant_count, last_update, "
    "created_at, updated_at FROM rooms WHERE slug = :slug FOR UPDATE"
)
_ENSURE_ROOM = Sql.of(
    "INSERT INTO rooms (slug, title) VALUES (:slug, :title) ON CONFLICT (slug) DO NOTHING"
)
_INSERT_ROOM = Sql.of(
    "INSERT INTO rooms (slug, title, capacity, time_zone, public) "
    "VALUES (:slug, :title, :capacity, :time_zone, :public) "
    "RETURNING room_id, slug, title, capacity, time_zone, public, occupant_count, last_update, "
    "created_at, updated_at"
)
_DELETE_ROOM = Sql.of("DELETE FROM rooms WHERE room_id = :room_id")
_ROOMS_PAGE = Sql.of(
    "SELECT room_id, slug, title, capacity, time_zone, public, occupant_count, last_update, "
    "created_at, updated_at FROM rooms ORDER BY slug LIMIT :limit OFFSET :offset"
)
_ROOMS_COUNT = Sql.of("SELECT count(*) FROM rooms")
_SET_COUNT = Sql.of(
    "UPDATE rooms SET occupant_count = :count, last_update = clock_timestamp() "
    "WHERE room_id = :room_id "
    "RETURNING room_id, slug, title, capacity, time_zone, public, occupant_count, last_update, "
    "created_at, updated_at"
)
_NAMES = Sql.of("SELECT name FROM occupants WHERE room_id = :room_id")
_ADD = Sql.of(
    "INSERT INTO occupants (room_id, name) VALUES (:room_id, :name) "
    "ON CONFLICT DO NOTHING RETURNING name"
)
_REMOVE = Sql.of("DELETE FROM occupants WHERE room_id = :room_id AND name = :name RETURNING name")
# occurred_at: clock_timestamp(), after the room's lock, so that the log is in log order.
_APPEND = Sql.of(
    "INSERT INTO actions (room_id, name, action, count_after, actor, occurred_at) "
    "VALUES (:room_id, :name, :action, :count_after, :actor, clock_timestamp()) "
    "RETURNING action_id, room_id, name, action, count_after, actor, occurred_at"
)
_MARK_DAY_CHANGED = Sql.of(
    "INSERT INTO log_days (room_id, day, last_action) VALUES (:room_id, :day, :action_id) "
    "ON CONFLICT ON CONSTRAINT log_days_room_day "
    "DO UPDATE SET last_action = greatest(log_days.last_action, excluded.last_action)"
)
_NOTIFY = Sql.of("SELECT pg_notify(:channel, :payload)")
_ACTIONS_BETWEEN = Sql.of(
    "SELECT action_id, room_id, name, action, count_after, actor, occurred_at FROM actions "
    "WHERE room_id = :room_id AND occurred_at >= :start AND occurred_at < :end "
    "ORDER BY action_id"
)
_ACTIONS_AFTER = Sql.of(
    "SELECT action_id, room_id, name, action, count_after, actor, occurred_at FROM actions "
    "WHERE room_id = :room_id AND action_id > :action_id ORDER BY action_id LIMIT :limit"
)
_LAST_ACTION_ID = Sql.of("SELECT coalesce(max(action_id), 0) FROM actions WHERE room_id = :room_id")
_TAKE_EXPORTER_LOCK = Sql.of("SELECT pg_try_advisory_lock(:key)")
_RELEASE_EXPORTER_LOCK = Sql.of("SELECT pg_advisory_unlock(:key)")
_PENDING_DAYS = Sql.of(
    "SELECT d.room_id, r.slug, r.time_zone, d.day, d.last_action "
    "FROM log_days d JOIN rooms r ON r.room_id = d.room_id "
    "WHERE d.exported_through < d.last_action ORDER BY d.day, d.room_id LIMIT :limit"
)
_MARK_EXPORTED = Sql.of(
    "UPDATE log_days SET exported_through = greatest(exported_through, :through), "
    "exported_at = now() WHERE room_id = :room_id AND day = :day"
)


@dataclass(frozen=True, slots=True)
class RoomRow:
    """A room as the database holds it (``models.Room``'s row)."""

    room_id: int
    slug: str
    title: str
    capacity: int | None
    time_zone: str
    public: bool
    occupant_count: int
    last_update: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ActionRow:
    """A logged action (``models.Action``'s row)."""

    action_id: int
    room_id: int
    name: str
    action: str
    count_after: int
    actor: str
    occurred_at: dt.datetime


@dataclass(frozen=True)
class PendingDay:
    room_id: int
    slug: str
    time_zone: str
    day: dt.date
    last_action: int


class RoomRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def by_slug(self, slug: str, *, for_update: bool = False) -> RoomRow | None:
        row = await self.transaction.fetchrow(_ROOM_FOR_UPDATE if for_update else _ROOM, slug=slug)
        return RoomRow(**row) if row else None

    async def ensure_default(self) -> None:
        """The room of the original API: private, no capacity, UTC; created once."""
        await self.transaction.execute(_ENSURE_ROOM, slug=DEFAULT_ROOM, title="Default room")

    async def insert(
        self, *, slug: str, title: str, capacity: int | None, time_zone: str, public: bool
    ) -> RoomRow:
        """Insert the room (a taken slug: ``rooms_slug_unique`` refuses it)."""
        row = await self.transaction.fetchone(
            _INSERT_ROOM,
            slug=slug,
            title=title,
            capacity=capacity,
            time_zone=time_zone,
            public=public,
        )
        return RoomRow(**row)

    async def update(self, room_id: int, **values: Any) -> RoomRow:
        statement = _UPDATE.of(values)
        row = await self.transaction.fetchone(statement, room_id=room_id, **values)
        return RoomRow(**row)

    async def delete(self, room_id: int) -> None:
        """Delete the room and its occupants (logged actions: ``actions_room_id_fkey`` refuses)."""
        await self.transaction.execute(_DELETE_ROOM, room_id=room_id)

    async def page(self, *, limit: int, offset: int) -> tuple[list[RoomRow], int]:
        """One page ordered by slug, and the number of rooms in all."""
        rows, total = await paginate_sql(
            self.transaction,
            _ROOMS_PAGE,
            _ROOMS_COUNT,
            limit=limit,
            offset=offset,
        )
        return [RoomRow(**row) for row in rows], total

    async def set_count(self, room_id: int, count: int) -> RoomRow:
        """Store the number inside; the check constraint refuses more than the capacity."""
        row = await self.transaction.fetchone(_SET_COUNT, room_id=room_id, count=count)
        return RoomRow(**row)


class OccupantRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def names(self, room_id: int) -> list[str]:
        rows = await self.transaction.fetch(_NAMES, room_id=room_id)
        return sorted(row[0] for row in rows)

    async def add(self, room_id: int, name: str) -> bool:
        """Put ``name`` inside; False when they already are."""
        return await self.transaction.fetchrow(_ADD, room_id=room_id, name=name) is not None

    async def remove(self, room_id: int, name: str) -> bool:
        """Take ``name`` out; False when they were not inside."""
        return await self.transaction.fetchrow(_REMOVE, room_id=room_id, name=name) is not None


class ActionLog:
    """The durable log of accepted actions and the bookkeeping of its daily files."""

    def __init__(self, statements: Statements) -> None:
        self.statements = statements

    async def append(
        self, *, room_id: int, name: str, action: str, count_after: int, actor: str
    ) -> ActionRow:
        row = await self.statements.fetchone(
            _APPEND,
            room_id=room_id,
            name=name,
            action=action,
            count_after=count_after,
            actor=actor,
        )
        return ActionRow(**row)

    async def mark_day_changed(self, room_id: int, day: dt.date, action_id: int) -> None:
        """The day's file must be written again, up to ``action_id`` at least."""
        await self.statements.execute(
            _MARK_DAY_CHANGED, room_id=room_id, day=day, action_id=action_id
        )

    async def between(self, room_id: int, start: dt.datetime, end: dt.datetime) -> list[ActionRow]:
        """The room's actions in ``[start, end)``, in the order they happened."""
        rows = await self.statements.fetch(_ACTIONS_BETWEEN, room_id=room_id, start=start, end=end)
        return [ActionRow(**row) for row in rows]

    async def after(self, room_id: int, action_id: int, *, limit: int) -> list[ActionRow]:
        """The room's actions logged after ``action_id``, oldest first."""
        rows = await self.statements.fetch(
            _ACTIONS_AFTER, room_id=room_id, action_id=action_id, limit=limit
        )
        return [ActionRow(**row) for row in rows]

    async def last_id(self, room_id: int) -> int:
        """The id of the room's latest action, 0 before the first."""
        return int(await self.statements.fetchval(_LAST_ACTION_ID, room_id=room_id) or 0)

    async def notify(self, payload: str) -> None:
        """Tell every replica's listeners; PostgreSQL delivers it when the transaction commits."""
        await self.statements.execute(_NOTIFY, channel=EVENTS_CHANNEL, payload=payload)

    async def take_exporter_lock(self) -> bool:
        """This connection is the exporter until it lets go, unless another replica's is."""
        return bool(await self.statements.fetchval(_TAKE_EXPORTER_LOCK, key=EXPORTER_LOCK))

    async def release_exporter_lock(self) -> None:
        await self.statements.execute(_RELEASE_EXPORTER_LOCK, key=EXPORTER_LOCK)

    async def pending_days(self, *, limit: int) -> list[PendingDay]:
        """Days whose file lags behind the log, oldest first."""
        rows = await self.statements.fetch(_PENDING_DAYS, limit=limit)
        return [PendingDay(**row) for row in rows]

    async def mark_exported(self, room_id: int, day: dt.date, through: int) -> None:
        await self.statements.execute(_MARK_EXPORTED, room_id=room_id, day=day, through=through)
