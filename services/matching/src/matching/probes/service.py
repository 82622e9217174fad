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
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache

from common.errors import TooManyRequests
from common.schemas import field_error
from common.sql import Transaction
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
    max_variants_per_name_family: int
    people_per_hour: int
    people_per_day: int

    @classmethod
    def of(cls, settings: Settings) -> "ProbeLimits":
        return cls(
            window=timedelta(seconds=settings.probe_window_seconds),
            max_ssn_variants=settings.max_ssn_variants,
            max_dob_variants=settings.max_dob_variants,
            max_variants_per_name=settings.max_variants_per_name,
            max_variants_per_name_family=settings.max_variants_per_name_family,
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


@dataclass(frozen=True)
class _Limits:
    """Each limit a question may meet, with the message a refusal gives for it."""

    ssn_person: _Limit
    ssn_name: _Limit
    ssn_family: _Limit
    dob_person: _Limit
    dob_name: _Limit
    dob_family: _Limit

    @classmethod
    def of(cls, limits: ProbeLimits) -> "_Limits":
        ssn, dob = limits.max_ssn_variants, limits.max_dob_variants
        name, family = limits.max_variants_per_name, limits.max_variants_per_name_family
        return cls(
            _Limit(ssn, "ssn", _asked(ssn, "SSNs", "person")),
            _Limit(name, "ssn", _asked(name, "SSNs", "name")),
            _Limit(family, "ssn", _asked(family, "SSNs", "similar name or date of birth")),
            _Limit(dob, "dob", _asked(dob, "dates of birth", "person or SSN")),
            _Limit(name, "dob", _asked(name, "dates of birth", "name")),
            _Limit(family, "dob", _asked(family, "dates of birth", "similar name")),
        )


@dataclass(frozen=True, slots=True)
class _Check:
    """One limit a question must pass, for one person key and the variant it asks with."""

    person_key: bytes
    variant: bytes
    limit: _Limit


UnitsOfWork = Callable[[], AbstractAsyncContextManager[Transaction]]
"""Opens a unit of work of its own, committed when its block ends (``DriverPool.transaction``)."""


class ProbeGuard:
    def __init__(
        self,
        transaction: Transaction,
        hasher: SsnHasher,
        limits: ProbeLimits,
        now: Callable[[], datetime] = utc_now,
        *,
        committed: UnitsOfWork | None = None,
    ) -> None:
        """``transaction``: the caller's unit of work (a job's charge, housekeeping);
        ``committed``: where ``screen`` runs, committed at once (a request's guard)."""
        self.probes = ProbeRepository(transaction)
        self.committed = committed
        self.hasher = hasher
        self.limits = limits
        self.now = now
        self._limits = _Limits.of(limits)

    async def screen(
        self, subject: str, questions: Sequence[Identity | None]
    ) -> dict[int, Refusal]:
        """The refused questions by index (None: a person that cannot be asked about,
        counted in the budget only); raises TooManyRequests when the caller is over budget.
        What it admits is committed at once, under a per-caller lock, so parallel requests
        cannot together ask more than one may, and a failure later in the request does not
        give the caller its questions back: in a unit of work of its own (``committed``),
        before the request's own begins."""
        assert self.committed is not None, "a request's screening is committed at once"
        async with self.committed() as transaction:
            probes = ProbeRepository(transaction)
            now = await self._lock(probes, subject)
            await self._charge_budget(probes, subject, len(questions), now)
            return await self._check_variants(probes, subject, questions, now)

    async def charge(self, subject: str, people: int) -> None:
        """Charge a job's people to the caller's budget when it is submitted (429 or 422, as for
        one request of that size); its steps are then screened by ``JobStepGuard``."""
        now = await self._lock(self.probes, subject)
        await self._charge_budget(self.probes, subject, people, now)

    async def _lock(self, probes: ProbeRepository, subject: str) -> datetime:
        """Take the caller's lock; the time counted by, read once it is held (so a caller's
        requests are counted in the order they held it). What is past the windows is left to
        housekeeping (``forget_expired``): no window counts it."""
        await probes.lock_caller(subject)
        return self.now()

    async def _check_variants(
        self,
        probes: ProbeRepository,
        subject: str,
        questions: Sequence[Identity | None],
        now: datetime,
    ) -> dict[int, Refusal]:
        tag = cache(self.hasher.tag)  # one batch asks about the same few people many times
        checks = [self._checks(question, tag) if question else [] for question in questions]
        known: defaultdict[bytes, set[bytes]] = defaultdict(set)
        keys = [check.person_key for question in checks for check in question]
        since = now - self.limits.window
        for person_key, variant in await probes.variants(subject, keys, since):
            known[person_key].add(variant)
        refusals, admitted = _admit(checks, known)
        await probes.record_variants(subject, admitted, now)
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

    async def _charge_budget(
        self, probes: ProbeRepository, subject: str, people: int, now: datetime
    ) -> None:
        """Record the request's people, or refuse it (429) while a budget is spent."""
        budgets = (
            (HOUR, self.limits.people_per_hour, "hour"),
            (DAY, self.limits.people_per_day, "day"),
        )
        for _, limit, name in budgets:
            if people > limit:
                raise field_error("people", f"at most {limit} people per {name} for one caller")
        charge = await probes.charge(
            subject,
            people,
            now,
            hour_since=now - HOUR,
            day_since=now - DAY,
            per_hour=self.limits.people_per_hour,
            per_day=self.limits.people_per_day,
        )
        if charge.recorded:
            return
        for (window, limit, name), spent in zip(budgets, (charge.hour, charge.day), strict=True):
            if spent + people > limit:
                # The window's requests (oldest first) must leave it until ``people`` more fit:
                # up to the one whose running total reaches this one's less the limit.
                reaching = charge.total + people - limit
                leaves = await probes.reaching(subject, now - window, reaching)
                assert leaves is not None, "people <= limit, checked before"
                raise TooManyRequests(
                    f"This caller's budget of {limit} people per {name} is spent",
                    retry_after=math.ceil((leaves + window - now).total_seconds()),
                )
        raise AssertionError("a request within both budgets is recorded")

    def _checks(self, question: Identity, tag: Callable[[str, str], bytes]) -> list[_Check]:
        """The limits a question is counted against (none without a date of birth or SSN)."""
        first, last = question.first_key, question.last_key
        codes = (_code(first), _code(last))
        names = "|".join(sorted(code for code in codes if code))  # either name order
        # Names as a misspelling still matches them: one name's code and the other's initial
        # (either order); the date of birth with an initial (the other name may be anything).
        families = [f"{codes[1]}|{first[:1] if first else ''}"]
        if first:
            families.append(f"{codes[0]}|{last[:1] if last else ''}")
        initials = sorted({key[:1] for key in (first, last) if key})
        ssn = (question.ssn.full or question.ssn.last4) if question.ssn else None
        ssn_token = ssn.hex() if ssn else ""
        dob_token = question.dob.isoformat() if question.dob else ""
        limit = self._limits
        keys: list[tuple[bytes, bytes, _Limit]] = []
        if ssn:
            variant = tag("probe-ssn", ssn_token)
            keys += [
                (tag("probe-ssn-of", f"{names}|{dob_token}"), variant, limit.ssn_person),
                (tag("probe-ssn-of-name", names), variant, limit.ssn_name),
            ]
            keys += [(tag("probe-ssn-of-names", f), variant, limit.ssn_family) for f in families]
            if dob_token:
                dobs = [f"{dob_token}|{initial}" for initial in initials]
                keys += [(tag("probe-ssn-of-dob", d), variant, limit.ssn_family) for d in dobs]
        if dob_token:
            variant = tag("probe-dob", dob_token)
            keys += [
                (tag("probe-dob-of", f"{names}|{ssn_token}"), variant, limit.dob_person),
                (tag("probe-dob-of-name", names), variant, limit.dob_name),
            ]
            keys += [(tag("probe-dob-of-names", f), variant, limit.dob_family) for f in families]
            if question.ssn and question.ssn.full:  # a full SSN is one person's, whatever the name
                keys.append((tag("probe-dob-of-ssn", ssn_token), variant, limit.dob_person))
        return [_Check(*key) for key in keys]


class JobStepGuard(ProbeGuard):
    """The guard of a job's step. The job's people were charged to the owner's budget when it
    was submitted; each step checks and records their variants like a request's, but in the
    step's own transaction (nothing is committed early: the step holds its job's lock, and a step
    that fails is run again with the same questions, answering nothing meanwhile)."""

    async def screen(
        self, subject: str, questions: Sequence[Identity | None]
    ) -> dict[int, Refusal]:
        now = await self._lock(self.probes, subject)
        return await self._check_variants(self.probes, subject, questions, now)


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
