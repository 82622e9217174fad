"""A cohort as sent: a JSON body or a CSV file with the same columns, read as it streams in.

Both give the people one at a time, as JSON-shaped objects, so a cohort too large for one
request can be sealed into a job as it arrives instead of being held whole.
"""

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from common.errors import BadRequest, UnsupportedMediaType
from common.schemas import RequestBody, error_summary, field_error
from matching.enrollments.csv_rows import CsvColumns, CsvProblem, MalformedRecord, csv_rows
from matching.matches.schemas import CohortMember, MatchRequest, OutcomeRequest, PersonQuery

PERSON_FIELDS = ("first_name", "last_name", "dob", "ssn")


@dataclass(frozen=True)
class CohortShape:
    """How one route's cohort arrives: the JSON body's model and list, the CSV's columns."""

    body: type[RequestBody]
    list_name: str
    person: type[PersonQuery]
    columns: CsvColumns


PEOPLE = CohortShape(
    body=MatchRequest,
    list_name="people",
    person=PersonQuery,
    columns=CsvColumns({name: name for name in PERSON_FIELDS}, (), "person"),
)
MEMBERS = CohortShape(
    body=OutcomeRequest,
    list_name="cohort",
    person=CohortMember,
    columns=CsvColumns(
        {name: name for name in (*PERSON_FIELDS, "account_closed_on")},
        ("account_closed_on",),
        "cohort member",
    ),
)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


async def _csv_people(request: Request, shape: CohortShape) -> AsyncIterator[object]:
    try:
        async for line, row in csv_rows(request.stream(), shape.columns):
            if isinstance(row, MalformedRecord):
                raise field_error(shape.list_name, f"line {line}: {row.reason}")
            try:
                person = shape.person.model_validate(row)
            except ValidationError as exc:
                raise field_error(shape.list_name, f"line {line}: {error_summary(exc)}") from None
            yield person.model_dump(mode="json", exclude_none=True)
    except CsvProblem as exc:
        raise BadRequest(str(exc)) from None


async def _json_people(request: Request, shape: CohortShape) -> AsyncIterator[object]:
    try:
        body = shape.body.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from None
    for person in getattr(body, shape.list_name):
        yield person.model_dump(mode="json", exclude_none=True)


def cohort_people(request: Request, shape: CohortShape) -> AsyncIterator[object]:
    """The cohort's people in order, from JSON or ``text/csv``; 415 for any other body."""
    kind = media_type(request)
    if kind == "text/csv":
        return _csv_people(request, shape)
    if kind == "application/json":
        return _json_people(request, shape)
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
