"""argon2id at OWASP's minimum by default, off the event loop, a bounded number at a time."""

import asyncio
import threading
from typing import Any

import pytest
from passlib.context import CryptContext
from passlib.hash import argon2

from common.errors import Unprocessable
from customers.auth.service import personal_words
from customers.config import Settings
from customers.passwords import PasswordHasher, PasswordPolicy, argon2id

PASSWORD = "violet-harbor-quilt-1987"


def test_defaults_meet_owasp_minimum() -> None:
    settings = Settings()
    assert settings.argon2_meets_owasp_minimum()


async def test_default_hashes_are_argon2id_with_owasp_parameters() -> None:
    hasher = PasswordHasher.from_settings(Settings())
    password_hash = await hasher.hash(PASSWORD)
    parsed = argon2.parsehash(password_hash)
    assert password_hash.startswith("$argon2id$v=19$")
    assert (parsed["memory_cost"], parsed["rounds"], parsed["parallelism"]) == (19_456, 2, 1)
    assert await hasher.verify(PASSWORD, password_hash)
    assert not await hasher.verify("violet-harbor-quilt-1988", password_hash)


class RecordingContext(CryptContext):
    """argon2id as configured, recording each verification and how many hashes run at once.

    ``hash`` waits for ``release`` (set from the start), so a test can hold hashes in flight.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(**argon2id(settings).to_dict())
        self.verified: list[str] = []
        self.running = self.most = 0
        self.threads: set[int] = set()
        self.release = threading.Event()
        self.release.set()
        self._lock = threading.Lock()

    def verify(self, secret: Any, hash: Any, *args: Any, **kwargs: Any) -> bool:
        self.verified.append(hash)
        return bool(super().verify(secret, hash, *args, **kwargs))

    def hash(self, secret: Any, *args: Any, **kwargs: Any) -> str:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.threads.add(threading.get_ident())
        try:
            assert self.release.wait(timeout=30)
            return str(super().hash(secret, *args, **kwargs))
        finally:
            with self._lock:
                self.running -= 1


async def test_an_account_without_hash_costs_a_real_verification() -> None:
    """Unknown emails run the same argon2id verification as wrong passwords: no timing oracle."""
    settings = Settings()
    context = RecordingContext(settings)
    hasher = PasswordHasher(context, max_concurrent=1)
    real_hash = await hasher.hash(PASSWORD)

    assert not await hasher.verify(PASSWORD, None)
    assert not await hasher.verify("wrong-password", real_hash)
    unknown, known = (argon2.parsehash(verified) for verified in context.verified)
    assert unknown.keys() == known.keys()
    assert all(unknown[name] == known[name] for name in ("memory_cost", "rounds", "parallelism"))
    assert context.verified[0] != real_hash


async def test_hashing_leaves_the_event_loop_free_and_is_bounded() -> None:
    context = RecordingContext(Settings(argon2_memory_kib=8, argon2_time_cost=1))
    hasher = PasswordHasher(context, max_concurrent=2)
    context.threads.clear()  # the dummy hash was made at construction, on this thread
    context.release.clear()  # every hash now waits until the loop lets it go
    hashes = asyncio.gather(*(hasher.hash(PASSWORD) for _ in range(6)))
    for _ in range(3000):  # the loop keeps turning while two hashes are held in their threads
        if context.running == 2:
            break
        await asyncio.sleep(0.01)
    assert context.running == 2
    context.release.set()
    assert len(await hashes) == 6
    assert context.most == 2
    assert threading.get_ident() not in context.threads


async def test_passwords_are_compared_after_unicode_normalization() -> None:
    hasher = PasswordHasher.from_settings(Settings(argon2_memory_kib=8, argon2_time_cost=1))
    full_width = "".join(chr(ord(letter) + 0xFEE0) for letter in "violet")
    password_hash = await hasher.hash(f"{full_width}-harbor-quilt-1987")
    assert await hasher.verify(PASSWORD, password_hash)


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("violet-harbor-quilt-1987", True),
        ("Zq8#" + "river-stone-" * 10, True),
        ("x9!" * 42, False),  # 126 characters, but a repeat
        ("password123", False),
        ("iloveyou2", False),
        ("maria.schmidt", False),  # the account's own name
    ],
)
async def test_policy_refuses_guessable_passwords(password: str, accepted: bool) -> None:
    policy = PasswordPolicy(min_score=3)
    if accepted:
        await policy.check(
            password, personal=personal_words("maria.schmidt@example.com"), field="password"
        )
    else:
        with pytest.raises(Unprocessable):
            await policy.check(
                password, personal=personal_words("maria.schmidt@example.com"), field="password"
            )
