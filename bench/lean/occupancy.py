"""The lean twin of occupancy: register a person in a room, and a room's status."""

import json
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import FastAPI, HTTPException, Path
from pydantic import BaseModel, Field

from bench.lean import Claims, Pool, lean_app

ROOM = (
    "SELECT room_id, slug, title, capacity, time_zone, public, occupant_count, last_update, "
    "created_at, updated_at FROM rooms WHERE slug = $1"
)
ADD_OCCUPANT = (
    "INSERT INTO occupants (room_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING name"
)
SET_COUNT = (
    "UPDATE rooms SET occupant_count = $1, last_update = clock_timestamp() WHERE room_id = $2 "
    "RETURNING room_id, slug, title, capacity, time_zone, public, occupant_count, last_update, "
    "created_at, updated_at"
)
APPEND = (
    "INSERT INTO actions (room_id, name, action, count_after, actor, occurred_at) "
    "VALUES ($1, $2, $3, $4, $5, clock_timestamp()) "
    "RETURNING action_id, room_id, name, action, count_after, actor, occurred_at"
)
MARK_DAY = (
    "INSERT INTO log_days (room_id, day, last_action) VALUES ($1, $2, $3) "
    "ON CONFLICT ON CONSTRAINT log_days_room_day "
    "DO UPDATE SET last_action = greatest(log_days.last_action, excluded.last_action)"
)
NOTIFY = "SELECT pg_notify($1, $2)"
NAMES = "SELECT name FROM occupants WHERE room_id = $1"
Slug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class PersonIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class RoomStatus(BaseModel):
    status: Literal["open", "closed"]
    occupants: list[str]
    count: int
    capacity: int | None
    last_update: datetime | None


def _status(room: dict[str, object], names: list[str]) -> RoomStatus:
    return RoomStatus(
        status="open" if names else "closed",
        occupants=sorted(names),
        count=len(names),
        capacity=room["capacity"],  # type: ignore[arg-type]
        last_update=room["last_update"],  # type: ignore[arg-type]
    )


def _routes(app: FastAPI) -> None:
    @app.post("/occupancy/rooms/{room}/register")
    async def register(room: Slug, data: PersonIn, claims: Claims, pool: Pool) -> RoomStatus:
        if not {"staff", "admin"} & set(claims.get("roles", [])):
            raise HTTPException(403, "Staff only")
        async with pool.acquire() as connection, connection.transaction():
            found = await connection.fetchrow(ROOM + " FOR UPDATE", room)
            if found is None:
                raise HTTPException(404, "No such room")
            if await connection.fetchval(ADD_OCCUPANT, found["room_id"], data.name) is None:
                raise HTTPException(409, "This person is already in the room")
            count = found["occupant_count"] + 1
            changed = await connection.fetchrow(SET_COUNT, count, found["room_id"])
            logged = await connection.fetchrow(
                APPEND, found["room_id"], data.name, "register", count, claims["sub"]
            )
            day = logged["occurred_at"].astimezone(ZoneInfo(changed["time_zone"])).date()
            await connection.execute(MARK_DAY, found["room_id"], day, logged["action_id"])
            event = {
                "id": logged["action_id"],
                "room": room,
                "action": "register",
                "name": data.name,
                "count": count,
                "status": "open",
                "at": logged["occurred_at"].isoformat(),
            }
            await connection.execute(NOTIFY, "occupancy_events", json.dumps(event))
            names = [row["name"] for row in await connection.fetch(NAMES, found["room_id"])]
        return _status(dict(changed), names)

    @app.get("/occupancy/rooms/{room}/status")
    async def status(room: Slug, claims: Claims, pool: Pool) -> RoomStatus:
        async with pool.acquire() as connection, connection.transaction():
            found = await connection.fetchrow(ROOM, room)
            if found is None:
                raise HTTPException(404, "No such room")
            names = [row["name"] for row in await connection.fetch(NAMES, found["room_id"])]
        return _status(dict(found), names)


def create_app() -> FastAPI:
    return lean_app("occupancy", _routes)
