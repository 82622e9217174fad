"""Field types and response parts shared by the feature packages."""

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from pydantic_core import PydanticCustomError

from matching.destinations import DESTINATIONS, Destination
from matching.names import name_key
from matching.ssn import ImpossibleSsn, clean_ssn

MAX_NAME_LENGTH = 100
EARLIEST_DOB = date(1900, 1, 1)
IDENTIFIERS = ("first_name", "last_name", "dob", "ssn")
MIN_IDENTIFIERS = 2
"""A record, and a question, needs at least this many of IDENTIFIERS (an SSN's last four count)."""


def _name_with_letters(value: str) -> str:
    if name_key(value) is None:
        raise PydanticCustomError("name", "a name needs at least one letter")
    return value


def _possible_ssn(value: str) -> str:
    try:
        return clean_ssn(value)
    except ImpossibleSsn as exc:
        raise PydanticCustomError("ssn", str(exc)) from None


def _plausible_dob(value: date) -> date:
    if not EARLIEST_DOB <= value <= date.today():
        raise PydanticCustomError("dob", "a date of birth lies between 1900-01-01 and today")
    return value


PersonName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(_name_with_letters),
]
Ssn = Annotated[
    str,
    StringConstraints(max_length=11),
    AfterValidator(_possible_ssn),
    Field(description="9 digits, or the last 4; dashes and spaces allowed. Never stored as is"),
]
DateOfBirth = Annotated[date, AfterValidator(_plausible_dob)]
HmisId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class DestinationOut(BaseModel):
    """A HUD HMIS 3.12 destination."""

    code: int
    label: str
    category: str

    @classmethod
    def of(cls, code: int | None) -> "DestinationOut | None":
        if code is None:
            return None
        destination: Destination = DESTINATIONS[code]
        return cls(code=code, label=destination.label, category=destination.category.value)
