"""A doctor's schedule: time zone, weekly working hours and time off."""

import uuid
from datetime import datetime, time

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    Text,
    Time,
    Uuid,
    text,
)
from sqlmodel import Field

from appointments.models import Table
from common.models import created_at_field, updated_at_field

MAX_TIME_OFF_REASON_LENGTH = 500


class DoctorSchedule(Table, table=True):
    """One row per doctor with working hours; bookings lock it FOR SHARE, changes FOR UPDATE."""

    __tablename__ = "doctor_schedules"

    doctor_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("appointments.participants.id"), primary_key=True)
    )
    timezone: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime | None = updated_at_field()


class WorkingHours(Table, table=True):
    """One interval of a weekday, in the doctor's local time (0 = Monday)."""

    __tablename__ = "working_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="working_hours_weekday_range"),
        CheckConstraint("start_time < end_time", name="working_hours_end_after_start"),
        Index("ix_working_hours_doctor", "doctor_id", "weekday"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    doctor_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("appointments.doctor_schedules.doctor_id", ondelete="CASCADE"),
            nullable=False,
        )
    )
    weekday: int = Field(sa_column=Column(SmallInteger, nullable=False))
    start_time: time = Field(sa_column=Column(Time, nullable=False))
    end_time: time = Field(sa_column=Column(Time, nullable=False))


class TimeOff(Table, table=True):
    __tablename__ = "time_off"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="time_off_ends_after_start"),
        CheckConstraint(
            f"char_length(reason) <= {MAX_TIME_OFF_REASON_LENGTH}", name="time_off_reason_bounded"
        ),
        Index("ix_time_off_doctor_starts", "doctor_id", "starts_at"),
    )

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=Column(Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    )
    doctor_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("appointments.participants.id"), nullable=False)
    )
    starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ends_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = created_at_field()
