"""The /occupancy endpoints: parse, authorize, call OccupancyService, shape the response."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from common.auth import CurrentUser, OptionalUser
from common.dependencies import AppDatabase
from common.problems import documented_problem
from common.schemas import Page, PageQuery
from occupancy.dependencies import (
    Admin,
    Events,
    Occupancy,
    OccupancySettings,
    RoomSlug,
    Staff,
)
from occupancy.events import room_events
from occupancy.schemas import (
    LogQuery,
    PersonIn,
    RoomCreate,
    RoomOut,
    RoomStatus,
    RoomUpdate,
)
from occupancy.service import OccupancyService, RoomState

router = APIRouter(prefix="/occupancy", tags=["occupancy"])

NOT_VISIBLE: dict[int | str, dict[str, Any]] = {
    401: documented_problem("The room is not public and no valid token was given"),
    404: documented_problem("No such room"),
}
STAFF_ONLY: dict[int | str, dict[str, Any]] = {
    403: documented_problem("The caller has neither the staff nor the admin role"),
}
ADMIN_ONLY: dict[int | str, dict[str, Any]] = {
    403: documented_problem("The caller is not an admin"),
}
CHANGE_REFUSED: dict[int | str, dict[str, Any]] = {
    **STAFF_ONLY,
    404: documented_problem("No such room"),
    409: documented_problem("Already inside, not inside, or the room is full; nothing logged"),
}


def room_status(state: RoomState) -> RoomStatus:
    return RoomStatus(
        status=state.status,
        occupants=state.occupants,
        count=len(state.occupants),
        capacity=state.room.capacity,
        last_update=state.room.last_update,
    )


@router.get("/rooms", summary="List rooms (signed-in users), by slug")
async def list_rooms(
    query: Annotated[PageQuery, Query()], _: CurrentUser, occupancy: Occupancy
) -> Page[RoomOut]:
    rooms, total = await occupancy.rooms_page(limit=query.limit, offset=query.offset)
    return Page.of([RoomOut.model_validate(room) for room in rooms], total, query)


@router.post(
    "/rooms",
    status_code=201,
    summary="Create a room (admin)",
    responses={**ADMIN_ONLY, 409: documented_problem("The slug is taken")},
)
async def create_room(data: RoomCreate, _: Admin, occupancy: Occupancy) -> RoomOut:
    return RoomOut.model_validate(await occupancy.create_room(data))


@router.get("/rooms/{room}", summary="One room", responses=NOT_VISIBLE)
async def read_room(room: RoomSlug, caller: OptionalUser, occupancy: Occupancy) -> RoomOut:
    return RoomOut.model_validate(await occupancy.room(room, caller))


@router.patch(
    "/rooms/{room}",
    summary="Change a room's title, capacity or visibility (admin)",
    responses={
        **ADMIN_ONLY,
        404: documented_problem("No such room"),
        409: documented_problem("More people are inside than the new capacity"),
    },
)
async def update_room(room: RoomSlug, data: RoomUpdate, _: Admin, occupancy: Occupancy) -> RoomOut:
    changes = data.model_dump(exclude_unset=True)
    return RoomOut.model_validate(await occupancy.update_room(room, changes))


@router.delete(
    "/rooms/{room}",
    status_code=204,
    summary="Delete a room that has no logged actions (admin)",
    responses={
        **ADMIN_ONLY,
        404: documented_problem("No such room"),
        409: documented_problem("The room has history, or it is the default room"),
    },
)
async def delete_room(room: RoomSlug, _: Admin, occupancy: Occupancy) -> None:
    await occupancy.delete_room(room)


@router.post(
    "/rooms/{room}/register",
    summary="Register a person as inside the room (staff)",
    responses=CHANGE_REFUSED,
)
async def register(
    room: RoomSlug, data: PersonIn, staff: Staff, occupancy: Occupancy
) -> RoomStatus:
    return room_status(await occupancy.register(room, data.name, staff))


@router.post(
    "/rooms/{room}/unregister",
    summary="Register a person as gone from the room (staff)",
    responses=CHANGE_REFUSED,
)
async def unregister(
    room: RoomSlug, data: PersonIn, staff: Staff, occupancy: Occupancy
) -> RoomStatus:
    return room_status(await occupancy.unregister(room, data.name, staff))


@router.get(
    "/rooms/{room}/status",
    summary="Who is inside (signed-in users; anyone for a public room)",
    responses=NOT_VISIBLE,
)
async def status(room: RoomSlug, caller: OptionalUser, occupancy: Occupancy) -> RoomStatus:
    return room_status(await occupancy.state(room, caller))


@router.get(
    "/rooms/{room}/logs",
    summary="The day's log as CSV (Date,Time,Name,Action), from the database (staff)",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The day's CSV, header only if empty"},
        **STAFF_ONLY,
        404: documented_problem("No such room"),
    },
)
async def day_log(
    room: RoomSlug, query: Annotated[LogQuery, Query()], _: Staff, occupancy: Occupancy
) -> Response:
    body = await occupancy.day_csv(room, query.date)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{query.date}-logs.csv"'},
    )


@router.get(
    "/rooms/{room}/events",
    summary="Live events (Server-Sent Events): register and unregister, resumable",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`id` (resume with Last-Event-ID), `event` (register or unregister) "
            "and `data` (JSON: id, room, action, name, count, status, at); comments as heartbeat",
        },
        **NOT_VISIBLE,
    },
)
async def events(
    hub: Events,
    room: RoomSlug,
    caller: OptionalUser,
    database: AppDatabase,
    settings: OccupancySettings,
    last_event_id: Annotated[
        int | None, Header(ge=0, le=2**63 - 1, description="Resume after this event id")
    ] = None,
) -> EventSourceResponse:
    # A short transaction of its own: the stream must not hold a pooled connection while it
    # lasts.
    async with database.driver.transaction() as transaction:
        occupancy = OccupancyService(transaction)
        visible = await occupancy.room(room, caller)
        # Without Last-Event-ID: what is logged from now on, "now" being before the response.
        after = await occupancy.last_event_id(visible) if last_event_id is None else last_event_id

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async for event in room_events(hub, database, visible, after):
            yield ServerSentEvent(
                data=event.model_dump_json(), event=event.action, id=str(event.id)
            )

    return EventSourceResponse(
        stream(), ping=settings.events_heartbeat_seconds, send_timeout=settings.events_send_timeout
    )
