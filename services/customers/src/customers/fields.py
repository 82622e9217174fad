"""Validated field types shared by the request schemas and the import: email, country, language.

No ORM import here: the table models take their patterns from this module, not the reverse.
"""

from typing import Annotated

import pycountry
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError

MAX_EMAIL_LENGTH = 254
CUSTOMER_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


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
