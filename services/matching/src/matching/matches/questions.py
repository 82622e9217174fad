"""One person of a batch as asked: validated on its own, unusable fields left out with a warning.

A batch never fails for one person: a field that is not usable (an impossible SSN, a date of
birth that is not a date) is dropped from that person's question, and a person left with fewer
than ``MIN_IDENTIFIERS`` identifiers gets an error of their own. Messages name fields, never
their values.
"""

import re
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from matching.matches.schemas import (
    IDENTIFIERS,
    MIN_IDENTIFIERS,
    FieldMessage,
    PersonError,
    PersonQuery,
)

QueryT = TypeVar("QueryT", bound=PersonQuery)
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
UNKNOWN_FIELD = "(unknown field)"


@dataclass(frozen=True)
class Question:
    """A person as asked: the usable fields (None when nothing can be asked), the fields left
    out, and the error that keeps the person from being matched."""

    person: PersonQuery | None
    warnings: list[FieldMessage]
    error: PersonError | None


def _field_name(location: tuple[int | str, ...], known: dict[str, Any]) -> str:
    """The field an error is about; a key the model does not know is named only when it looks
    like a field name (a key may be anything a caller typed, even an SSN)."""
    if not location:
        return "person"
    name = str(location[0])
    return name if name in known or _FIELD_NAME.match(name) else UNKNOWN_FIELD


def _messages(error: ValidationError, model: type[PersonQuery]) -> list[FieldMessage]:
    return [
        FieldMessage(field=_field_name(detail["loc"], model.model_fields), message=detail["msg"])
        for detail in error.errors(include_url=False, include_input=False)
    ]


def usable_fields(model: type[QueryT], raw: object) -> tuple[QueryT | None, list[FieldMessage]]:
    """The item validated without its unusable fields, and a message for each field left out;
    None when even the rest is not valid (a required field is missing or unusable)."""
    if not isinstance(raw, dict):
        return None, [FieldMessage(field="person", message="a person is a JSON object")]
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        messages = _messages(exc, model)
        refused = {str(detail["loc"][0]) for detail in exc.errors() if detail["loc"]}
    rest = {key: value for key, value in raw.items() if key not in refused}
    try:
        return model.model_validate(rest), messages
    except ValidationError as again:
        return None, messages + _messages(again, model)


def question(raw: object, model: type[PersonQuery] = PersonQuery) -> Question:
    """What can be asked about one person of a batch."""
    person, messages = usable_fields(model, raw)
    if person is None:
        return Question(
            None,
            [],
            PersonError(
                title="Not a person that can be matched",
                detail="This person cannot be read; the errors name the fields",
                errors=messages,
            ),
        )
    given = [name for name in IDENTIFIERS if getattr(person, name) is not None]
    if len(given) < MIN_IDENTIFIERS:
        missing = [
            FieldMessage(field=name, message="missing")
            for name in IDENTIFIERS
            if name not in given and all(message.field != name for message in messages)
        ]
        return Question(
            None,
            [],
            PersonError(
                title="Not enough identifiers",
                detail=f"A person needs at least {MIN_IDENTIFIERS} usable identifiers of "
                f"{', '.join(IDENTIFIERS)} to be matched; this one has {len(given)}",
                errors=messages + missing,
            ),
        )
    return Question(person, messages, None)
