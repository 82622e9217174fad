"""Request and response models of the occupancy endpoints."""

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from common.fields import Date, TimeZoneName, non_blank
from common.schemas import RequestBody, example
from occupancy.models import MAX_NAME_LENGTH, ROOM_SLUG_PATTERN

# No control characters (tabs, newlines, NUL): a name is one cell of one line of the CSV.
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"

PersonName = Annotated[str, non_blank(MAX_NAME_LENGTH)]
RoomSlug = Annotated[str, StringConstraints(pattern=ROOM_SLUG_PATTERN)]
Title = Annotated[str, non_blank(200)]


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
    time_zone: TimeZoneName = Field("UTC", description="Dates and times of the room's daily logs")
    public: bool = Field(False, description="Status and events readable without signing in")


def _not_nullable(schema: dict[str, Any]) -> None:
    """Documented as optional, not as nullable: its default (unchanged) is not a value to send."""
    schema.pop("default", None)


class RoomUpdate(RequestBody):
    """Only the fields given change; ``capacity: null`` removes the limit."""

    model_config = example(title="Reading room (east)", capacity=None)

    title: Title | SkipJsonSchema[None] = Field(None, json_schema_extra=_not_nullable)
    capacity: int | None = Field(None, ge=1, le=1_000_000)
    public: bool | SkipJsonSchema[None] = Field(None, json_schema_extra=_not_nullable)

    @field_validator("title", "public", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        """Left out means unchanged; only ``capacity`` may be set to null."""
        if value is None:
            raise PydanticCustomError("not_null", "may be left out, not set to null")
        return value


class LogQuery(RequestBody):
    date: Date = Field(description="YYYY-MM-DD, in the room's time zone")


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
