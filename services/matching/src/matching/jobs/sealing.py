"""A job's input at rest: people's identifiers sealed with AES-256-GCM, never in plaintext.

The key is derived from the service's SSN secret (``MATCHING_SSN_HASH_KEY``), so a job's input is
as safe as the stored SSN hashes and needs no second secret. Each chunk is bound to its job and
number (associated data): a sealed chunk moved to another job or place does not open.
"""

import hmac
import json
import os
import uuid
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class UnsealableChunk(ValueError):
    """A sealed chunk that does not open under this key (the key changed, or it was altered)."""


class Sealer:
    def __init__(self, secret: bytes) -> None:
        self._aead = AESGCM(hmac.digest(secret, b"matching job input", "sha256"))

    @staticmethod
    def _context(job_id: uuid.UUID, number: int) -> bytes:
        return f"{job_id}:{number}".encode()

    def seal(self, job_id: uuid.UUID, number: int, people: list[Any]) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(people, separators=(",", ":")).encode()
        return nonce + self._aead.encrypt(nonce, plain, self._context(job_id, number))

    def open(self, job_id: uuid.UUID, number: int, sealed: bytes) -> list[Any]:
        nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            plain = self._aead.decrypt(nonce, ciphertext, self._context(job_id, number))
        except (InvalidTag, ValueError):
            raise UnsealableChunk("a job's input does not open under the current key") from None
        people: list[Any] = json.loads(plain)
        return people
