"""Request and response models of the customer endpoints and the import."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from common.schemas import Page, PageQuery, RequestBody, example
from customers.fields import (
    MAX_EMAIL_LENGTH,
    CountryCode,
    CustomerId,
    EmailAddress,
    LanguageCode,
)
from customers.records.models import ROLES

ASSIGNABLE_ROLES = sorted(ROLES - {"service"})  # service tokens come from client credentials only


def assignable_role(role: str) -> str:
    if role not in ASSIGNABLE_ROLES:
        raise PydanticCustomError(
            "role",
            "not a role a customer can hold; one of {roles}",
            {"roles": ", ".join(ASSIGNABLE_ROLES)},
        )
    return role


Role = Annotated[
    str, AfterValidator(assignable_role), Field(json_schema_extra={"enum": ASSIGNABLE_ROLES})
]


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: str
    email: str
    country: str | None
    language: str | None
    roles: list[str]
    created_at: datetime
    updated_at: datetime


CustomerPage = Page[CustomerOut]


class CustomerQuery(PageQuery):
    """Filters and page of ``GET /customers``."""

    country: CountryCode | None = None
    language: LanguageCode | None = None
    email_prefix: Annotated[
        str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=MAX_EMAIL_LENGTH)
    ] = ""


class CustomerCreate(RequestBody):
    model_config = example(email="grace@example.com", country="US", language="en")

    customer_id: CustomerId | None = Field(None, description="Public id; generated when absent")
    email: EmailAddress
    country: CountryCode | None = None
    language: LanguageCode | None = None


class CustomerUpdate(RequestBody):
    """Only the fields given change; null clears one."""

    model_config = example(country="DE", language="de")

    country: CountryCode | None = None
    language: LanguageCode | None = None


class RolesUpdate(RequestBody):
    model_config = example(roles=["customer", "patient"])

    roles: list[Role] = Field(min_length=1, max_length=len(ASSIGNABLE_ROLES))


class CustomerImportRow(RequestBody):
    """One customer of the export file."""

    customer_id: CustomerId
    email: EmailAddress
    country: CountryCode | None = None
    language: LanguageCode | None = None
