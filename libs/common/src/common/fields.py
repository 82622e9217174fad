"""Field types every service shares, each documented in OpenAPI exactly as it is enforced.

Dates and date-times are bounded platform-wide to the years 0002 to 9998 as written: whatever
the offset (at most 23:59), the instant in UTC and a day either side stay inside what both
Python (years 1 to 9999) and PostgreSQL can hold, so no zone shift or day arithmetic overflows.
The bound is in the documented ``pattern``, so a client generated from OpenAPI never sends a
value the server refuses for it.
"""

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

EARLIEST_YEAR = 2
LATEST_YEAR = 9998
_MONTH_DAY = r"(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_TIME = r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?"
_OFFSET = r"([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)"
# Python's str.strip() removes these (and the control characters); a name made only of them is
# blank. Listed, not \s, because JSON Schema's \s and Python's differ.
_BLANK = r"\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_PRINTABLE = r"[^\x00-\x1f\x7f]"


def digits_between(low: int, high: int, width: int = 4) -> str:
    """A regular expression matching the zero-padded numbers from ``low`` to ``high``."""

    def digit(lo: int, hi: int) -> str:
        return r"\d" if (lo, hi) == (0, 9) else str(lo) if lo == hi else f"[{lo}-{hi}]"

    def between(lo: str, hi: str) -> list[str]:
        if not lo:
            return [""]
        rest = len(lo) - 1
        if lo[0] == hi[0]:
            return [lo[0] + tail for tail in between(lo[1:], hi[1:])]
        first, last, parts = int(lo[0]), int(hi[0]), []
        if lo[1:] != "0" * rest:
            parts += [lo[0] + tail for tail in between(lo[1:], "9" * rest)]
            first += 1
        below_high = hi[1:] != "9" * rest
        if below_high:
            last -= 1
        if first <= last:
            parts.append(digit(first, last) + r"\d" * rest)
        if below_high:
            parts += [hi[0] + tail for tail in between("0" * rest, hi[1:])]
        return parts

    return "(" + "|".join(between(f"{low:0{width}d}", f"{high:0{width}d}")) + ")"


@cache
def date_time_pattern(earliest_year: int = EARLIEST_YEAR) -> str:
    """RFC 3339 date-times (seconds and an offset required) from ``earliest_year`` to 9998."""
    years = digits_between(earliest_year, LATEST_YEAR)
    return f"^{years}-{_MONTH_DAY}[Tt]{_TIME}{_OFFSET}$"


DATE_PATTERN = f"^{digits_between(EARLIEST_YEAR, LATEST_YEAR)}-{_MONTH_DAY}$"
_DATE = re.compile(DATE_PATTERN)


@dataclass(frozen=True)
class Rfc3339:
    """Metadata of an aware ``datetime`` field: an RFC 3339 text (seconds and an offset
    required; no number, no date alone), from ``earliest_year`` to 9998, documented as such.

    ``Annotated[datetime, Rfc3339(earliest_year=1970)]``; most fields use ``DateTime``.
    """

    earliest_year: int = EARLIEST_YEAR

    @property
    def pattern(self) -> str:
        return date_time_pattern(self.earliest_year)

    def check(self, value: Any) -> Any:
        """Before pydantic parses: the text's shape, or an aware datetime's year in Python."""
        if isinstance(value, dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise PydanticCustomError("timezone_aware", "needs a time zone")
            if not self.earliest_year <= value.year <= LATEST_YEAR:
                raise PydanticCustomError("datetime_range", _range_message(self.earliest_year))
            return value
        if not isinstance(value, str) or not re.match(self.pattern, value):
            raise PydanticCustomError(
                "datetime_format",
                "must be an RFC 3339 date-time with seconds and an offset, such as "
                f"2030-01-31T09:00:00Z, {_range_message(self.earliest_year)}",
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "format": "date-time", "pattern": self.pattern}


def _range_message(earliest_year: int) -> str:
    return f"in the years {earliest_year:04d} to {LATEST_YEAR}"


DateTime = Annotated[dt.datetime, Rfc3339()]
"""An aware datetime, RFC 3339 with seconds and an offset, in the years 0002 to 9998."""


def _iso_date(value: Any) -> Any:
    """Before pydantic parses: ``YYYY-MM-DD`` of the bounded years (no number, no date-time)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
            raise PydanticCustomError("date_range", f"must lie {_range_message(EARLIEST_YEAR)}")
        return value
    if not isinstance(value, str) or not _DATE.match(value):
        raise PydanticCustomError(
            "date_format",
            f"must be a date YYYY-MM-DD {_range_message(EARLIEST_YEAR)}",
        )
    return value


Date = Annotated[
    dt.date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]
"""A calendar date ``YYYY-MM-DD`` in the years 0002 to 9998."""


@cache
def time_zone_names() -> frozenset[str]:
    """The IANA time zones this machine's tz database knows."""
    return frozenset(zoneinfo.available_timezones())


def _known_time_zone(value: str) -> str:
    if value not in time_zone_names():
        raise PydanticCustomError("time_zone", "not an IANA time zone name, e.g. Europe/Vienna")
    return value


TimeZoneName = Annotated[
    str,
    AfterValidator(_known_time_zone),
    # The shape of a tz database name, not the list of them: its 600 names as an enum break
    # client generators (GMT0, GMT-0 and GMT+0 collide as constants).
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 64,
            "pattern": r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$",
            "description": "An IANA time zone name the server knows, e.g. Europe/Vienna",
        }
    ),
]
"""An IANA time zone name of this machine's tz database (others are a 422)."""


def non_blank(max_length: int) -> StringConstraints:
    """Metadata of a name: printable (no control characters), trimmed, and not blank.

    The pattern says "not blank" of the untrimmed text too, so the document refuses a blank
    name as the server does: ``Annotated[str, non_blank(100)]``.
    """
    return StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=max_length,
        pattern=f"^{_PRINTABLE}*[^{_BLANK}]{_PRINTABLE}*$",
    )


def _json_integer(value: Any) -> Any:
    """A JSON number without a fraction (``20998.0`` is the integer 20998 in JSON); no text and
    no boolean, which JSON Schema does not count as integers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise PydanticCustomError("int_from_float", "must be an integer, without a fraction")
        return int(value)
    return value


JSON_INTEGER = BeforeValidator(_json_integer)
"""Metadata of an integer of a JSON body, as JSON Schema reads one: ``5`` and ``5.0``, never
``"5"`` nor ``true``. It goes after the bounds, so they stay in the document:
``Annotated[int, Field(ge=1), JSON_INTEGER]``."""
