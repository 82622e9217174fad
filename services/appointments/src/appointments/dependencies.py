"""The per-request objects routes ask for: settings, the caller, the directory and services.

The factories are ``async def`` although they do not await: FastAPI runs a plain ``def``
dependency in its thread pool, a hand-off per dependency per request.
"""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from appointments.availability.service import AvailabilityService
from appointments.bookings.service import BookingRules, BookingService
from appointments.config import Settings
from appointments.people.client import CustomersClient
from appointments.people.service import Caller, Directory
from appointments.sql_spans import TracedTransaction
from common.auth import CurrentUser, Principal, require_roles
from common.dependencies import settings_dependency
from common.sql import DbTransaction, Transaction
from common.tracing import tracing_enabled

AppSettings = Annotated[Settings, Depends(settings_dependency(Settings))]


async def _customers(request: Request) -> CustomersClient:
    """The client main.py's lifespan made (one connection pool and token cache per app)."""
    client: CustomersClient = request.app.state.customers
    return client


async def _statements(transaction: DbTransaction) -> Transaction:
    """The request's unit of work on the driver; its statements are spans when traces are on."""
    return TracedTransaction(transaction) if tracing_enabled() else transaction


Statements = Annotated[Transaction, Depends(_statements)]


async def _directory(
    transaction: Statements, customers: Annotated[CustomersClient, Depends(_customers)]
) -> Directory:
    return Directory(transaction, customers)


DirectoryDep = Annotated[Directory, Depends(_directory)]


async def _caller(principal: CurrentUser, directory: DirectoryDep) -> Caller:
    return await directory.caller(principal)


async def _availability(
    transaction: Statements, directory: DirectoryDep, settings: AppSettings
) -> AvailabilityService:
    return AvailabilityService(
        transaction,
        directory,
        slot_minutes=settings.default_length_minutes,
        max_days=settings.max_availability_days,
    )


Availability = Annotated[AvailabilityService, Depends(_availability)]


async def _bookings(
    transaction: Statements,
    directory: DirectoryDep,
    availability: Availability,
    settings: AppSettings,
) -> BookingService:
    rules = BookingRules(
        default_length=timedelta(minutes=settings.default_length_minutes),
        max_length=timedelta(minutes=settings.max_length_minutes),
        horizon=timedelta(days=settings.booking_horizon_days),
        patient_cutoff=timedelta(hours=settings.patient_cancel_cutoff_hours),
    )
    return BookingService(transaction, directory, availability, rules)


Bookings = Annotated[BookingService, Depends(_bookings)]
CurrentCaller = Annotated[Caller, Depends(_caller)]
"""The caller's directory entry, whatever their roles."""


def caller_with_roles(*roles: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency: the caller, once ``require_roles(*roles)`` admitted them (403 otherwise)."""
    gate = require_roles(*roles)

    async def dependency(
        principal: Annotated[Principal, Depends(gate)], directory: DirectoryDep
    ) -> Caller:
        return await directory.caller(principal)

    return dependency


Booker = Annotated[Caller, Depends(caller_with_roles("patient", "receptionist", "admin"))]
ScheduleKeeper = Annotated[Caller, Depends(caller_with_roles("doctor", "receptionist", "admin"))]
Receptionist = Annotated[Caller, Depends(caller_with_roles("receptionist", "admin"))]
