"""Field by field comparison of a question about a person with one enrollment, in levels.

Each field compares to one level of agreement (the first is the strongest), or to None when either
side lacks the field. The levels are what the Fellegi-Sunter model weighs.
"""

from dataclasses import dataclass
from datetime import date

from rapidfuzz.distance import JaroWinkler

from matching.ssn import MASKED_HASH_BYTES, SsnHashes

FIRST_NAME_LEVELS = ("exact", "close", "similar", "different")
LAST_NAME_LEVELS = ("exact", "compound", "close", "similar", "different")
DOB_LEVELS = ("exact", "day_month_swapped", "one_digit", "different")
SSN_LEVELS = ("full", "one_digit_or_swap", "last4", "different")
FIELD_LEVELS: dict[str, tuple[str, ...]] = {
    "first_name": FIRST_NAME_LEVELS,
    "last_name": LAST_NAME_LEVELS,
    "dob": DOB_LEVELS,
    "ssn": SSN_LEVELS,
}
FIELDS = tuple(FIELD_LEVELS)
CLOSE_SIMILARITY = 0.92
SIMILAR_SIMILARITY = 0.80
MIN_COMPOUND_PART = 3

Levels = tuple[int | None, int | None, int | None, int | None]
"""The level index of first name, last name, date of birth and SSN, in FIELDS order."""


@dataclass(frozen=True, slots=True)
class Identity:
    """The identifiers of one side of a comparison, already normalized and hashed."""

    first_key: str | None
    last_key: str | None
    dob: date | None
    ssn: SsnHashes | None


def compare_first_name(question: str | None, record: str | None) -> int | None:
    if not question or not record:
        return None
    if question == record:
        return 0
    similarity = JaroWinkler.similarity(question, record)
    if similarity >= CLOSE_SIMILARITY:
        return 1
    return 2 if similarity >= SIMILAR_SIMILARITY else 3


def is_compound_part(short: str, long: str) -> bool:
    """``garcia`` of ``garcialopez``: one name is the start or the end of the other."""
    return len(short) >= MIN_COMPOUND_PART and (long.startswith(short) or long.endswith(short))


def compare_last_name(question: str | None, record: str | None) -> int | None:
    if not question or not record:
        return None
    if question == record:
        return 0
    short, long = sorted((question, record), key=len)
    if is_compound_part(short, long):
        return 1
    similarity = JaroWinkler.similarity(question, record)
    if similarity >= CLOSE_SIMILARITY:
        return 2
    return 3 if similarity >= SIMILAR_SIMILARITY else 4


def compare_dob(question: date | None, record: date | None) -> int | None:
    if question is None or record is None:
        return None
    if question == record:
        return 0
    if (question.year, question.month, question.day) == (record.year, record.day, record.month):
        return 1
    differing = sum(a != b for a, b in zip(f"{question:%Y%m%d}", f"{record:%Y%m%d}", strict=True))
    return 2 if differing == 1 else 3


def compare_ssn(question: SsnHashes | None, record: SsnHashes | None) -> int | None:
    if question is None or record is None:
        return None
    if question.full is not None and record.full is not None:
        if question.full == record.full:
            return 0
        if record.full in question.transposed:
            return 1
        return 1 if _one_masked_hash_equal(question.masked, record.masked) else 3
    return 2 if question.last4 == record.last4 else 3


def _one_masked_hash_equal(question: bytes | None, record: bytes | None) -> bool:
    """Some position whose masked hashes agree: the SSNs differ in that digit at most."""
    if question is None or record is None:
        return False
    size = MASKED_HASH_BYTES
    return any(
        question[start : start + size] == record[start : start + size]
        for start in range(0, len(question), size)
    )


def compare_names(question: Identity, record: Identity) -> tuple[int | None, int | None]:
    return (
        compare_first_name(question.first_key, record.first_key),
        compare_last_name(question.last_key, record.last_key),
    )


def swapped(identity: Identity) -> Identity:
    """The same identity with first and last name exchanged."""
    return Identity(identity.last_key, identity.first_key, identity.dob, identity.ssn)


def compare(question: Identity, record: Identity) -> Levels:
    first, last = compare_names(question, record)
    return (
        first,
        last,
        compare_dob(question.dob, record.dob),
        compare_ssn(question.ssn, record.ssn),
    )
