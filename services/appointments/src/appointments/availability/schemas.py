"""Request and response models of working hours, time off and availability."""

import itertools
import re
import uuid
from datetime import datetime, time
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from appointments.availability.models import MAX_TIME_OFF_REASON_LENGTH
from appointments.fields import PersonName
from common.fields import DateTime, TimeZoneName
from common.schemas import RequestBody, example

MAX_INTERVALS = 7 * 12


WALL_CLOCK_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$"


def wall_clock(value: Any) -> Any:
    """A local time of day: ``HH:MM`` or ``HH:MM:SS`` text without a zone (not RFC 3339's
    ``format: time``, which requires one), or a naive ``time`` in Python."""
    if isinstance(value, time) and value.tzinfo is None:
        return value
    if isinstance(value, str) and re.match(WALL_CLOCK_PATTERN, value):
        return value
    raise PydanticCustomError("wall_clock", "a local time of day without a zone, e.g. 08:00")


WallClock = Annotated[
    time,
    BeforeValidator(wall_clock),
    WithJsonSchema(
        {"type": "string", "pattern": WALL_CLOCK_PATTERN, "description": "HH:MM[:SS], local"}
    ),
]


class WorkingInterval(RequestBody):
    weekday: int = Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")
    start: WallClock
    end: WallClock

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class WorkingHoursIn(RequestBody):
    model_config = example(
        timezone="Europe/Berlin",
        hours=[
            {"weekday": 0, "start": "08:00", "end": "12:00"},
            {"weekday": 0, "start": "13:00", "end": "17:00"},
        ],
    )

    timezone: TimeZoneName
    hours: list[WorkingInterval] = Field(max_length=MAX_INTERVALS)

    @model_validator(mode="after")
    def _no_overlaps(self) -> Self:
        ordered = sorted(self.hours, key=lambda interval: (interval.weekday, interval.start))
        for earlier, later in itertools.pairwise(ordered):
            if earlier.weekday == later.weekday and later.start < earlier.end:
                raise ValueError(f"intervals of weekday {later.weekday} overlap or repeat")
        return self


class WorkingIntervalOut(BaseModel):
    weekday: int
    start: WallClock
    end: WallClock


class WorkingHoursOut(BaseModel):
    doctor: str = Field(description="The doctor's subject id")
    timezone: str
    hours: list[WorkingIntervalOut]


class TimeOffIn(RequestBody):
    model_config = example(
        starts_at="2030-08-01T00:00:00+02:00", ends_at="2030-08-15T00:00:00+02:00", reason="Holiday"
    )

    starts_at: DateTime
    ends_at: DateTime
    reason: str | None = Field(None, max_length=MAX_TIME_OFF_REASON_LENGTH)

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class TimeOffOut(BaseModel):
    id: uuid.UUID
    doctor: str = Field(description="The doctor's subject id")
    starts_at: datetime
    ends_at: datetime
    reason: str | None


class WindowQuery(RequestBody):
    """A window of time: ``?from=...&to=...``, both with a zone."""

    from_: DateTime = Field(alias="from")
    to: DateTime

    @model_validator(mode="after")
    def _to_after_from(self) -> Self:
        if self.to <= self.from_:
            raise ValueError("to must be after from")
        return self


class AvailabilityQuery(WindowQuery):
    doctor: PersonName = Field(description="The doctor's email or subject id")


class Slot(BaseModel):
    starts_at: datetime
    ends_at: datetime


class AvailabilityOut(BaseModel):
    doctor: str = Field(description="The doctor's subject id")
    timezone: str
    slot_minutes: int
    slots: list[Slot]
