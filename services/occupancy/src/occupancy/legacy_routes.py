"""The original API, on the default room: ``/occupancy/people/...``."""

from typing import Any

from fastapi import APIRouter

from common.auth import OptionalUser
from common.errors import BadRequest
from common.problems import documented_problem
from occupancy.dependencies import Occupancy, Staff
from occupancy.models import DEFAULT_ROOM
from occupancy.routes import NOT_VISIBLE, STAFF_ONLY
from occupancy.schemas import LegacyChange, LegacyPersonIn, LegacyStatus

people_router = APIRouter(prefix="/occupancy/people", tags=["original API"])
NAME_REQUIRED = "name is required"


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
async def person_status(caller: OptionalUser, occupancy: Occupancy) -> LegacyStatus:
    state = await occupancy.state(DEFAULT_ROOM, caller)
    return LegacyStatus(status=state.status, occupants=state.occupants, count=len(state.occupants))
