"""The /occupancy endpoints: parse, authorize, call OccupancyService, shape the response."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from common.auth import CurrentUser, Principal, bearer_scheme, current_user, require_roles
from common.database import DbSession
from common.dependencies import AppDatabase, settings_dependency
from common.errors import BadRequest
from common.problems import documented_problem
from common.schemas import Page, PageQuery
from occupancy.config import Settings
from occupancy.events import EventHub, room_events
from occupancy.models import DEFAULT_ROOM, ROOM_SLUG_PATTERN
from occupancy.schemas import (
    LegacyChange,
    LegacyPersonIn,
    LegacyStatus,
    LogQuery,
    PersonIn,
    RoomCreate,
    RoomOut,
    RoomStatus,
    RoomUpdate,
)
from occupancy.service import OccupancyService, RoomState

router = APIRouter(prefix="/occupancy", tags=["occupancy"])
people_router = APIRouter(prefix="/occupancy/people", tags=["original API"])

NAME_REQUIRED = "name is required"
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


async def optional_user(
    request: Request, token: Annotated[str | None, Depends(bearer_scheme)]
) -> Principal | None:
    """The caller when a token is given (it must be valid); None for anonymous callers."""
    return await current_user(request, token) if token else None


def _occupancy_service(session: DbSession) -> OccupancyService:
    return OccupancyService(session)


Occupancy = Annotated[OccupancyService, Depends(_occupancy_service)]
Caller = Annotated[Principal | None, Depends(optional_user)]
Staff = Annotated[Principal, Depends(require_roles("staff", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
RoomSlug = Annotated[
    str, Path(pattern=ROOM_SLUG_PATTERN, max_length=63, description="The room's slug")
]
OccupancySettings = Annotated[Settings, Depends(settings_dependency(Settings))]


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
    return Page[RoomOut](
        items=[RoomOut.model_validate(room) for room in rooms],
        total=total,
        limit=query.limit,
        offset=query.offset,
    )


@router.post(
    "/rooms",
    status_code=201,
    summary="Create a room (admin)",
    responses={**ADMIN_ONLY, 409: documented_problem("The slug is taken")},
)
async def create_room(data: RoomCreate, _: Admin, occupancy: Occupancy) -> RoomOut:
    return RoomOut.model_validate(await occupancy.create_room(data))


@router.get("/rooms/{room}", summary="One room", responses=NOT_VISIBLE)
async def read_room(room: RoomSlug, caller: Caller, occupancy: Occupancy) -> RoomOut:
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
async def status(room: RoomSlug, caller: Caller, occupancy: Occupancy) -> RoomStatus:
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
    request: Request,
    room: RoomSlug,
    caller: Caller,
    database: AppDatabase,
    settings: OccupancySettings,
    last_event_id: Annotated[
        int | None, Header(ge=0, le=2**63 - 1, description="Resume after this event id")
    ] = None,
) -> EventSourceResponse:
    # A short session of its own: the stream must not hold a pooled connection while it lasts.
    async with database.sessions() as session:
        occupancy = OccupancyService(session)
        visible = await occupancy.room(room, caller)
        # Without Last-Event-ID: what is logged from now on, "now" being before the response.
        after = await occupancy.last_event_id(visible) if last_event_id is None else last_event_id
    hub: EventHub = request.app.state.events

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async for event in room_events(hub, database, visible, after):
            yield ServerSentEvent(
                data=event.model_dump_json(), event=event.action, id=str(event.id)
            )

    return EventSourceResponse(
        stream(), ping=settings.events_heartbeat_seconds, send_timeout=settings.events_send_timeout
    )


def _name_required(data: LegacyPersonIn | None) -> str:
    """The original's rule: without a name, 400 with ``{"error": "name is required"}``."""
    if data is None or not data.name:
        raise BadRequest(NAME_REQUIRED, extra={"error": NAME_REQUIRED})
    return data.name


NAME_MISSING: dict[int | str, dict[str, Any]] = {
    **STAFF_ONLY,
    400: documented_problem('No name; the problem also carries "error": "name is required"'),
    409: documented_problem("Already inside, or not inside; nothing logged"),
}


@people_router.post(
    "/register", summary="The original API: register in the default room", responses=NAME_MISSING
)
async def register_person(
    staff: Staff, occupancy: Occupancy, data: LegacyPersonIn | None = None
) -> LegacyChange:
    state = await occupancy.register(DEFAULT_ROOM, _name_required(data), staff)
    return LegacyChange(status="registered", occupants=state.occupants)


@people_router.post(
    "/unregister",
    summary="The original API: unregister from the default room",
    responses=NAME_MISSING,
)
async def unregister_person(
    staff: Staff, occupancy: Occupancy, data: LegacyPersonIn | None = None
) -> LegacyChange:
    state = await occupancy.unregister(DEFAULT_ROOM, _name_required(data), staff)
    return LegacyChange(status="unregistered", occupants=state.occupants)


@people_router.get(
    "/status", summary="The original API: the default room's status", responses=NOT_VISIBLE
)
async def person_status(caller: Caller, occupancy: Occupancy) -> LegacyStatus:
    state = await occupancy.state(DEFAULT_ROOM, caller)
    return LegacyStatus(status=state.status, occupants=state.occupants, count=len(state.occupants))
