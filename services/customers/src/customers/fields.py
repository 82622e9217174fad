"""Validated field types shared by the request schemas and the import: email, country, language."""

from typing import Annotated

import pycountry
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, ValidationError
from pydantic_core import PydanticCustomError

from customers.records.models import CUSTOMER_ID_PATTERN

MAX_EMAIL_LENGTH = 254


def normalize_email(value: str) -> str:
    """The address as stored: syntax checked by email-validator, then lower-cased whole."""
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise PydanticCustomError("email", str(exc)) from exc
    return checked.normalized.lower()


def country_code(value: str) -> str:
    code = value.upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise PydanticCustomError("country", "not an ISO 3166-1 alpha-2 country code")
    return code


def language_code(value: str) -> str:
    code = value.lower()
    if pycountry.languages.get(alpha_2=code) is None:
        raise PydanticCustomError("language", "not an ISO 639-1 language code")
    return code


EmailAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_EMAIL_LENGTH),
    AfterValidator(normalize_email),
]
CountryCode = Annotated[
    str, StringConstraints(min_length=2, max_length=2), AfterValidator(country_code)
]
LanguageCode = Annotated[
    str, StringConstraints(min_length=2, max_length=2), AfterValidator(language_code)
]
CustomerId = Annotated[str, StringConstraints(pattern=CUSTOMER_ID_PATTERN)]


def error_summary(error: ValidationError) -> str:
    """``field: reason`` for each error, never the offending value (it may be a password)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in detail['loc']) or 'value'}: {detail['msg']}"
        for detail in error.errors()
    )


class RequestBody(BaseModel):
    """Base of every request model: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")
