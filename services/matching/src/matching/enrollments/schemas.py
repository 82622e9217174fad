"""Request and response models of the enrollment endpoints (upload, list, read, delete)."""

from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from common.schemas import PageQuery, RequestBody, example
from matching.destinations import DESTINATION_CODES
from matching.enrollments.models import DATA_QUALITY_CODES
from matching.schemas import IDENTIFIERS, DateOfBirth, DestinationOut, HmisId, PersonName, Ssn

FULL, PARTIAL, NOT_COLLECTED = 1, 2, 99
NO_VALUE_CODES = (8, 9, 99)
"""Data quality codes that say there is no value: client doesn't know, refused, not collected."""


def _known_destination(code: int) -> int:
    if code not in DESTINATION_CODES:
        raise PydanticCustomError("destination", "not a HUD HMIS 3.12 destination code")
    return code


def _known_data_quality(code: int) -> int:
    if code not in DATA_QUALITY_CODES:
        raise PydanticCustomError("data_quality", "an HMIS data quality code: 1, 2, 8, 9 or 99")
    return code


Income = Annotated[Decimal, Field(ge=0, le=10**9, max_digits=12, decimal_places=2)]
DestinationCode = Annotated[int, AfterValidator(_known_destination)]
DataQuality = Annotated[int, AfterValidator(_known_data_quality)]


def _quality(given: int | None, stored: int | None, *, partly_dropped: bool = False) -> int:
    """A field's data quality: ``stored`` is the code its stored value deserves (None when no
    value is stored); a code the provider gave is kept when it agrees with what is stored."""
    if stored is None:
        return given if given in NO_VALUE_CODES else NOT_COLLECTED
    if partly_dropped:
        return PARTIAL
    return given if given is not None and given not in NO_VALUE_CODES else stored


class EnrollmentIn(RequestBody):
    """One enrollment as a provider uploads it; the SSN is hashed before anything is stored.
    Any identifier may be missing, but a record needs two (service.py says so row by row)."""

    client_id: HmisId
    enrollment_id: HmisId
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    dob: DateOfBirth | None = None
    ssn: Ssn | None = Field(None, repr=False)
    name_data_quality: DataQuality | None = Field(None, description="Derived when absent")
    ssn_data_quality: DataQuality | None = Field(None, description="Derived when absent")
    dob_data_quality: DataQuality | None = Field(None, description="Derived when absent")
    entry_date: date
    exit_date: date | None = None
    income_at_entry: Income | None = None
    income_at_exit: Income | None = None
    exit_destination: DestinationCode | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.exit_date is not None and self.exit_date < self.entry_date:
            raise PydanticCustomError("exit_date", "exit_date is before entry_date")
        if self.exit_destination is not None and self.exit_date is None:
            raise PydanticCustomError("exit_destination", "an exit destination needs an exit_date")
        return self

    def identifiers(self) -> list[str]:
        """The identifiers this row gives."""
        return [name for name in IDENTIFIERS if getattr(self, name) is not None]

    def derived_data_quality(self, dropped: Collection[str] = ()) -> tuple[int, int, int]:
        """HMIS data quality of name, SSN and DOB from what is stored: 1 full, 2 partial (one
        name of two, an SSN's last four, a name of two left out as unusable), else 99 (or the
        provider's 8 or 9); a provider's code is kept where it agrees with that."""
        names = (self.first_name is not None) + (self.last_name is not None)
        name = _quality(
            self.name_data_quality,
            None if names == 0 else (FULL if names == 2 else PARTIAL),
            partly_dropped=bool({"first_name", "last_name"} & set(dropped)),
        )
        ssn_stored = None if self.ssn is None else (FULL if len(self.ssn) == 9 else PARTIAL)
        ssn = _quality(self.ssn_data_quality, ssn_stored)
        dob = _quality(self.dob_data_quality, None if self.dob is None else FULL)
        return name, ssn, dob


class EnrollmentUpload(RequestBody):
    model_config = example(
        enrollments=[
            {
                "client_id": "C-1001",
                "enrollment_id": "E-2001",
                "first_name": "Ruth",
                "last_name": "Okonkwo",
                "dob": "1984-07-19",
                "ssn": "287-65-4321",
                "entry_date": "2024-03-01",
            }
        ]
    )

    enrollments: list[Any] = Field(
        min_length=1,
        description="Rows with the fields of EnrollmentIn; each is validated on its own and "
        "rejections name the row (1-based)",
    )


class UploadQuery(RequestBody):
    on_error: Literal["reject_request", "skip_row"] = Field(
        "reject_request",
        description="reject_request: any invalid row answers 422 and stores nothing; "
        "skip_row: valid rows are stored, invalid ones listed",
    )


class RejectedRow(BaseModel):
    row: int = Field(description="1-based: the n-th enrollment of the list, or line of the CSV")
    reason: str


class RowWarning(BaseModel):
    """A field of a stored row left out as unusable (an impossible SSN or date of birth)."""

    row: int = Field(description="1-based: the n-th enrollment of the list, or line of the CSV")
    field: str
    message: str = Field(description="What is wrong, never the value")


class UploadReport(BaseModel):
    received: int
    created: int
    updated: int
    unchanged: int
    rejected: list[RejectedRow] = Field(description="Rows that cannot be stored at all")
    warnings: list[RowWarning] = Field(
        default_factory=list, description="Rows stored without a field that was not usable"
    )


class EnrollmentQuery(PageQuery):
    client_id: HmisId | None = None


class EnrollmentOut(BaseModel):
    """An enrollment as its provider sees it: everything but the SSN, of which only the kind."""

    organization: str
    client_id: str
    enrollment_id: str
    first_name: str | None
    last_name: str | None
    dob: date | None
    ssn_recorded: Literal["full", "last4"] | None
    name_data_quality: int
    ssn_data_quality: int
    dob_data_quality: int
    entry_date: date
    exit_date: date | None
    income_at_entry: Decimal | None
    income_at_exit: Decimal | None
    exit_destination: DestinationOut | None
    created_at: datetime
    updated_at: datetime


class DeletedCount(BaseModel):
    deleted: int
