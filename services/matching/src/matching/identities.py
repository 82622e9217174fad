"""Turning what callers send (names, dates, SSNs) into the identities matching compares."""

from datetime import date

from matching.matches.comparison import Identity
from matching.names import name_key
from matching.ssn import SsnHasher, clean_ssn


def question_identity(
    hasher: SsnHasher,
    *,
    first_name: str | None,
    last_name: str | None,
    dob: date | None,
    ssn: str | None,
) -> Identity:
    """A question's identity; its SSN hashes include the transposed variants."""
    hashes = hasher.hashes(clean_ssn(ssn), with_transpositions=True) if ssn else None
    return Identity(name_key(first_name), name_key(last_name), dob, hashes)
