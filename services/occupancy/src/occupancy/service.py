"""Rules of occupancy: who may see a room, who is inside, the capacity, and the action log."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from common.auth import Principal
from common.errors import Conflict, NotFound, Unauthorized
from common.sql import Transaction
from occupancy.logfiles import day_bounds, local_day, render_day
from occupancy.models import DEFAULT_ROOM
from occupancy.repository import (
    ActionLog,
    ActionRow,
    OccupantRepository,
    RoomRepository,
    RoomRow,
)
from occupancy.schemas import OccupancyEvent, OpenOrClosed, RoomCreate


@dataclass(frozen=True)
class RoomState:
    """A room and who is inside it, sorted."""

    room: RoomRow
    occupants: list[str]

    @property
    def status(self) -> OpenOrClosed:
        return "open" if self.occupants else "closed"


def event_of(action: ActionRow, room: str) -> OccupancyEvent:
    """The live-stream event of a logged action."""
    return OccupancyEvent(
        id=action.action_id,
        room=room,
        action=action.action,
        name=action.name,
        count=action.count_after,
        status="open" if action.count_after else "closed",
        at=action.occurred_at,
    )


def visible_to(room: RoomRow | None, caller: Principal | None) -> RoomRow:
    """The room when ``caller`` may see it. Anonymous callers see public rooms only and learn
    nothing about the others (401 whether or not the room exists); signed-in users see all."""
    if caller is None and (room is None or not room.public):
        raise Unauthorized("Sign in to see this room")
    if room is None:
        raise NotFound("No such room")
    return room


class OccupancyService:
    def __init__(self, transaction: Transaction) -> None:
        self.rooms = RoomRepository(transaction)
        self.occupants = OccupantRepository(transaction)
        self.log = ActionLog(transaction)

    async def ensure_default_room(self) -> None:
        await self.rooms.ensure_default()

    async def room(self, slug: str, caller: Principal | None) -> RoomRow:
        return visible_to(await self.rooms.by_slug(slug), caller)

    async def rooms_page(self, *, limit: int, offset: int) -> tuple[list[RoomRow], int]:
        return await self.rooms.page(limit=limit, offset=offset)

    async def create_room(self, data: RoomCreate) -> RoomRow:
        """A new room; a taken slug is refused by the database (main.py's CONSTRAINT_PROBLEMS)."""
        return await self.rooms.insert(**data.model_dump())

    async def update_room(self, slug: str, changes: dict[str, Any]) -> RoomRow:
        """Change title, capacity or visibility; a capacity below the count inside is refused."""
        room = await self._existing(slug, for_update=True)
        capacity = changes.get("capacity", room.capacity)
        if capacity is not None and capacity < room.occupant_count:
            raise Conflict(f"{room.occupant_count} people are inside; unregister some first")
        if not changes:
            return room
        return await self.rooms.update(room.room_id, **changes)

    async def delete_room(self, slug: str) -> None:
        """Delete a room nobody used; a room with logged actions keeps its history."""
        if slug == DEFAULT_ROOM:
            raise Conflict("The default room serves the original API; it cannot be deleted")
        room = await self._existing(slug, for_update=True)
        await self.rooms.delete(room.room_id)  # logged actions: the foreign key refuses

    async def state(self, slug: str, caller: Principal | None) -> RoomState:
        room = await self.room(slug, caller)
        return RoomState(room, await self.occupants.names(room.room_id))

    async def register(self, slug: str, name: str, actor: Principal) -> RoomState:
        """Put ``name`` inside. 409 when they are inside already or the room is full."""
        room = await self._existing(slug, for_update=True)  # one change of a room at a time
        if not await self.occupants.add(room.room_id, name):
            raise Conflict("This person is already in the room")
        if room.capacity is not None and room.occupant_count >= room.capacity:
            raise Conflict(f"The room is full ({room.capacity} people)")
        return await self._record(room, name, "register", room.occupant_count + 1, actor)

    async def unregister(self, slug: str, name: str, actor: Principal) -> RoomState:
        """Take ``name`` out. 409 when they are not inside."""
        room = await self._existing(slug, for_update=True)
        if not await self.occupants.remove(room.room_id, name):
            raise Conflict("This person is not in the room")
        return await self._record(room, name, "unregister", room.occupant_count - 1, actor)

    async def day_csv(self, slug: str, day: dt.date) -> bytes:
        """The day's log file as the exporter writes it, from the database."""
        room = await self._existing(slug)
        start, end = day_bounds(day, room.time_zone)
        return render_day(await self.log.between(room.room_id, start, end), room.time_zone)

    async def events_after(
        self, room: RoomRow, action_id: int, *, limit: int
    ) -> list[OccupancyEvent]:
        actions = await self.log.after(room.room_id, action_id, limit=limit)
        return [event_of(action, room.slug) for action in actions]

    async def last_event_id(self, room: RoomRow) -> int:
        return await self.log.last_id(room.room_id)

    async def _existing(self, slug: str, *, for_update: bool = False) -> RoomRow:
        room = await self.rooms.by_slug(slug, for_update=for_update)
        if room is None:
            raise NotFound("No such room")
        return room

    async def _record(
        self, room: RoomRow, name: str, action: str, count: int, actor: Principal
    ) -> RoomState:
        """Log the action with the new count, mark its day's file stale, notify the streams."""
        room_id = room.room_id
        room = await self.rooms.set_count(room_id, count)
        logged = await self.log.append(
            room_id=room_id, name=name, action=action, count_after=count, actor=actor.subject
        )
        day = local_day(logged.occurred_at, room.time_zone)
        await self.log.mark_day_changed(room_id, day, logged.action_id)
        await self.log.notify(event_of(logged, room.slug).model_dump_json())
        return RoomState(room, await self.occupants.names(room_id))
