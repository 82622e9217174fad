"""Field types the request schemas of both areas share."""

from typing import Annotated

from pydantic import StringConstraints

MAX_EMAIL_LENGTH = 254

PersonName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=MAX_EMAIL_LENGTH,
        # an email (customers checked it at signup) or a subject id (customers' id pattern)
        pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+|[A-Za-z0-9][A-Za-z0-9._:-]{0,127})$",
    ),
]
"""A person named by email or by subject id."""
