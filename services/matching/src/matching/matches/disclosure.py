"""What an answer says of a match: no more about an identifier than the question held.

Names are shown as they compared (the match carries the enrollment's names anyway). A date of
birth or an SSN is shown only as agreeing exactly with what the question gave (``exact``;
``full`` or ``last4`` for an SSN) or not (``not_exact``): a near miss is never named, because
``day_month_swapped`` hands over the date of birth and ``one_digit_or_swap`` narrows an SSN to 89
values. The weight and probability answered count only the evidence shown, so they cannot be
subtracted back into the hidden level.
"""

from matching.matches.comparison import FIELD_LEVELS, FIELDS
from matching.matches.fellegi_sunter import FellegiSunterModel
from matching.matches.schemas import Agreement, FieldAgreement
from matching.matches.scoring import Scored

NOT_EXACT = "not_exact"
MISSING = FieldAgreement(level="missing", weight=0.0)
"""Either side lacks the field: no evidence for or against."""
IDENTIFIER_EXACT_LEVELS = {"dob": {0}, "ssn": {0, 2}}
"""The levels of the identifiers that are exact agreement with the question's own value."""


def _shown(name: str, level: int | None) -> bool:
    exact = IDENTIFIER_EXACT_LEVELS.get(name)
    return level is not None and (exact is None or level in exact)


def agreement(scored: Scored) -> Agreement:
    """Each field's level as disclosed: names as compared, identifiers exact or not."""
    parts: dict[str, FieldAgreement] = {}
    for name, level, weight in zip(FIELDS, scored.levels, scored.field_weights, strict=True):
        if level is None or weight is None:
            parts[name] = MISSING
        elif _shown(name, level):
            parts[name] = FieldAgreement(level=FIELD_LEVELS[name][level], weight=round(weight, 3))
        else:
            parts[name] = FieldAgreement(level=NOT_EXACT, weight=None)
    return Agreement(names_swapped=scored.names_swapped, **parts)


def disclosed_weight(scored: Scored) -> float:
    """The match weight of the fields shown with their level (a not_exact one adds nothing)."""
    return sum(
        weight
        for name, level, weight in zip(FIELDS, scored.levels, scored.field_weights, strict=True)
        if weight is not None and _shown(name, level)
    )


def disclosed_probability(scored: Scored, model: FellegiSunterModel) -> float:
    return model.probability(disclosed_weight(scored))
