from fastapi import FastAPI

from appointments.config import Settings
from appointments.routes import router
from common.app import create_service_app

DESCRIPTION = "Dental appointments for patients, doctors and receptionists, with no double booking."


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="appointments",
        settings=settings or Settings(),
        routers=[router],
        description=DESCRIPTION,
    )
