"""Request and response models of the enrollment endpoints (upload, list, read, delete)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from common.schemas import PageQuery, RequestBody, example
from matching.destinations import DESTINATION_CODES
from matching.enrollments.models import DATA_QUALITY_CODES
from matching.schemas import DateOfBirth, DestinationOut, HmisId, PersonName, Ssn


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


class EnrollmentIn(RequestBody):
    """One enrollment as a provider uploads it; the SSN is hashed before anything is stored."""

    client_id: HmisId
    enrollment_id: HmisId
    first_name: PersonName | None = None
    last_name: PersonName
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

    def derived_data_quality(self) -> tuple[int, int, int]:
        """HMIS data quality of name, SSN and DOB: as given, else from what is present."""
        name = self.name_data_quality or (1 if self.first_name else 2)
        present = 99 if self.ssn is None else (1 if len(self.ssn) == 9 else 2)
        ssn = self.ssn_data_quality or present
        dob = self.dob_data_quality or (1 if self.dob else 99)
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


class UploadReport(BaseModel):
    received: int
    created: int
    updated: int
    unchanged: int
    rejected: list[RejectedRow]


class EnrollmentQuery(PageQuery):
    client_id: HmisId | None = None


class EnrollmentOut(BaseModel):
    """An enrollment as its provider sees it: everything but the SSN, of which only the kind."""

    organization: str
    client_id: str
    enrollment_id: str
    first_name: str | None
    last_name: str
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
