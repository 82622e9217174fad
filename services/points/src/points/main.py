from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from common.app import create_service_app
from points.config import Settings
from points.housekeeping import housekeeping
from points.routes import routers

DESCRIPTION = (
    "Each account's points ledger: payer transactions, spending oldest points first, balances. "
    "Timestamps are ISO 8601 with a time zone; both POSTs take an Idempotency-Key."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with housekeeping(app.state.db, settings):
            yield

    return create_service_app(
        name="points",
        settings=settings,
        routers=routers,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
