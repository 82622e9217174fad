"""All SQL of occupancy: rooms, occupants, the action log, its export bookkeeping, notifications.

Register, unregister and status run their statements past the ORM (``core_execute``): their
rooms and actions are read into models, never tracked by the session.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.database import core_execute, entity
from common.pagination import paginate
from occupancy.models import DEFAULT_ROOM, Action, LogDay, Occupant, Room

EVENTS_CHANNEL = "occupancy_events"
# Advisory lock key of the exporter (pg_try_advisory_lock): one replica exports at a time.
EXPORTER_LOCK = 0x0CC0_0001


# The statements of register, unregister and status, built once (bound per request; a bound
# name is never a column's: SQLAlchemy keeps those for itself in VALUES and SET).
_ROOM = select(Room).where(col(Room.slug) == bindparam("slug"))
_ROOM_FOR_UPDATE = _ROOM.with_for_update()
_SET_COUNT = (
    update(Room)
    .where(col(Room.room_id) == bindparam("room"))
    .values(occupant_count=bindparam("count"), last_update=func.clock_timestamp())
    .returning(Room)
)
_NAMES = select(Occupant.name).where(col(Occupant.room_id) == bindparam("room_id"))
_ADD = (
    insert(Occupant)
    .values(room_id=bindparam("room"), name=bindparam("person"))
    .on_conflict_do_nothing()
    .returning(col(Occupant.name))
)
_REMOVE = (
    delete(Occupant)
    .where(col(Occupant.room_id) == bindparam("room_id"), col(Occupant.name) == bindparam("name"))
    .returning(col(Occupant.name))
)
_APPEND = (
    insert(Action)
    .values(
        room_id=bindparam("room"),
        name=bindparam("person"),
        action=bindparam("done"),
        count_after=bindparam("count"),
        actor=bindparam("by"),
        occurred_at=func.clock_timestamp(),  # after the room's lock: in log order
    )
    .returning(Action)
)
_NEW_DAY = insert(LogDay).values(
    room_id=bindparam("room"), day=bindparam("on"), last_action=bindparam("action_id")
)
_MARK_DAY_CHANGED = _NEW_DAY.on_conflict_do_update(
    constraint="log_days_room_day",
    set_={"last_action": func.greatest(col(LogDay.last_action), _NEW_DAY.excluded.last_action)},
)
_NOTIFY = select(func.pg_notify(EVENTS_CHANNEL, bindparam("payload")))


@dataclass(frozen=True)
class PendingDay:
    room_id: int
    slug: str
    time_zone: str
    day: dt.date
    last_action: int


class RoomRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_slug(self, slug: str, *, for_update: bool = False) -> Room | None:
        statement = _ROOM_FOR_UPDATE if for_update else _ROOM
        row = (await core_execute(self.session, statement, {"slug": slug})).first()
        return entity(Room, row) if row else None

    async def ensure_default(self) -> None:
        """The room of the original API: private, no capacity, UTC; created once."""
        statement = (
            insert(Room)
            .values(slug=DEFAULT_ROOM, title="Default room")
            .on_conflict_do_nothing(index_elements=[Room.slug])
        )
        await self.session.exec(statement)

    async def insert(self, **values: Any) -> Room:
        """Insert the room (a taken slug: ``rooms_slug_unique`` refuses it)."""
        result = await self.session.exec(insert(Room).values(**values).returning(Room))
        room: Room = result.scalars().one()
        return room

    async def update(self, room_id: int, **values: Any) -> Room:
        statement = (
            update(Room)
            .where(col(Room.room_id) == room_id)
            .values(**values, updated_at=func.now())
            .returning(Room)
        )
        room: Room = (await self.session.exec(statement)).scalars().one()
        return room

    async def delete(self, room_id: int) -> None:
        """Delete the room and its occupants (logged actions: ``actions_room_id_fkey`` refuses)."""
        await self.session.exec(delete(Room).where(col(Room.room_id) == room_id))

    async def page(self, *, limit: int, offset: int) -> tuple[list[Room], int]:
        """One page ordered by slug, and the number of rooms in all."""
        return await paginate(
            self.session, select(Room).order_by(Room.slug), limit=limit, offset=offset
        )

    async def set_count(self, room_id: int, count: int) -> Room:
        """Store the number inside; the check constraint refuses more than the capacity."""
        values = {"room": room_id, "count": count}
        return entity(Room, (await core_execute(self.session, _SET_COUNT, values)).one())


class OccupantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def names(self, room_id: int) -> list[str]:
        names = await core_execute(self.session, _NAMES, {"room_id": room_id})
        return sorted(names.scalars())

    async def add(self, room_id: int, name: str) -> bool:
        """Put ``name`` inside; False when they already are."""
        added = await core_execute(self.session, _ADD, {"room": room_id, "person": name})
        return added.first() is not None

    async def remove(self, room_id: int, name: str) -> bool:
        """Take ``name`` out; False when they were not inside."""
        removed = await core_execute(self.session, _REMOVE, {"room_id": room_id, "name": name})
        return removed.first() is not None


class ActionLog:
    """The durable log of accepted actions and the bookkeeping of its daily files."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(
        self, *, room_id: int, name: str, action: str, count_after: int, actor: str
    ) -> Action:
        values = {
            "room": room_id,
            "person": name,
            "done": action,
            "count": count_after,
            "by": actor,
        }
        return entity(Action, (await core_execute(self.session, _APPEND, values)).one())

    async def mark_day_changed(self, room_id: int, day: dt.date, action_id: int) -> None:
        """The day's file must be written again, up to ``action_id`` at least."""
        values = {"room": room_id, "on": day, "action_id": action_id}
        await core_execute(self.session, _MARK_DAY_CHANGED, values)

    async def between(self, room_id: int, start: dt.datetime, end: dt.datetime) -> list[Action]:
        """The room's actions in ``[start, end)``, in the order they happened."""
        rows = await self.session.exec(
            select(Action)
            .where(
                Action.room_id == room_id,
                col(Action.occurred_at) >= start,
                col(Action.occurred_at) < end,
            )
            .order_by(col(Action.action_id))
        )
        return list(rows)

    async def after(self, room_id: int, action_id: int, *, limit: int) -> list[Action]:
        """The room's actions logged after ``action_id``, oldest first."""
        rows = await self.session.exec(
            select(Action)
            .where(Action.room_id == room_id, col(Action.action_id) > action_id)
            .order_by(col(Action.action_id))
            .limit(limit)
        )
        return list(rows)

    async def last_id(self, room_id: int) -> int:
        """The id of the room's latest action, 0 before the first."""
        result = await self.session.exec(
            select(func.coalesce(func.max(Action.action_id), 0)).where(Action.room_id == room_id)
        )
        return int(result.one() or 0)

    async def notify(self, payload: str) -> None:
        """Tell every replica's listeners; PostgreSQL delivers it when the transaction commits."""
        await core_execute(self.session, _NOTIFY, {"payload": payload})

    async def take_exporter_lock(self) -> bool:
        """This connection is the exporter until it lets go, unless another replica's is."""
        result = await self.session.exec(select(func.pg_try_advisory_lock(EXPORTER_LOCK)))
        return bool(result.one())

    async def release_exporter_lock(self) -> None:
        await self.session.exec(select(func.pg_advisory_unlock(EXPORTER_LOCK)))

    async def pending_days(self, *, limit: int) -> list[PendingDay]:
        """Days whose file lags behind the log, oldest first."""
        rows = await self.session.exec(
            select(  # type: ignore[call-overload]
                LogDay.room_id, Room.slug, Room.time_zone, LogDay.day, LogDay.last_action
            )
            .join(Room, col(Room.room_id) == col(LogDay.room_id))
            .where(col(LogDay.exported_through) < col(LogDay.last_action))
            .order_by(col(LogDay.day), col(LogDay.room_id))
            .limit(limit)
        )
        return [PendingDay(*row) for row in rows.all()]

    async def mark_exported(self, room_id: int, day: dt.date, through: int) -> None:
        await self.session.exec(
            update(LogDay)
            .where(col(LogDay.room_id) == room_id, col(LogDay.day) == day)
            .values(
                exported_through=func.greatest(col(LogDay.exported_through), through),
                exported_at=func.now(),
            )
        )
