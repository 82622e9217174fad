"""Rules of bookings: who books, sees, moves and cancels what, when, and status changes.

No double booking is not checked here: PostgreSQL's exclusion constraints refuse the overlap,
and the app turns their violation into a 409 (see ``main.CONSTRAINT_PROBLEMS``).
"""

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from appointments.availability.service import AvailabilityService, now
from appointments.bookings.models import VERIFICATION_ALPHABET
from appointments.bookings.repository import (
    AppointmentFilter,
    AppointmentRepository,
    AppointmentRow,
)
from appointments.bookings.schemas import AppointmentQuery, BookingIn, RescheduleIn
from appointments.people.repository import Person
from appointments.people.service import Caller, Directory
from common.errors import Conflict, Forbidden, NotFound
from common.schemas import field_error
from common.sql import Transaction

# Status -> the statuses it may change to with POST /appointments/{id}/status.
NEXT_STATUSES = {
    "booked": {"arrived", "fulfilled", "noshow"},
    "arrived": {"fulfilled"},
}
# These may not be set before the appointment starts.
AFTER_START_ONLY = {"fulfilled", "noshow"}
LEGACY_LIST_LIMIT = 200


@dataclass(frozen=True)
class BookingRules:
    default_length: timedelta
    max_length: timedelta
    horizon: timedelta
    patient_cutoff: timedelta


@dataclass(frozen=True)
class AppointmentView:
    """An appointment with the people it names."""

    appointment: AppointmentRow
    patient: Person
    doctor: Person
    booked_by: Person

    @property
    def receptionist(self) -> Person | None:
        """Who booked it, unless the patient booked it themself."""
        return None if self.booked_by.id == self.patient.id else self.booked_by


def new_verification_number() -> str:
    """Eight characters a receptionist can read over the phone, e.g. ``K7Q2-M9XD``."""
    characters = "".join(secrets.choice(VERIFICATION_ALPHABET) for _ in range(8))
    return f"{characters[:4]}-{characters[4:]}"


class BookingService:
    def __init__(
        self,
        transaction: Transaction,
        directory: Directory,
        availability: AvailabilityService,
        rules: BookingRules,
    ) -> None:
        self.appointments = AppointmentRepository(transaction)
        self.directory = directory
        self.availability = availability
        self.rules = rules

    async def book(self, data: BookingIn, caller: Caller) -> AppointmentView:
        """A receptionist or admin books for anyone, a patient for themself."""
        patient = await self.directory.resolve(data.patient, "patient", field="patient")
        if not caller.is_staff() and patient.id != caller.id:
            raise Forbidden("A patient books only for themself")
        doctor = await self.directory.resolve(data.doctor, "doctor", field="doctor")
        if doctor.id == patient.id:
            raise field_error("doctor", "A doctor cannot be their own patient")
        starts_at, ends_at = self._span(data.starts_at, data.ends_at)
        await self.availability.require_bookable(doctor.id, starts_at, ends_at)
        appointment = await self.appointments.insert(
            verification_number=new_verification_number(),
            patient_id=patient.id,
            doctor_id=doctor.id,
            booked_by_id=caller.id,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=data.reason,
        )
        return AppointmentView(appointment, patient, doctor, caller.participant)

    async def page(
        self, query: AppointmentQuery, caller: Caller
    ) -> tuple[list[AppointmentView], int]:
        """Staff see every appointment; others those they are the patient, doctor or booker of."""
        where = AppointmentFilter(
            involving=None if caller.is_staff() else caller.id,
            status=query.status,
            starts_from=query.from_,
            starts_before=query.to,
        )
        if query.doctor is not None:
            doctor = await self.directory.known(query.doctor)
            if doctor is None:
                return [], 0  # nobody by that name has an appointment
            where = replace(where, doctor_id=doctor.id)
        if query.patient is not None:
            patient = await self.directory.known(query.patient)
            if patient is None:
                return [], 0
            where = replace(where, patient_id=patient.id)
        items, total = await self.appointments.page(where, limit=query.limit, offset=query.offset)
        return await self._views(items), total

    async def mine(self, caller: Caller) -> list[AppointmentView]:
        """The original's list: appointments the caller is the patient, doctor or booker of."""
        where = AppointmentFilter(involving=caller.id)
        items, _ = await self.appointments.page(where, limit=LEGACY_LIST_LIMIT, offset=0)
        return await self._views(items)

    async def visible(self, appointment_id: uuid.UUID, caller: Caller) -> AppointmentView:
        appointment = await self._visible(appointment_id, caller)
        return (await self._views([appointment]))[0]

    async def reschedule(
        self, appointment_id: uuid.UUID, data: RescheduleIn, caller: Caller
    ) -> AppointmentView:
        """Move a booked appointment; the same rules as booking (patients: own, before cutoff)."""
        appointment = await self._visible(appointment_id, caller, for_update=True)
        if not caller.is_staff() and appointment.patient_id != caller.id:
            raise Forbidden("A patient moves only their own appointments")
        self._require_booked(appointment)
        self._require_before_patient_cutoff(appointment, caller)
        length = appointment.ends_at - appointment.starts_at
        starts_at, ends_at = self._span(data.starts_at, data.ends_at or data.starts_at + length)
        await self.availability.require_bookable(appointment.doctor_id, starts_at, ends_at)
        updated = await self.appointments.move(appointment_id, starts_at, ends_at, data.reason)
        return (await self._views([updated]))[0]

    async def cancel(
        self, appointment_id: uuid.UUID, reason: str, caller: Caller
    ) -> AppointmentView:
        """Staff and its doctor cancel a booked appointment; its patient up to the cutoff."""
        appointment = await self._visible(appointment_id, caller, for_update=True)
        self._require_booked(appointment)
        self._require_before_patient_cutoff(appointment, caller)
        updated = await self.appointments.cancel(appointment_id, reason)
        return (await self._views([updated]))[0]

    async def change_status(
        self, appointment_id: uuid.UUID, status: str, caller: Caller
    ) -> AppointmentView:
        """booked -> arrived -> fulfilled, or booked -> noshow; fulfilled and noshow not before
        the start. Staff, or the appointment's doctor."""
        appointment = await self._visible(appointment_id, caller, for_update=True)
        if not caller.is_staff() and appointment.doctor_id != caller.id:
            raise Forbidden("Only staff or the appointment's doctor change its status")
        if status not in NEXT_STATUSES.get(appointment.status, set()):
            raise Conflict(f"An appointment {appointment.status} cannot become {status}")
        if status in AFTER_START_ONLY and now() < appointment.starts_at:
            raise Conflict(f"An appointment cannot be {status} before it starts")
        updated = await self.appointments.set_status(appointment_id, status)
        return (await self._views([updated]))[0]

    def _span(self, starts_at: datetime, ends_at: datetime | None) -> tuple[datetime, datetime]:
        """Start and end in UTC, checked; lengths are real time, so DST changes keep them."""
        starts_at = starts_at.astimezone(UTC)
        ends_at = ends_at.astimezone(UTC) if ends_at else starts_at + self.rules.default_length
        current = now()
        if starts_at <= current:
            raise field_error("starts_at", "The start is in the past", error_type="in_past")
        if starts_at > current + self.rules.horizon:
            raise field_error(
                "starts_at",
                f"Appointments open at most {self.rules.horizon.days} days ahead",
                error_type="too_far_ahead",
            )
        if ends_at <= starts_at:
            raise field_error("ends_at", "The end is not after the start")
        if ends_at - starts_at > self.rules.max_length:
            minutes = int(self.rules.max_length.total_seconds() // 60)
            raise field_error("ends_at", f"An appointment lasts at most {minutes} minutes")
        return starts_at, ends_at

    async def _visible(
        self, appointment_id: uuid.UUID, caller: Caller, *, for_update: bool = False
    ) -> AppointmentRow:
        """The appointment when the caller is staff or one of its people; NotFound otherwise."""
        appointment = await self.appointments.by_id(appointment_id, for_update=for_update)
        if appointment is None or not (
            caller.is_staff()
            or caller.id
            in (appointment.patient_id, appointment.doctor_id, appointment.booked_by_id)
        ):
            raise NotFound("No such appointment")
        return appointment

    @staticmethod
    def _require_booked(appointment: AppointmentRow) -> None:
        if appointment.status != "booked":
            raise Conflict(f"The appointment is {appointment.status}, no longer booked")

    def _require_before_patient_cutoff(self, appointment: AppointmentRow, caller: Caller) -> None:
        if caller.is_staff() or appointment.doctor_id == caller.id:
            return
        if now() > appointment.starts_at - self.rules.patient_cutoff:
            hours = self.rules.patient_cutoff.total_seconds() / 3600
            raise Conflict(
                f"Patients change appointments up to {hours:g} hours before; call the practice"
            )

    async def _views(self, appointments: Sequence[AppointmentRow]) -> list[AppointmentView]:
        people = await self.directory.by_ids(
            person
            for appointment in appointments
            for person in (appointment.patient_id, appointment.doctor_id, appointment.booked_by_id)
        )
        return [
            AppointmentView(
                appointment,
                people[appointment.patient_id],
                people[appointment.doctor_id],
                people[appointment.booked_by_id],
            )
            for appointment in appointments
        ]
