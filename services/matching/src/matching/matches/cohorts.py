"""A cohort as sent: a JSON body or a CSV file with the same columns, read as it streams in.

Both give the people as JSON-shaped items, each validated later on its own (a person's problem
is that person's error). A CSV's people come one at a time, so a cohort too large for one
request is sealed into a job as it arrives; a JSON body is parsed whole (``json_lists``).
"""

from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass

from fastapi import Request

from common.errors import BadRequest, UnsupportedMediaType
from common.schemas import field_error
from matching.enrollments.csv_rows import CsvColumns, CsvProblem, MalformedRecord, csv_rows
from matching.json_lists import read_json_lists
from matching.schemas import IDENTIFIERS


@dataclass(frozen=True)
class CohortShape:
    """How one route's cohort arrives: the JSON body's list, the CSV's columns."""

    list_name: str
    columns: CsvColumns


PEOPLE = CohortShape("people", CsvColumns({name: name for name in IDENTIFIERS}, (), "person"))
MEMBERS = CohortShape(
    "cohort",
    CsvColumns(
        {name: name for name in (*IDENTIFIERS, "account_closed_on")},
        ("account_closed_on",),
        "cohort member",
    ),
)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


async def _csv_people(request: Request, shape: CohortShape) -> AsyncIterator[object]:
    """A person per CSV row (empty cells left out); a row that is not a row of the header's
    columns, or a file that is not CSV at all, is the file's problem (400)."""
    try:
        async for line, row in csv_rows(request.stream(), shape.columns):
            if isinstance(row, MalformedRecord):
                raise BadRequest(f"Line {line} is not a row of the header's columns: {row.reason}")
            yield row
    except CsvProblem as exc:
        raise BadRequest(str(exc)) from None


async def _each(people: Iterable[object]) -> AsyncIterator[object]:
    for person in people:
        yield person


async def cohort_people(
    request: Request, shape: CohortShape, max_people: int
) -> AsyncIterator[object]:
    """The cohort's people in order, from JSON (at most ``max_people``) or ``text/csv``; 415
    for any other body."""
    kind = media_type(request)
    if kind == "text/csv":
        return _csv_people(request, shape)
    if kind == "application/json":
        body = await read_json_lists(request.stream(), {shape.list_name: max_people})
        return _each(body[shape.list_name])
    raise UnsupportedMediaType("Send the cohort as application/json or text/csv")


async def first_people(
    people: AsyncIterator[object], limit: int
) -> tuple[list[object], AsyncIterable[object] | None]:
    """Up to ``limit`` people, and when the cohort has more, all of them (those read included)
    as one iterable, for a job; 422 for a cohort without anyone."""
    first: list[object] = []
    async for person in people:
        if len(first) == limit:
            return first, _prepend([*first, person], people)
        first.append(person)
    if not first:
        raise field_error("people", "the cohort is empty: it needs at least one person")
    return first, None


async def _prepend(first: list[object], rest: AsyncIterator[object]) -> AsyncIterator[object]:
    for person in first:
        yield person
    async for person in rest:
        yield person
