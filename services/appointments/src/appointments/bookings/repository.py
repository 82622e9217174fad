"""All SQL about appointments."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict, Unpack

from sqlalchemy import ColumnElement, SQLColumnExpression, func, literal, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from appointments.bookings.models import OCCUPYING, Appointment
from common.pagination import paginate


@dataclass(frozen=True)
class AppointmentFilter:
    """Conditions of a listing; ``involving``: appointments a person is patient, doctor or
    booker of."""

    involving: int | None = None
    doctor_id: int | None = None
    patient_id: int | None = None
    status: str | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.involving is not None:
            conditions.append(
                or_(
                    col(Appointment.patient_id) == self.involving,
                    col(Appointment.doctor_id) == self.involving,
                    col(Appointment.booked_by_id) == self.involving,
                )
            )
        if self.doctor_id is not None:
            conditions.append(col(Appointment.doctor_id) == self.doctor_id)
        if self.patient_id is not None:
            conditions.append(col(Appointment.patient_id) == self.patient_id)
        if self.status is not None:
            conditions.append(col(Appointment.status) == self.status)
        if self.starts_from is not None:
            conditions.append(col(Appointment.starts_at) >= self.starts_from)
        if self.starts_before is not None:
            conditions.append(col(Appointment.starts_at) < self.starts_before)
        return conditions


class NewAppointment(TypedDict):
    verification_number: str
    patient_id: int
    doctor_id: int
    booked_by_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str | None


class AppointmentChanges(TypedDict, total=False):
    """What a change of an appointment may set."""

    starts_at: datetime
    ends_at: datetime
    reason: str
    status: str
    cancellation_reason: str


def _person_range(column: SQLColumnExpression[int], person_id: int) -> ColumnElement[bool]:
    """``int8range(column) = int8range(person)``: the form the no-overlap gist index serves."""
    closed = literal("[]")
    return func.int8range(column, column, closed) == func.int8range(person_id, person_id, closed)


def _time_range(
    start: SQLColumnExpression[datetime] | datetime, end: SQLColumnExpression[datetime] | datetime
) -> ColumnElement[object]:
    return func.tstzrange(start, end, literal("[)"))


class AppointmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, **values: Unpack[NewAppointment]) -> Appointment:
        """Insert now, so a no-overlap violation surfaces here as an IntegrityError."""
        statement = insert(Appointment).values(**values).returning(Appointment)
        appointment: Appointment = (await self.session.exec(statement)).scalars().one()
        return appointment

    async def by_id(
        self, appointment_id: uuid.UUID, *, for_update: bool = False
    ) -> Appointment | None:
        statement = select(Appointment).where(Appointment.id == appointment_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.exec(statement)).first()

    async def update(
        self, appointment_id: uuid.UUID, **values: Unpack[AppointmentChanges]
    ) -> Appointment:
        statement = (
            update(Appointment)
            .where(col(Appointment.id) == appointment_id)
            .values(**values, updated_at=func.now())
            .returning(Appointment)
            .execution_options(populate_existing=True)
        )
        appointment: Appointment = (await self.session.exec(statement)).scalars().one()
        return appointment

    async def page(
        self, where: AppointmentFilter, *, limit: int, offset: int
    ) -> tuple[list[Appointment], int]:
        """One page ordered by start, and how many match in all."""
        statement = (
            select(Appointment)
            .where(*where.conditions())
            .order_by(col(Appointment.starts_at), col(Appointment.id))
        )
        return await paginate(self.session, statement, limit=limit, offset=offset)

    async def occupied(
        self, doctor_id: int, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """(starts_at, ends_at) of the doctor's occupying appointments overlapping [start, end)."""
        statement = (
            select(col(Appointment.starts_at), col(Appointment.ends_at))
            .where(
                _person_range(col(Appointment.doctor_id), doctor_id),
                _time_range(col(Appointment.starts_at), col(Appointment.ends_at)).op("&&")(
                    _time_range(start, end)
                ),
                col(Appointment.status).in_(OCCUPYING),
            )
            .order_by(col(Appointment.starts_at))
        )
        return [(starts, ends) for starts, ends in await self.session.exec(statement)]
