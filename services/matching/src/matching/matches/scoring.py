"""Scoring one question against one enrollment, and the blocking keys that find candidates."""

from dataclasses import dataclass
from datetime import date

from matching.matches.comparison import Identity, Levels, compare, swapped
from matching.matches.fellegi_sunter import FellegiSunterModel
from matching.names import phonetic_code

SSN_LAST4_LEVEL = 2

BlockingKey = tuple[str, object, object]


@dataclass(frozen=True, slots=True)
class Scored:
    levels: Levels
    field_weights: tuple[float | None, ...]
    match_weight: float
    probability: float
    names_swapped: bool
    complete: bool


def is_complete(question: Identity, levels: Levels) -> bool:
    """Every identifier the question gives agrees exactly (after normalization) with the record;
    an SSN given as its last four agrees with the last four of the record's. Names alone are
    never complete: many people share them, so the question needs a date of birth or an SSN."""
    if question.dob is None and question.ssn is None:
        return False
    first, last, dob, ssn = levels
    names_agree = last == 0 and (question.first_key is None or first == 0)
    dob_agrees = question.dob is None or dob == 0
    ssn_agrees = (
        question.ssn is None or ssn == 0 or (ssn == SSN_LAST4_LEVEL and question.ssn.full is None)
    )
    return names_agree and dob_agrees and ssn_agrees


class Scorer:
    """Compares in both name orders and keeps the better one, so swapped names still match."""

    def __init__(self, model: FellegiSunterModel) -> None:
        self.model = model

    def score(self, question: Identity, record: Identity) -> Scored:
        straight = compare(question, record)
        straight_weight = self.model.match_weight(straight)
        levels, weight, names_swapped = straight, straight_weight, False
        if question.first_key is not None:
            turned = compare(swapped(question), record)
            turned_weight = self.model.match_weight(turned)
            if turned_weight > straight_weight:
                levels, weight, names_swapped = turned, turned_weight, True
        return Scored(
            levels=levels,
            field_weights=self.model.field_weights(levels),
            match_weight=weight,
            probability=self.model.probability(weight),
            names_swapped=names_swapped,
            complete=not names_swapped and is_complete(question, straight),
        )


@dataclass(frozen=True, slots=True)
class BlockingValues:
    """The values the candidate search looks up: phonetic codes, date of birth, last-4 hash."""

    first_code: str | None
    last_code: str | None
    dob: date | None
    ssn_last4: bytes | None

    @classmethod
    def of(cls, identity: Identity) -> "BlockingValues":
        return cls(
            phonetic_code(identity.first_key),
            phonetic_code(identity.last_key),
            identity.dob,
            identity.ssn.last4 if identity.ssn else None,
        )


def record_blocking_keys(values: BlockingValues) -> list[BlockingKey]:
    """The keys a record is found by: any one agreeing field pair finds it, so one corrupted
    field (or two, when the other two agree) does not lose it."""
    pairs = (
        ("names", values.last_code, values.first_code),
        ("dob_ssn4", values.dob, values.ssn_last4),
        ("dob_last", values.dob, values.last_code),
        ("dob_first", values.dob, values.first_code),
        ("ssn4_last", values.ssn_last4, values.last_code),
        ("ssn4_first", values.ssn_last4, values.first_code),
        ("last", values.last_code, None),
    )
    return [key for key in pairs if key[1] is not None and (key[2] is not None or key[0] == "last")]


def question_blocking_keys(question: Identity) -> list[BlockingKey]:
    """The keys to look up for a question, in both name orders; the last name alone only when
    the question has neither date of birth nor SSN."""
    straight = BlockingValues.of(question)
    keys = set(record_blocking_keys(straight))
    if question.first_key is not None:
        keys |= set(record_blocking_keys(BlockingValues.of(swapped(question))))
    if straight.first_code is not None or straight.dob is not None or straight.ssn_last4:
        keys = {key for key in keys if key[0] != "last"}
    return sorted(keys, key=repr)
