"""SSNs: checked for possibility, then kept only as keyed hashes (HMAC-SHA256), never in plaintext.

A record keeps the hash of the full SSN, of its last four digits, and of the nine variants with
one digit masked. A question compares its own hashes with those: equal full hashes mean the same
SSN; an equal masked hash means one digit differs; the hash of a variant with two adjacent digits
swapped equal to the record's full hash means a transposition. None of it needs the plaintext.
"""

import hmac
import re
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[\s-]")
MASKED_HASH_BYTES = 8


class ImpossibleSsn(ValueError):
    """Not an SSN the Social Security Administration issues."""


def clean_ssn(value: str) -> str:
    """Nine or four digits, separators removed; ImpossibleSsn (without the value) otherwise."""
    digits = _SEPARATORS.sub("", value)
    if not digits.isascii() or not digits.isdigit() or len(digits) not in (4, 9):
        raise ImpossibleSsn("an SSN is 9 digits (or its last 4), dashes and spaces allowed")
    if len(digits) == 9 and len(set(digits)) == 1:
        raise ImpossibleSsn("an SSN is never one digit repeated")
    if digits.endswith("0000"):
        raise ImpossibleSsn("an SSN never ends in 0000")
    if len(digits) == 9 and (digits[:3] in ("000", "666") or digits[0] == "9"):
        raise ImpossibleSsn("an SSN never starts with 000, 666 or 9")
    if len(digits) == 9 and digits[3:5] == "00":
        raise ImpossibleSsn("an SSN's middle two digits are never 00")
    return digits


@dataclass(frozen=True)
class SsnHashes:
    """What is kept of one SSN: keyed hashes only (``full`` and ``masked`` absent for a last 4)."""

    full: bytes | None
    last4: bytes
    masked: bytes | None
    """Nine hashes of MASKED_HASH_BYTES, the n-th of the SSN with its n-th digit left out."""
    transposed: tuple[bytes, ...] = ()
    """Hashes of the SSN with two adjacent digits swapped; computed for questions, never stored."""


class SsnHasher:
    """HMAC-SHA256 under the service's secret key, one label per kind of hash."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _digest(self, label: str, digits: str) -> bytes:
        return hmac.digest(self._key, f"{label}:{digits}".encode(), "sha256")

    def tag(self, label: str, value: str) -> bytes:
        """A keyed hash of any value under a label of its own (never "full", "last4", "mask*")."""
        return self._digest(label, value)

    def _masked(self, digits: str) -> bytes:
        return b"".join(
            self._digest(f"mask{position}", digits[:position] + digits[position + 1 :])[
                :MASKED_HASH_BYTES
            ]
            for position in range(9)
        )

    def hashes(self, ssn: str, *, with_transpositions: bool = False) -> SsnHashes:
        """The hashes of a cleaned SSN (9 or 4 digits)."""
        last4 = self._digest("last4", ssn[-4:])
        if len(ssn) == 4:
            return SsnHashes(full=None, last4=last4, masked=None)
        transposed: tuple[bytes, ...] = ()
        if with_transpositions:
            transposed = tuple(
                self._digest("full", ssn[:i] + ssn[i + 1] + ssn[i] + ssn[i + 2 :])
                for i in range(8)
                if ssn[i] != ssn[i + 1]
            )
        return SsnHashes(self._digest("full", ssn), last4, self._masked(ssn), transposed)
