from fastapi import FastAPI

from common.app import create_service_app
from occupancy.config import Settings
from occupancy.routes import router

DESCRIPTION = (
    "Who is in a public room now; every action logged as daily CSV files in S3, and a "
    "live event stream."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="occupancy", settings=settings or Settings(), routers=[router], description=DESCRIPTION
    )
