"""The per-request objects the occupancy routes ask for: the service, the caller, settings.

The factories are ``async def`` although they do not all await: FastAPI runs a plain ``def``
dependency in its thread pool.
"""

from typing import Annotated

from fastapi import Depends, Path, Request

from common.auth import Principal, require_roles
from common.dependencies import settings_dependency
from common.sql import DbTransaction
from occupancy.config import Settings
from occupancy.events import EventHub
from occupancy.models import ROOM_SLUG_PATTERN
from occupancy.service import OccupancyService


async def _occupancy_service(transaction: DbTransaction) -> OccupancyService:
    return OccupancyService(transaction)


Occupancy = Annotated[OccupancyService, Depends(_occupancy_service)]
Staff = Annotated[Principal, Depends(require_roles("staff", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
RoomSlug = Annotated[
    str, Path(pattern=ROOM_SLUG_PATTERN, max_length=63, description="The room's slug")
]
OccupancySettings = Annotated[Settings, Depends(settings_dependency(Settings))]


async def _events(request: Request) -> EventHub:
    """The hub main.py's lifespan started (one LISTEN connection per app)."""
    hub: EventHub = request.app.state.events
    return hub


Events = Annotated[EventHub, Depends(_events)]
