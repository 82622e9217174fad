from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from common.app import create_service_app
from common.database import Database
from common.errors import Conflict
from occupancy.config import Settings
from occupancy.events import running_hub
from occupancy.exporter import running_exporter
from occupancy.legacy_routes import people_router
from occupancy.routes import router
from occupancy.service import OccupancyService

DESCRIPTION = (
    "Who is in a room now; every action logged durably, as daily CSV files in S3, and a "
    "live event stream. `/occupancy/people/...` is the original API on the default room."
)
# The database refuses a taken slug and the deletion of a room with history; it is also the
# backstop behind the rules the service checks first (under the room's lock).
CONSTRAINT_PROBLEMS = {
    "rooms_slug_unique": Conflict("A room with this slug exists"),
    "actions_room_id_fkey": Conflict("The room has logged actions; its history is kept"),
    "rooms_within_capacity": Conflict("The room is full"),
    "occupants_one_per_name": Conflict("This person is already in the room"),
}


async def ensure_default_room(database: Database) -> None:
    async with database.driver.transaction() as transaction:
        await OccupancyService(transaction).ensure_default_room()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database: Database = app.state.db
        await ensure_default_room(database)
        async with (
            running_hub(database.driver.dsn, queue_size=settings.events_queue_size) as hub,
            running_exporter(database, settings) as exporter,
        ):
            app.state.events = hub
            app.state.exporter = exporter
            yield

    return create_service_app(
        name="occupancy",
        settings=settings,
        routers=[router, people_router],
        description=DESCRIPTION,
        lifespan=lifespan,
        constraint_problems=CONSTRAINT_PROBLEMS,
    )
