import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from appointments.availability.routes import router as availability_router
from appointments.bookings.legacy_routes import router as legacy_router
from appointments.bookings.models import DOCTOR_NO_OVERLAP, PATIENT_NO_OVERLAP
from appointments.bookings.routes import router as bookings_router
from appointments.config import Settings
from appointments.people.client import CustomersClient
from common.app import create_service_app
from common.errors import Conflict, ProblemError

logger = logging.getLogger(__name__)
DESCRIPTION = "Dental appointments for patients, doctors and receptionists, with no double booking."
CONSTRAINT_PROBLEMS: dict[str, ProblemError] = {
    DOCTOR_NO_OVERLAP: Conflict("The doctor has another appointment at that time"),
    PATIENT_NO_OVERLAP: Conflict("The patient has another appointment at that time"),
}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.client_secret is None:
            logger.warning(
                "APPOINTMENTS_CLIENT_SECRET is not set: people the directory does not know "
                "cannot be looked up in customers (those bookings answer 503)"
            )
        http = httpx.AsyncClient(
            base_url=settings.customers_url, timeout=settings.customers_timeout_seconds
        )
        app.state.customers = CustomersClient(
            http, client_id=settings.client_id, client_secret=settings.client_secret
        )
        try:
            yield
        finally:
            await http.aclose()

    return create_service_app(
        name="appointments",
        settings=settings,
        # the original's /appointments/appointment first, so it is not read as an id
        routers=[legacy_router, availability_router, bookings_router],
        description=DESCRIPTION,
        lifespan=lifespan,
        constraint_problems=CONSTRAINT_PROBLEMS,
    )
