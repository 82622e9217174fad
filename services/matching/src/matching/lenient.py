"""One item of a batch validated on its own, its unusable optional fields left out.

Used for the people of a match request and the rows of an upload: a field that is not usable (an
impossible SSN, a date of birth that is not a date) is dropped with a message, and only an item
that is not valid without it is refused. Messages name fields, never their values.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)
FieldMessage = tuple[str, str]
"""(field, message): a field's name and what is wrong with it, never its value."""
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
UNKNOWN_FIELD = "(unknown field)"


@dataclass(frozen=True)
class Lenient(Generic[ModelT]):
    """The item without its unusable fields (None when it is refused), what was dropped, and
    why it was refused."""

    item: ModelT | None
    dropped: list[FieldMessage] = field(default_factory=list)
    refused: list[FieldMessage] = field(default_factory=list)


def _field_name(key: str, known: dict[str, Any]) -> str:
    """A key the model does not know is named only when it looks like a field name (a key may
    be anything a caller typed, even an SSN)."""
    return key if key in known or _FIELD_NAME.match(key) else UNKNOWN_FIELD


def _messages(error: ValidationError) -> list[tuple[str | None, str]]:
    """(key as sent or None for the whole item, message) of each error."""
    return [
        (str(detail["loc"][0]) if detail["loc"] else None, detail["msg"])
        for detail in error.errors(include_url=False, include_input=False)
    ]


def validate_leniently(
    model: type[ModelT],
    raw: object,
    *,
    label: str,
    droppable: Collection[str] | None = None,
) -> Lenient[ModelT]:
    """``raw`` as ``model``, leaving out the fields in ``droppable`` (any field when None) that
    are not valid; refused when another field or the item as a whole is not valid (errors about
    the whole item are named ``label``)."""

    def named(messages: list[tuple[str | None, str]]) -> list[FieldMessage]:
        return [
            (label if key is None else _field_name(key, model.model_fields), message)
            for key, message in messages
        ]

    if not isinstance(raw, dict):
        return Lenient(None, refused=[(label, "must be a JSON object")])
    try:
        return Lenient(model.model_validate(raw))
    except ValidationError as exc:
        messages = _messages(exc)
    keys = {key for key, _ in messages}
    if None in keys or (droppable is not None and not keys <= set(droppable)):
        return Lenient(None, refused=named(messages))
    rest = {key: value for key, value in raw.items() if key not in keys}
    try:
        return Lenient(model.model_validate(rest), dropped=named(messages))
    except ValidationError as again:
        return Lenient(None, refused=named(messages + _messages(again)))
