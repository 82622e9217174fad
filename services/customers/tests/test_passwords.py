"""argon2id at OWASP's minimum by default, off the event loop, a bounded number at a time."""

import asyncio
import statistics
import threading
import time

import pytest
from passlib.hash import argon2

from common.errors import Unprocessable
from customers.auth.service import personal_words
from customers.config import Settings
from customers.passwords import PasswordHasher, PasswordPolicy

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


async def test_an_account_without_hash_costs_a_real_verification() -> None:
    """Unknown emails take about as long as wrong passwords: no timing oracle."""
    hasher = PasswordHasher.from_settings(Settings())
    real_hash = await hasher.hash(PASSWORD)

    async def median_seconds(password_hash: str | None) -> float:
        durations = []
        for _ in range(5):
            started = time.perf_counter()
            assert not await hasher.verify("wrong-password", password_hash)
            durations.append(time.perf_counter() - started)
        return statistics.median(durations)

    known, unknown = await median_seconds(real_hash), await median_seconds(None)
    assert 0.5 < unknown / known < 2


async def test_hashing_leaves_the_event_loop_free_and_is_bounded() -> None:
    hasher = PasswordHasher.from_settings(Settings(max_concurrent_hashes=2))
    running, most = 0, 0
    lock = threading.Lock()
    real_hash = hasher._context.hash

    def counting_hash(secret: str) -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            return str(real_hash(secret))
        finally:
            with lock:
                running -= 1

    hasher._context.hash = counting_hash  # type: ignore[method-assign]
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    started = time.perf_counter()
    await asyncio.gather(*(hasher.hash(PASSWORD) for _ in range(6)))
    elapsed = time.perf_counter() - started
    ticking.cancel()
    assert most == 2
    assert ticks >= 0.5 * elapsed / 0.005  # the loop kept turning while six hashes ran


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
async def test_policy_refuses_guessable_passwords_quickly(password: str, accepted: bool) -> None:
    policy = PasswordPolicy(min_score=3)
    started = time.perf_counter()
    if accepted:
        await policy.check(
            password, personal=personal_words("maria.schmidt@example.com"), field="password"
        )
    else:
        with pytest.raises(Unprocessable):
            await policy.check(
                password, personal=personal_words("maria.schmidt@example.com"), field="password"
            )
    assert time.perf_counter() - started < 0.5
