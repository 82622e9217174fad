"""One person of a batch as asked: validated on its own, unusable fields left out with a warning.

A batch never fails for one person: a field that is not usable (an impossible SSN, a date of
birth that is not a date) is dropped from that person's question, and a person left with fewer
than ``MIN_IDENTIFIERS`` identifiers gets an error of their own. Messages name fields, never
their values.
"""

from dataclasses import dataclass

from matching.lenient import validate_leniently
from matching.matches.schemas import FieldMessage, PersonError, PersonQuery
from matching.schemas import IDENTIFIERS, MIN_IDENTIFIERS


@dataclass(frozen=True)
class Question:
    """A person as asked: the usable fields (None when nothing can be asked), the fields left
    out, and the error that keeps the person from being matched."""

    person: PersonQuery | None
    warnings: list[FieldMessage]
    error: PersonError | None


def _field_messages(pairs: list[tuple[str, str]]) -> list[FieldMessage]:
    return [FieldMessage(field=name, message=message) for name, message in pairs]


def question(raw: object, model: type[PersonQuery] = PersonQuery) -> Question:
    """What can be asked about one person of a batch."""
    validated = validate_leniently(model, raw, label="person")
    person = validated.item
    if person is None:
        return Question(
            None,
            [],
            PersonError(
                title="Not a person that can be matched",
                detail="This person cannot be read; the errors name the fields",
                errors=_field_messages(validated.refused),
            ),
        )
    messages = _field_messages(validated.dropped)
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
