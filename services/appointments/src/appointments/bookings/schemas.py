"""Request and response models of the appointment endpoints, the original's included."""

import uuid
from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from appointments.bookings.models import MAX_REASON_LENGTH
from appointments.fields import PersonName
from common.fields import DateTime
from common.schemas import PageQuery, RequestBody, example

Status = Literal["booked", "arrived", "fulfilled", "cancelled", "noshow"]


class BookingIn(RequestBody):
    model_config = example(
        patient="pat@example.com",
        doctor="dr.who@example.com",
        starts_at="2030-05-06T09:00:00+02:00",
        reason="Check-up",
    )

    patient: PersonName = Field(description="The patient's email or subject id")
    doctor: PersonName = Field(description="The doctor's email or subject id")
    starts_at: DateTime
    ends_at: DateTime | None = Field(None, description="Default: the configured length")
    reason: str | None = Field(None, max_length=MAX_REASON_LENGTH)


class RescheduleIn(RequestBody):
    """A new time (and optionally a new reason); a new start alone keeps the length."""

    model_config = example(starts_at="2030-05-07T14:30:00+02:00")

    starts_at: DateTime
    ends_at: DateTime | None = None
    reason: str | None = Field(None, max_length=MAX_REASON_LENGTH)


class CancelIn(RequestBody):
    model_config = example(reason="Travelling that week")

    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)


class StatusChangeIn(RequestBody):
    model_config = example(status="arrived")

    status: Literal["arrived", "fulfilled", "noshow"] = Field(
        description="Cancel with POST /appointments/{id}/cancel"
    )


class AppointmentQuery(PageQuery):
    """Filters of ``GET /appointments`` (a patient or doctor sees only their own)."""

    doctor: PersonName | None = None
    patient: PersonName | None = None
    status: Status | None = None
    from_: DateTime | None = Field(None, alias="from", description="Starts at or after")
    to: DateTime | None = Field(None, description="Starts before")

    @model_validator(mode="after")
    def _to_after_from(self) -> Self:
        if self.from_ and self.to and self.to <= self.from_:
            raise ValueError("to must be after from")
        return self


class AppointmentOut(BaseModel):
    """An appointment; ``doctor``, ``patient``, ``receptionist`` and ``appointment_date`` as the
    original named them (emails where known, else subject ids)."""

    id: uuid.UUID
    verification_number: str
    doctor: str
    patient: str
    receptionist: str | None = Field(description="Who booked it, when not the patient")
    appointment_date: datetime = Field(description="The start, as the original called it")
    doctor_id: str = Field(description="The doctor's subject id")
    patient_id: str = Field(description="The patient's subject id")
    booked_by_id: str = Field(description="Subject id of whoever booked it")
    starts_at: datetime
    ends_at: datetime
    status: Status
    reason: str | None
    cancellation_reason: str | None
    created_at: datetime
    updated_at: datetime


class LegacyBookingIn(RequestBody):
    """``POST /appointment`` of the original."""

    model_config = example(
        patient="pat@example.com",
        doctor="dr.who@example.com",
        appointment_date="2030-05-06T09:00:00+02:00",
    )

    patient: PersonName
    doctor: PersonName
    appointment_date: DateTime


class LegacyBookingOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    verification_number: str = Field(alias="verificationNumber")


class LegacyAppointmentOut(BaseModel):
    """An item of the original's ``GET /appointment``."""

    doctor: str
    receptionist: str | None
    patient: str
    appointment_date: datetime
