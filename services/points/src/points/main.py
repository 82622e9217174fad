from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from common.app import create_service_app
from common.errors import Conflict
from points import legacy_routes, routes
from points.config import Settings
from points.housekeeping import housekeeping

DESCRIPTION = (
    "Each account's points ledger: payer transactions, spending oldest points first, balances. "
    "Timestamps are ISO 8601 with a time zone; both POSTs take an Idempotency-Key."
)

# The ledger's locks keep these from firing; should one ever, the client still gets a clear 409.
CONSTRAINT_PROBLEMS = {
    "payers_balance_not_negative": Conflict("The payer's points would go below zero"),
}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with housekeeping(app.state.db, settings):
            yield

    return create_service_app(
        name="points",
        settings=settings,
        routers=[
            routes.own_router,
            routes.accounts_router,
            legacy_routes.own_router,
            legacy_routes.accounts_router,
        ],
        description=DESCRIPTION,
        lifespan=lifespan,
        constraint_problems=CONSTRAINT_PROBLEMS,
    )
