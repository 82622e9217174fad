"""Password hashing (argon2id, off the event loop, bounded) and the policy for new passwords."""

import asyncio
import os
import secrets
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

import zxcvbn
from passlib.context import CryptContext
from pydantic import StringConstraints

from common.schemas import field_error
from customers.config import Settings

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
# zxcvbn's cost grows with the square of the length; an unguessable prefix is unguessable enough.
STRENGTH_CHECKED_PREFIX = 64
HASHING_NICENESS = 19  # the lowest priority that still never starves


def normalized(password: str) -> str:
    """NFKC, so the same password typed on different keyboards hashes the same (NIST 800-63B)."""
    return unicodedata.normalize("NFKC", password)


def _yield_cpu_to_requests() -> None:
    """Lower this hashing thread's priority (Linux schedules threads one by one), so the event
    loop and the database get a core first while hashes keep the rest busy."""
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


def argon2id(settings: Settings) -> CryptContext:
    """passlib's argon2id with the configured memory, time cost and parallelism."""
    return CryptContext(
        schemes=["argon2"],
        argon2__type="ID",
        argon2__memory_cost=settings.argon2_memory_kib,
        argon2__time_cost=settings.argon2_time_cost,
        argon2__parallelism=settings.argon2_parallelism,
    )


class PasswordHasher:
    """argon2id through passlib, in worker threads, at most ``max_concurrent`` at a time.

    The bound keeps a burst of logins from taking every core: other requests keep being served
    while logins queue for a slot.
    """

    def __init__(self, context: CryptContext, *, max_concurrent: int) -> None:
        self._context = context
        self._slots = asyncio.Semaphore(max_concurrent)
        self._threads = ThreadPoolExecutor(
            max_concurrent, thread_name_prefix="argon2", initializer=_yield_cpu_to_requests
        )
        # Verified when an account has no hash, so unknown emails take as long as known ones.
        self._dummy_hash = self._context.hash(secrets.token_urlsafe(16))

    @classmethod
    def from_settings(cls, settings: Settings) -> "PasswordHasher":
        return cls(argon2id(settings), max_concurrent=settings.max_concurrent_hashes)

    async def hash(self, password: str) -> str:
        async with self._slots:
            password_hash: str = await self._in_thread(self._context.hash, normalized(password))
            return password_hash

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Whether ``password`` matches; with no hash, spend the same time and say no."""
        async with self._slots:
            matches = await self._in_thread(
                self._context.verify, normalized(password), password_hash or self._dummy_hash
            )
        return matches and password_hash is not None

    async def _in_thread(self, function: Callable[..., Any], *args: str) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._threads, function, *args)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the configured ones."""
        return bool(self._context.needs_update(password_hash))


class PasswordPolicy:
    """zxcvbn's estimate: common and guessable passwords are refused (lengths: ``NewPassword``)."""

    _zxcvbn_lock = threading.Lock()  # zxcvbn keeps the user inputs in a module-level dict

    def __init__(self, min_score: int) -> None:
        self.min_score = min_score

    async def check(self, password: str, *, personal: Iterable[str], field: str) -> None:
        """Raise Unprocessable (about body ``field``) when ``password`` is too easy to guess.

        ``personal`` holds the account's own data (email...), which makes a password guessable.
        """
        result = await asyncio.to_thread(self._estimate, normalized(password), list(personal))
        if result["score"] >= self.min_score:
            return
        feedback = result["feedback"]
        hints = [feedback["warning"], *feedback["suggestions"]]
        detail = " ".join(["This password is too easy to guess.", *filter(None, hints)])
        raise field_error(field, detail, error_type="password_policy")

    def _estimate(self, password: str, personal: list[str]) -> dict[str, Any]:
        with self._zxcvbn_lock:
            result: dict[str, Any] = zxcvbn.zxcvbn(
                password[:STRENGTH_CHECKED_PREFIX], user_inputs=personal
            )
            return result


NewPassword = Annotated[
    str, StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
]
"""A password being set: 8 to 128 characters, any characters, no composition rules."""
