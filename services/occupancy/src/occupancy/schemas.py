"""Request and response models of the occupancy endpoints."""

import datetime as dt
import zoneinfo
from functools import cache
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

from common.schemas import RequestBody, example
from occupancy.models import MAX_NAME_LENGTH, ROOM_SLUG_PATTERN

# No control characters (tabs, newlines, NUL): a name is one cell of one line of the CSV.
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"

PersonName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH, pattern=_PRINTABLE
    ),
]
RoomSlug = Annotated[str, StringConstraints(pattern=ROOM_SLUG_PATTERN)]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_PRINTABLE)
]


@cache
def _known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def known_time_zone(value: str) -> str:
    if value not in _known_time_zones():
        raise PydanticCustomError("time_zone", "not an IANA time zone name, e.g. Europe/Vienna")
    return value


def calendar_date(value: str) -> str:
    try:
        dt.date.fromisoformat(value)
    except ValueError as exc:
        raise PydanticCustomError("date", "not a calendar date") from exc
    return value


TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(known_time_zone)]
IsoDate = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(calendar_date)
]


class PersonIn(RequestBody):
    model_config = example(name="Ada Lovelace")

    name: PersonName


class LegacyPersonIn(RequestBody):
    """The original API's body: a missing or blank name is its 400 "name is required"."""

    model_config = example(name="Ada Lovelace")

    name: (
        Annotated[
            str,
            StringConstraints(
                strip_whitespace=True, max_length=MAX_NAME_LENGTH, pattern=_PRINTABLE
            ),
        ]
        | None
    ) = None


class RoomCreate(RequestBody):
    model_config = example(
        slug="reading-room",
        title="Reading room",
        capacity=40,
        time_zone="Europe/London",
        public=True,
    )

    slug: RoomSlug = Field(description="The room's name in URLs: a-z, 0-9 and '-'")
    title: Title
    capacity: int | None = Field(None, ge=1, le=1_000_000, description="null: no limit")
    time_zone: TimeZone = Field("UTC", description="Dates and times of the room's daily logs")
    public: bool = Field(False, description="Status and events readable without signing in")


class RoomUpdate(RequestBody):
    """Only the fields given change; ``capacity: null`` removes the limit."""

    model_config = example(title="Reading room (east)", capacity=None)

    title: Title | None = None
    capacity: int | None = Field(None, ge=1, le=1_000_000)
    public: bool | None = None

    @field_validator("title", "public", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        """Left out means unchanged; only ``capacity`` may be set to null."""
        if value is None:
            raise PydanticCustomError("not_null", "may be left out, not set to null")
        return value


class LogQuery(RequestBody):
    date: IsoDate = Field(description="YYYY-MM-DD, in the room's time zone")


class RoomOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    title: str
    capacity: int | None
    time_zone: str
    public: bool
    occupant_count: int
    last_update: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


OpenOrClosed = Literal["open", "closed"]


class RoomStatus(BaseModel):
    status: OpenOrClosed = Field(description="open while anyone is inside")
    occupants: list[str] = Field(description="Sorted")
    count: int
    capacity: int | None
    last_update: dt.datetime | None


class LegacyChange(BaseModel):
    """The original's answer to register and unregister."""

    status: Literal["registered", "unregistered"]
    occupants: list[str]


class LegacyStatus(BaseModel):
    """The original's answer to status."""

    status: OpenOrClosed
    occupants: list[str]
    count: int


class OccupancyEvent(BaseModel):
    """The ``data`` of an event of the live stream; its SSE ``id`` is ``id``."""

    id: int
    room: str
    action: Literal["register", "unregister"]
    name: str
    count: int
    status: OpenOrClosed
    at: dt.datetime
