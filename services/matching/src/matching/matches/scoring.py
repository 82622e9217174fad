"""Scoring one question against one enrollment, and the blocking keys that find candidates."""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from matching.matches.comparison import Identity, Levels, compare, swapped
from matching.matches.fellegi_sunter import FellegiSunterModel
from matching.names import phonetic_code

SSN_LAST4_LEVEL = 2
SHRINKAGE_PEOPLE = 1000.0
"""How many people's worth of say the starting model's u keeps against counted frequencies."""

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


def shrunk(observed: float, people: float, starting: float) -> float:
    """``observed`` over ``people`` people, pulled toward ``starting`` by SHRINKAGE_PEOPLE."""
    return (observed * people + starting * SHRINKAGE_PEOPLE) / (people + SHRINKAGE_PEOPLE)


@dataclass(frozen=True)
class NameFrequencies:
    """The people holding each name key asked about, and the people with each name field."""

    counts: Mapping[tuple[str, str], int] = field(default_factory=dict)
    totals: Mapping[str, float] = field(default_factory=dict)

    def exact_u(self, name: str, key: str, average: float) -> float:
        """How often two different people share this very name (shrunk toward ``average``)."""
        people = self.totals.get(name, 0.0)
        if people <= 0:
            return average
        holders = max(self.counts.get((name, key), 0), 1)
        return shrunk(holders / people, people, average)

    def adjustment(self, name: str, key: str, average: float) -> float:
        """Bits to add to the exact level's weight for this name: + for a rare one."""
        return math.log2(average / self.exact_u(name, key, average))


NAME_LEVELS = ((0, "first_name"), (1, "last_name"))


class Scorer:
    """Compares in both name orders and keeps the better one, so swapped names still match; an
    exact name weighs by how many people hold it (``frequencies``)."""

    def __init__(
        self, model: FellegiSunterModel, frequencies: NameFrequencies | None = None
    ) -> None:
        self.model = model
        self.frequencies = frequencies or NameFrequencies()

    def weights(self, levels: Levels, record: Identity) -> tuple[float | None, ...]:
        """Each field's weight; an exact name's adjusted by that name's own frequency."""
        weights = list(self.model.field_weights(levels))
        for index, name in NAME_LEVELS:
            key = record.first_key if index == 0 else record.last_key
            weight = weights[index]
            if levels[index] == 0 and key is not None and weight is not None:
                average = self.model.fields[name].u[0]
                weights[index] = weight + self.frequencies.adjustment(name, key, average)
        return tuple(weights)

    def score(self, question: Identity, record: Identity) -> Scored:
        straight = compare(question, record)
        straight_weights = self.weights(straight, record)
        levels, weights, names_swapped = straight, straight_weights, False
        if question.first_key is not None:
            turned = compare(swapped(question), record)
            turned_weights = self.weights(turned, record)
            if _total(turned_weights) > _total(straight_weights):
                levels, weights, names_swapped = turned, turned_weights, True
        weight = _total(weights)
        return Scored(
            levels=levels,
            field_weights=weights,
            match_weight=weight,
            probability=self.model.probability(weight),
            names_swapped=names_swapped,
            complete=not names_swapped and is_complete(question, straight),
        )


def _total(weights: tuple[float | None, ...]) -> float:
    return sum(weight for weight in weights if weight is not None)


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
