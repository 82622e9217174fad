"""The lean twin of appointments: a receptionist's booking, and a doctor's free slots.

The slot arithmetic is the service's own (``WeeklyHours``, ``free_slots``): the twin differs in
what carries the request, not in the domain's work.
"""

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Annotated, Any

import asyncpg
from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, Field

from appointments.availability.service import WeeklyHours, free_slots
from appointments.bookings.service import new_verification_number
from bench.lean import Claims, Pool, lean_app

PARTICIPANT = "SELECT id, subject, email, roles FROM participants"
BY_SUBJECT = f"{PARTICIPANT} WHERE subject = $1"
BY_EMAIL = f"{PARTICIPANT} WHERE email = $1"
WEEK = (
    "SELECT doctor_schedules.timezone, working_hours.weekday, working_hours.start_time, "
    "working_hours.end_time FROM doctor_schedules LEFT OUTER JOIN working_hours "
    "ON working_hours.doctor_id = doctor_schedules.doctor_id "
    "WHERE doctor_schedules.doctor_id = $1 "
    "ORDER BY working_hours.weekday, working_hours.start_time"
)
TIME_OFF = (
    "SELECT id, doctor_id, starts_at, ends_at, reason FROM time_off "
    "WHERE doctor_id = $1 AND starts_at < $2 AND ends_at > $3 ORDER BY starts_at"
)
OCCUPIED = (
    "SELECT starts_at, ends_at FROM appointments "
    "WHERE int8range(doctor_id, doctor_id, '[]') = int8range($1, $1, '[]') "
    "AND tstzrange(starts_at, ends_at, '[)') && tstzrange($2, $3, '[)') "
    "AND status IN ('booked', 'arrived', 'fulfilled') ORDER BY starts_at"
)
INSERT = (
    "INSERT INTO appointments (verification_number, patient_id, doctor_id, booked_by_id, "
    "starts_at, ends_at, reason) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "RETURNING id, verification_number, patient_id, doctor_id, booked_by_id, starts_at, ends_at, "
    "status, reason, cancellation_reason, created_at, updated_at"
)
SLOT = timedelta(minutes=30)
STAFF = {"receptionist", "admin"}


class BookingIn(BaseModel):
    patient: str = Field(min_length=1, max_length=320)
    doctor: str = Field(min_length=1, max_length=320)
    starts_at: datetime
    reason: str | None = Field(default=None, max_length=1000)


class AppointmentOut(BaseModel):
    id: uuid.UUID
    verification_number: str
    doctor: str
    patient: str
    receptionist: str | None
    appointment_date: datetime
    doctor_id: str
    patient_id: str
    booked_by_id: str
    starts_at: datetime
    ends_at: datetime
    status: str
    reason: str | None
    cancellation_reason: str | None
    created_at: datetime
    updated_at: datetime


class Slot(BaseModel):
    starts_at: datetime
    ends_at: datetime


class AvailabilityOut(BaseModel):
    doctor: str
    timezone: str
    slot_minutes: int
    slots: list[Slot]


async def _person(connection: asyncpg.Connection, email: str, role: str) -> Any:
    found = await connection.fetchrow(BY_EMAIL, email.lower())
    if found is None or role not in found["roles"]:
        raise HTTPException(404, f"No {role} has this email")
    return found


async def _week(connection: asyncpg.Connection, doctor_id: int, lock: str = "") -> WeeklyHours:
    rows = await connection.fetch(WEEK + lock, doctor_id)
    if not rows:
        raise HTTPException(422, "This doctor has no working hours yet")
    hours = [SimpleNamespace(**dict(row)) for row in rows if row["weekday"] is not None]
    return WeeklyHours(rows[0]["timezone"], hours)  # type: ignore[arg-type]


def _routes(app: FastAPI) -> None:
    @app.post("/appointments", status_code=201)
    async def book(data: BookingIn, claims: Claims, pool: Pool) -> AppointmentOut:
        if not STAFF & set(claims.get("roles", [])):
            raise HTTPException(403, "Staff only")
        starts_at = data.starts_at.astimezone(UTC)
        ends_at = starts_at + SLOT
        if starts_at <= datetime.now(UTC):
            raise HTTPException(422, "The start is in the past")
        async with pool.acquire() as connection, connection.transaction():
            caller = await connection.fetchrow(BY_SUBJECT, claims["sub"])
            patient = await _person(connection, data.patient, "patient")
            doctor = await _person(connection, data.doctor, "doctor")
            week = await _week(connection, doctor["id"], " FOR SHARE OF doctor_schedules")
            if not week.covers(starts_at, ends_at):
                raise HTTPException(422, "Outside the doctor's working hours")
            if await connection.fetch(TIME_OFF, doctor["id"], ends_at, starts_at):
                raise HTTPException(422, "The doctor is off at this time")
            row = await connection.fetchrow(
                INSERT,
                new_verification_number(),
                patient["id"],
                doctor["id"],
                caller["id"],
                starts_at,
                ends_at,
                data.reason,
            )
        return AppointmentOut(
            id=row["id"],
            verification_number=row["verification_number"],
            doctor=doctor["email"] or doctor["subject"],
            patient=patient["email"] or patient["subject"],
            receptionist=None if caller["id"] == patient["id"] else caller["email"],
            appointment_date=row["starts_at"],
            doctor_id=doctor["subject"],
            patient_id=patient["subject"],
            booked_by_id=caller["subject"],
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            status=row["status"],
            reason=row["reason"],
            cancellation_reason=row["cancellation_reason"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    @app.get("/appointments/availability")
    async def availability(
        doctor: Annotated[str, Query(max_length=320)],
        start: Annotated[datetime, Query(alias="from")],
        to: datetime,
        claims: Claims,
        pool: Pool,
    ) -> AvailabilityOut:
        async with pool.acquire() as connection, connection.transaction():
            person = await _person(connection, doctor, "doctor")
            week = await _week(connection, person["id"])
            start = max(start, datetime.now(UTC))
            busy = [tuple(row) for row in await connection.fetch(OCCUPIED, person["id"], start, to)]
            off = await connection.fetch(TIME_OFF, person["id"], to, start)
        busy += [(row["starts_at"], row["ends_at"]) for row in off]
        slots = free_slots(list(week.windows(start, to)), busy, SLOT, start, to)
        return AvailabilityOut(
            doctor=person["subject"],
            timezone=week.timezone,
            slot_minutes=30,
            slots=[Slot(starts_at=since, ends_at=until) for since, until in slots],
        )


def create_app() -> FastAPI:
    return lean_app("appointments", _routes)
