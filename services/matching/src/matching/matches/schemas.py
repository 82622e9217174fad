"""Request and response models of matches, the original's request, and outcome reports."""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from common.schemas import RequestBody, example
from matching.fields import DateOfBirth, PersonName, Ssn
from matching.schemas import DestinationOut


class PersonQuery(RequestBody):
    """What the utility knows of one ex-customer: any identifier may be missing, but a person
    needs at least two usable ones to be matched. An unusable value (an impossible SSN or date of
    birth) is left out of the question, with a warning in that person's result."""

    first_name: PersonName | None = None
    last_name: PersonName | None = None
    dob: DateOfBirth | None = None
    ssn: Ssn | None = Field(None, repr=False)


class MatchRequest(RequestBody):
    """Documents the body; it is read as it streams in and each person validated on its own."""

    model_config = example(
        people=[
            {
                "first_name": "Ruth",
                "last_name": "Okonkwo",
                "dob": "1984-07-19",
                "ssn": "287-65-4321",
            }
        ]
    )

    people: list[PersonQuery] = Field(min_length=1)


class FieldMessage(BaseModel):
    """What is wrong with one field: its name, never its value."""

    field: str
    message: str


class PersonError(BaseModel):
    """Why one person of a batch could not be matched at all (problem-like, names no values)."""

    title: str
    detail: str
    errors: list[FieldMessage]


class PersonErrorAt(BaseModel):
    """A person's error in an answer that has no item per person."""

    index: int = Field(description="0-based position of the person in the request")
    error: PersonError


class FieldAgreement(BaseModel):
    level: str = Field(
        description="The level reached: a name's (exact, compound, close, similar, different); "
        "a date of birth or SSN only exact (full or last4 for an SSN) or not_exact; missing "
        "when either side lacks the field"
    )
    weight: float | None = Field(
        description="log2(m/u) of that level: the evidence in bits; 0 for missing (no "
        "evidence either way); null for not_exact"
    )


class Agreement(BaseModel):
    """Each field's agreement, ``missing`` when either side lacks the field."""

    first_name: FieldAgreement
    last_name: FieldAgreement
    dob: FieldAgreement
    ssn: FieldAgreement
    names_swapped: bool = Field(description="First and last name agree crosswise")


class MatchOut(BaseModel):
    organization: str
    client_id: str
    enrollment_id: str
    first_name: str | None
    last_name: str | None
    enroll_date: date
    exit_date: date | None
    income_at_entry: Decimal | None
    income_at_exit: Decimal | None
    exit_destination: DestinationOut | None
    match_weight: float = Field(description="Sum of the field weights shown (bits)")
    probability: float = Field(description="P(same person) from the weight shown")
    agreement: Agreement
    model_version: int = Field(
        description="The version of the linkage model that weighed this match (0: the starting "
        "model, before the service learned from its enrollments)"
    )


class PersonResult(BaseModel):
    complete_matches: list[MatchOut]
    partial_matches: list[MatchOut] = Field(description="Best first")
    warnings: list[FieldMessage] = Field(
        description="Fields left out of the question as unusable (the person is matched on the "
        "others)"
    )
    error: PersonError | None = Field(
        description="Why this person could not be matched at all (then no matches); null otherwise"
    )


class MatchResults(BaseModel):
    results: list[PersonResult] = Field(description="One per person, in the order asked")


class ReturnUserInfoRequest(RequestBody):
    """The original's request: two lists of equal length, the n-th last name and SSN being one
    person's; the bearer token replaces ``pwd``. Documents the body, read as it streams in."""

    model_config = example(last_name=["Okonkwo", "Reyes"], ssn=["287-65-4321", "4321"])

    last_name: list[str | None] = Field(min_length=1)
    ssn: list[str | None] = Field(min_length=1)


class OriginalMatch(BaseModel):
    first_name: str | None
    last_name: str | None
    enroll_date: date
    exit_date: date | None
    income_at_entry: float | None
    income_at_exit: float | None
    exit_destination: str | None


class ReturnUserInfoResponse(BaseModel):
    complete_matches: list[OriginalMatch]
    partial_matches: list[OriginalMatch]
    person_errors: list[PersonErrorAt] = Field(
        description="People that could not be matched at all; every other person is answered"
    )


class CohortMember(PersonQuery):
    account_closed_on: date


class OutcomeRequest(RequestBody):
    """Documents the body; it is read as it streams in and each member validated on its own."""

    model_config = example(
        cohort=[
            {
                "first_name": "Ruth",
                "last_name": "Okonkwo",
                "dob": "1984-07-19",
                "ssn": "287-65-4321",
                "account_closed_on": "2023-11-30",
            }
        ]
    )

    cohort: list[CohortMember] = Field(min_length=1)


class DaysToEnrollment(BaseModel):
    """Days from account closure to the first enrollment after it (null when suppressed)."""

    people: int | None
    median: float | None
    first_quartile: float | None
    third_quartile: float | None


class OutcomeReport(BaseModel):
    cohort_size: int
    suppression_threshold: int = Field(
        description="A count is null (suppressed) when it, or the rest of its group, is below this"
    )
    rounding: int = Field(description="Shown counts are rounded to a multiple of this")
    matched: int | None
    matched_share: float | None
    days_to_first_enrollment: DaysToEnrollment
    entered_before_closure: int | None = Field(description="Matched people with an entry before")
    entered_after_closure: int | None = Field(description="Matched people with an entry after")
    exit_destinations: dict[str, int | None] = Field(
        description="Matched people by the category of their latest exit"
    )
    person_errors: list[PersonErrorAt] = Field(
        description="Cohort members that could not be matched at all (counted as not matched)"
    )
