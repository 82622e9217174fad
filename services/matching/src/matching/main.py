from fastapi import FastAPI

from common.app import create_service_app
from matching.config import Settings
from matching.routes import router

DESCRIPTION = (
    "Tells a utility which ex-customers who fell behind began receiving homeless "
    "services, protecting their identities."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="matching", settings=settings or Settings(), routers=[router], description=DESCRIPTION
    )
