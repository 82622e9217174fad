"""The probe guard: a caller may not ask about one person with many variants of an identifier,
nor about more people than its hourly and daily budgets.

Whether a question is refused depends only on the caller's own questions (this batch and its
recent history), never on the enrollments: a refusal tells the caller nothing about who is
enrolled. Everything remembered is a keyed hash (``SsnHasher.tag``) under labels of its own, so
the guard's table cannot be joined with the enrollments' SSN hashes.
"""

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache

from sqlmodel.ext.asyncio.session import AsyncSession

from common.database import end_transaction_early
from common.errors import TooManyRequests
from common.schemas import field_error
from matching.config import Settings
from matching.matches.comparison import Identity
from matching.names import phonetic_code
from matching.probes.repository import ProbeRepository
from matching.ssn import SsnHasher

logger = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ProbeLimits:
    window: timedelta
    max_ssn_variants: int
    max_dob_variants: int
    max_variants_per_name: int
    people_per_hour: int
    people_per_day: int

    @classmethod
    def of(cls, settings: Settings) -> "ProbeLimits":
        return cls(
            window=timedelta(seconds=settings.probe_window_seconds),
            max_ssn_variants=settings.max_ssn_variants,
            max_dob_variants=settings.max_dob_variants,
            max_variants_per_name=settings.max_variants_per_name,
            people_per_hour=settings.people_per_hour,
            people_per_day=settings.people_per_day,
        )


@dataclass(frozen=True)
class Refusal:
    """Why one question is refused: each field asked with too many variants, and the limit."""

    fields: tuple[tuple[str, str], ...]
    """(field, message) pairs; the messages name limits, never values."""


@dataclass(frozen=True)
class _Limit:
    """At most ``count`` variants of ``field`` per person key; ``message`` says so."""

    count: int
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class _Check:
    """One limit a question must pass, for one person key and the variant it asks with."""

    person_key: bytes
    variant: bytes
    limit: _Limit


class ProbeGuard:
    def __init__(
        self,
        session: AsyncSession,
        hasher: SsnHasher,
        limits: ProbeLimits,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.session = session
        self.probes = ProbeRepository(session)
        self.hasher = hasher
        self.limits = limits
        self.now = now
        per_name = limits.max_variants_per_name
        self._limits = (
            _Limit(
                limits.max_ssn_variants, "ssn", _asked(limits.max_ssn_variants, "SSNs", "person")
            ),
            _Limit(per_name, "ssn", _asked(per_name, "SSNs", "name")),
            _Limit(
                limits.max_dob_variants,
                "dob",
                _asked(limits.max_dob_variants, "dates of birth", "person"),
            ),
            _Limit(per_name, "dob", _asked(per_name, "dates of birth", "name")),
        )

    async def screen(
        self, subject: str, questions: Sequence[Identity | None]
    ) -> dict[int, Refusal]:
        """The refused questions by index (None: a person that cannot be asked about,
        counted in the budget only); raises TooManyRequests when the caller is over budget.
        What it admits is committed at once, under a per-caller lock, so parallel requests
        cannot together ask more than one may, and a failure later in the request does not
        give the caller its questions back."""
        now = await self._lock(subject)
        await self._charge_budget(subject, len(questions), now)
        refusals = await self._check_variants(subject, questions, now)
        await end_transaction_early(self.session)  # the questions count although the request fails
        return refusals

    async def charge(self, subject: str, people: int) -> None:
        """Charge a job's people to the caller's budget when it is submitted (429 or 422, as for
        one request of that size); its steps are then screened by ``JobStepGuard``."""
        now = await self._lock(subject)
        await self._charge_budget(subject, people, now)

    async def _lock(self, subject: str) -> datetime:
        """Take the caller's lock and forget what is past the windows; the time counted by."""
        now = self.now()
        await self.probes.lock_caller(subject)
        await self.probes.forget_before(now - self.limits.window, now - DAY, subject)
        return now

    async def _check_variants(
        self, subject: str, questions: Sequence[Identity | None], now: datetime
    ) -> dict[int, Refusal]:
        tag = cache(self.hasher.tag)  # one batch asks about the same few people many times
        checks = [self._checks(question, tag) if question else [] for question in questions]
        known: defaultdict[bytes, set[bytes]] = defaultdict(set)
        keys = [check.person_key for question in checks for check in question]
        since = now - self.limits.window
        for person_key, variant in await self.probes.variants(subject, keys, since):
            known[person_key].add(variant)
        refusals, admitted = _admit(checks, known)
        await self.probes.record_variants(subject, admitted, now)
        if refusals:
            fields = sorted({field for refusal in refusals.values() for field, _ in refusal.fields})
            logger.warning(
                "probe refused: a caller asked about one person with too many variants",
                extra={"event": "matching_probe", "refused": len(refusals), "fields": fields},
            )
        return refusals

    async def forget_expired(self) -> None:
        """Housekeeping: drop every caller's questions that no window counts any more."""
        now = self.now()
        await self.probes.forget_before(now - self.limits.window, now - DAY)

    async def _charge_budget(self, subject: str, people: int, now: datetime) -> None:
        """Record the request's people, or refuse it (429) while a budget is spent."""
        budgets = (
            (HOUR, self.limits.people_per_hour, "hour"),
            (DAY, self.limits.people_per_day, "day"),
        )
        for _, limit, name in budgets:
            if people > limit:
                raise field_error("people", f"at most {limit} people per {name} for one caller")
        asked = await self.probes.asked_since(subject, now - DAY)
        for window, limit, name in budgets:
            wait = _wait([item for item in asked if item[0] > now - window], window, limit, people)
            if wait is not None:
                raise TooManyRequests(
                    f"This caller's budget of {limit} people per {name} is spent",
                    retry_after=math.ceil((wait - now).total_seconds()),
                )
        await self.probes.record_asked(subject, now, people)

    def _checks(self, question: Identity, tag: Callable[[str, str], bytes]) -> list[_Check]:
        """The limits a question is counted against (none without a date of birth or SSN)."""
        codes = (_code(question.first_key), _code(question.last_key))
        names = "|".join(sorted(code for code in codes if code))  # either name order
        ssn = (question.ssn.full or question.ssn.last4) if question.ssn else None
        ssn_token = ssn.hex() if ssn else ""
        dob_token = question.dob.isoformat() if question.dob else ""
        person_ssn, name_ssn, person_dob, name_dob = self._limits
        checks = []
        if ssn:
            variant = tag("probe-ssn", ssn_token)
            checks += [
                _Check(tag("probe-ssn-of", f"{names}|{dob_token}"), variant, person_ssn),
                _Check(tag("probe-ssn-of-name", names), variant, name_ssn),
            ]
        if question.dob:
            variant = tag("probe-dob", dob_token)
            checks += [
                _Check(tag("probe-dob-of", f"{names}|{ssn_token}"), variant, person_dob),
                _Check(tag("probe-dob-of-name", names), variant, name_dob),
            ]
        return checks


class JobStepGuard(ProbeGuard):
    """The guard of a job's step. The job's people were charged to the owner's budget when it
    was submitted; each step checks and records their variants like a request's, but in the
    step's own transaction (nothing is committed early: the step holds its job's lock, and a step
    that fails is run again with the same questions, answering nothing meanwhile)."""

    async def screen(
        self, subject: str, questions: Sequence[Identity | None]
    ) -> dict[int, Refusal]:
        now = await self._lock(subject)
        return await self._check_variants(subject, questions, now)


def _asked(limit: int, what: str, whom: str) -> str:
    return f"more than {limit} different {what} asked for this {whom} within the window"


@lru_cache(maxsize=4096)
def _code(key: str | None) -> str | None:
    return phonetic_code(key)


def _admit(
    checks: Sequence[Sequence[_Check]], known: defaultdict[bytes, set[bytes]]
) -> tuple[dict[int, Refusal], list[tuple[bytes, bytes]]]:
    """Walk the questions in order: each passes when every one of its variants is already known
    for its person or its person still has room; what passes becomes known."""
    refusals: dict[int, Refusal] = {}
    admitted: list[tuple[bytes, bytes]] = []
    for number, question in enumerate(checks):
        over = [
            check
            for check in question
            if check.variant not in known[check.person_key]
            and len(known[check.person_key]) >= check.limit.count
        ]
        if over:
            messages = dict.fromkeys((check.limit.field, check.limit.message) for check in over)
            refusals[number] = Refusal(tuple(messages))
            continue
        for check in question:
            known[check.person_key].add(check.variant)
            admitted.append((check.person_key, check.variant))
    return refusals, admitted


def _wait(
    asked: Sequence[tuple[datetime, int]], window: timedelta, limit: int, people: int
) -> datetime | None:
    """When enough of the window's requests (oldest first) have left it for ``people`` more to
    fit under ``limit``; None when they fit now."""
    excess = sum(count for _, count in asked) + people - limit
    if excess <= 0:
        return None
    for asked_at, count in asked:
        excess -= count
        if excess <= 0:
            return asked_at + window
    raise AssertionError("people <= limit, checked before")
