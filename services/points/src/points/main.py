from fastapi import FastAPI

from common.app import create_service_app
from points.config import Settings
from points.routes import router

DESCRIPTION = (
    "Each account's points ledger: payer transactions, spending oldest points first, balances."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="points", settings=settings or Settings(), routers=[router], description=DESCRIPTION
    )
