"""The appointment table and the constraints PostgreSQL enforces on it."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlmodel import Field

from appointments.models import Table
from common.models import created_at_field, updated_at_field

STATUSES = ("booked", "arrived", "fulfilled", "cancelled", "noshow")
# Statuses whose appointment holds its time: the patient is coming, is here, or was seen.
OCCUPYING = ("booked", "arrived", "fulfilled")
OCCUPYING_SQL = "status IN (" + ", ".join(f"'{status}'" for status in OCCUPYING) + ")"
VERIFICATION_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read aloud
VERIFICATION_PATTERN = f"^[{VERIFICATION_ALPHABET}]{{4}}-[{VERIFICATION_ALPHABET}]{{4}}$"
MAX_REASON_LENGTH = 500
DOCTOR_NO_OVERLAP = "appointments_doctor_no_overlap"
PATIENT_NO_OVERLAP = "appointments_patient_no_overlap"


def _no_overlap(person: str, name: str) -> ExcludeConstraint:
    """No two occupying appointments of one person overlap; back-to-back is fine ('[)')."""
    return ExcludeConstraint(
        (text(f"int8range({person}, {person}, '[]')"), "="),
        (text("tstzrange(starts_at, ends_at, '[)')"), "&&"),
        using="gist",
        where=text(OCCUPYING_SQL),
        name=name,
    )


def _participant() -> Column[int]:
    return Column(BigInteger, ForeignKey("appointments.participants.id"), nullable=False)


class Appointment(Table, table=True):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="appointments_ends_after_start"),
        CheckConstraint("patient_id <> doctor_id", name="appointments_patient_is_not_doctor"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{status}'" for status in STATUSES) + ")",
            name="appointments_status_known",
        ),
        CheckConstraint(
            f"verification_number ~ '{VERIFICATION_PATTERN}'",
            name="appointments_verification_number_format",
        ),
        CheckConstraint(
            f"char_length(reason) <= {MAX_REASON_LENGTH}"
            f" AND char_length(cancellation_reason) <= {MAX_REASON_LENGTH}",
            name="appointments_reasons_bounded",
        ),
        _no_overlap("doctor_id", DOCTOR_NO_OVERLAP),
        _no_overlap("patient_id", PATIENT_NO_OVERLAP),
        Index("ix_appointments_doctor_starts", "doctor_id", "starts_at"),
        Index("ix_appointments_patient_starts", "patient_id", "starts_at"),
        Index("ix_appointments_starts", "starts_at"),
    )

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=Column(Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    )
    verification_number: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    patient_id: int = Field(sa_column=_participant())
    doctor_id: int = Field(sa_column=_participant())
    booked_by_id: int = Field(sa_column=_participant())
    starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ends_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False, server_default="booked"))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    cancellation_reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = updated_at_field()
