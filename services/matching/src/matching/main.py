from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from common.app import create_service_app
from common.errors import Unprocessable
from common.middleware import CancelOnDisconnect
from matching.audit.routes import router as audit_router
from matching.config import Settings
from matching.enrollments.routes import router as enrollments_router
from matching.jobs.routes import router as jobs_router
from matching.jobs.worker import job_worker
from matching.linkage.training import training
from matching.matches.routes import router as matches_router
from matching.organizations.routes import router as organizations_router
from matching.probes.housekeeping import housekeeping

DESCRIPTION = (
    "Tells a utility which ex-customers who fell behind began receiving homeless "
    "services, protecting their identities."
)
BULK_ROUTES = (
    "/matching/enrollments",
    "/matching/enrollments/csv",
    "/matching/matches",
    "/matching/return_user_info",
    "/matching/reports/outcomes",
)
CONSTRAINT_PROBLEMS = {
    "enrollments_exit_after_entry": Unprocessable("An exit date is before its entry date"),
    "enrollments_income_not_negative": Unprocessable("An income is negative"),
    "enrollments_destination_known": Unprocessable("Not a HUD HMIS 3.12 destination code"),
    "enrollments_data_quality_known": Unprocessable("Not an HMIS data quality code"),
    "enrollments_two_identifiers": Unprocessable(
        "A record needs at least two identifiers of first_name, last_name, dob and ssn"
    ),
}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            job_worker(app.state.db, settings),
            housekeeping(app.state.db, settings),
            training(app.state.db, settings),
        ):
            yield

    app = create_service_app(
        name="matching",
        settings=settings,
        routers=[
            organizations_router,
            enrollments_router,
            matches_router,
            jobs_router,
            audit_router,
        ],
        description=DESCRIPTION,
        body_limits=dict.fromkeys(BULK_ROUTES, settings.bulk_body_bytes),
        constraint_problems=CONSTRAINT_PROBLEMS,
        lifespan=lifespan,
    )
    # A batch whose client leaves stops its candidate search instead of running for nobody.
    app.add_middleware(CancelOnDisconnect)
    return app
