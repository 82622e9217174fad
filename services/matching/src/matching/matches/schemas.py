"""Request and response models of matches, the original's request, and outcome reports."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, Field, Strict, model_validator
from pydantic_core import PydanticCustomError

from common.schemas import RequestBody
from matching.schemas import DateOfBirth, DestinationOut, PersonName, Ssn


class PersonQuery(RequestBody):
    """What the utility knows of one ex-customer; the last name is the least it must give."""

    first_name: PersonName | None = None
    last_name: PersonName
    dob: DateOfBirth | None = None
    ssn: Ssn | None = Field(None, repr=False)


class MatchRequest(RequestBody):
    people: list[PersonQuery] = Field(min_length=1)


class FieldAgreement(BaseModel):
    level: str = Field(
        description="The level reached: a name's (exact, compound, close, similar, different); "
        "a date of birth or SSN only exact (full or last4 for an SSN) or not_exact"
    )
    weight: float | None = Field(
        description="log2(m/u) of that level: the evidence in bits; null for not_exact"
    )


class Agreement(BaseModel):
    """Each field's agreement; null when either side lacks the field."""

    first_name: FieldAgreement | None
    last_name: FieldAgreement | None
    dob: FieldAgreement | None
    ssn: FieldAgreement | None
    names_swapped: bool = Field(description="First and last name agree crosswise")


class MatchOut(BaseModel):
    organization: str
    client_id: str
    enrollment_id: str
    first_name: str | None
    last_name: str
    enroll_date: date
    exit_date: date | None
    income_at_entry: Decimal | None
    income_at_exit: Decimal | None
    exit_destination: DestinationOut | None
    match_weight: float = Field(description="Sum of the field weights shown (bits)")
    probability: float = Field(description="P(same person) from the weight shown")
    agreement: Agreement


class FieldMessage(BaseModel):
    field: str = Field(description="The field's name; never its value")
    message: str


class PersonError(BaseModel):
    """Why one person was not answered (the others of the request were)."""

    title: str
    detail: str
    errors: list[FieldMessage]


class PersonResult(BaseModel):
    complete_matches: list[MatchOut]
    partial_matches: list[MatchOut] = Field(description="Best first")
    error: PersonError | None = Field(
        None, description="Why this person was not answered (then both lists are empty)"
    )


class MatchResults(BaseModel):
    results: list[PersonResult] = Field(description="One per person, in the order asked")


StrictName = Annotated[PersonName, Strict()]
StrictSsn = Annotated[Ssn, Strict()]


class ReturnUserInfoRequest(RequestBody):
    """The original's request: two lists of equal length; the bearer token replaces ``pwd``."""

    last_name: list[StrictName] = Field(min_length=1)
    ssn: list[StrictSsn] = Field(min_length=1)

    @model_validator(mode="after")
    def _equal_lengths(self) -> Self:
        if len(self.last_name) != len(self.ssn):
            raise PydanticCustomError(
                "equal_length", "last_name and ssn must be lists of the same length"
            )
        return self


class OriginalMatch(BaseModel):
    first_name: str | None
    last_name: str
    enroll_date: date
    exit_date: date | None
    income_at_entry: float | None
    income_at_exit: float | None
    exit_destination: str | None


class ReturnUserInfoResponse(BaseModel):
    complete_matches: list[OriginalMatch]
    partial_matches: list[OriginalMatch]
    refused: list[int] = Field(
        default_factory=list,
        description="Indexes of the people not answered: asked with too many variants",
    )


class CohortMember(PersonQuery):
    account_closed_on: date


class OutcomeRequest(RequestBody):
    cohort: list[CohortMember] = Field(min_length=1)


class DaysToEnrollment(BaseModel):
    """Days from account closure to the first enrollment after it (null when suppressed)."""

    people: int | None
    median: float | None
    first_quartile: float | None
    third_quartile: float | None


class OutcomeReport(BaseModel):
    cohort_size: int = Field(description="Members the report covers (the refused ones left out)")
    refused: int = Field(0, description="Members not covered: asked with too many variants")
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
