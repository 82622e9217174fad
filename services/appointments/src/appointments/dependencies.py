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
from common.auth import CurrentUser, require_roles
from common.dependencies import settings_dependency
from common.sql import DbTransaction

AppSettings = Annotated[Settings, Depends(settings_dependency(Settings))]


async def _directory(request: Request, transaction: DbTransaction) -> Directory:
    """The directory on the request's unit of work, with the customers client main.py's
    lifespan made (one connection pool and token cache per app).

    The services below take their transaction from it: each dependency a route names is walked
    again wherever it appears (FastAPI solves a cached dependency's own dependencies before it
    looks in its cache), so the tree is kept shallow.
    """
    customers: CustomersClient = request.app.state.customers
    return Directory(transaction, customers)


DirectoryDep = Annotated[Directory, Depends(_directory)]


async def _caller(principal: CurrentUser, directory: DirectoryDep) -> Caller:
    return await directory.caller(principal)


def _availability_service(directory: Directory, settings: Settings) -> AvailabilityService:
    return AvailabilityService(
        directory.transaction,
        directory,
        slot_minutes=settings.default_length_minutes,
        max_days=settings.max_availability_days,
    )


async def _availability(directory: DirectoryDep, settings: AppSettings) -> AvailabilityService:
    return _availability_service(directory, settings)


Availability = Annotated[AvailabilityService, Depends(_availability)]


async def _bookings(directory: DirectoryDep, settings: AppSettings) -> BookingService:
    rules = BookingRules(
        default_length=timedelta(minutes=settings.default_length_minutes),
        max_length=timedelta(minutes=settings.max_length_minutes),
        horizon=timedelta(days=settings.booking_horizon_days),
        patient_cutoff=timedelta(hours=settings.patient_cancel_cutoff_hours),
    )
    availability = _availability_service(directory, settings)
    return BookingService(directory.transaction, directory, availability, rules)


Bookings = Annotated[BookingService, Depends(_bookings)]
CurrentCaller = Annotated[Caller, Depends(_caller)]
"""The caller's directory entry, whatever their roles."""


def caller_with_roles(*roles: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency: the caller, once ``require_roles(*roles)`` admitted them (403 otherwise).

    The gate is called, not declared as a dependency of its own: one node fewer to solve."""
    gate = require_roles(*roles)

    async def dependency(principal: CurrentUser, directory: DirectoryDep) -> Caller:
        return await directory.caller(await gate(principal))

    return dependency


Booker = Annotated[Caller, Depends(caller_with_roles("patient", "receptionist", "admin"))]
ScheduleKeeper = Annotated[Caller, Depends(caller_with_roles("doctor", "receptionist", "admin"))]
Receptionist = Annotated[Caller, Depends(caller_with_roles("receptionist", "admin"))]
