"""All SQL of the probe guard: a per-caller lock, the variants asked, the people asked.

Sent straight to the driver (``common.sql``). Each request of a caller is one row of
``probe_asked_people`` carrying the running total of the people that caller asked so far
(``total``, this request's included): the people a window holds are the newest row's total less
the total before the window's oldest row, two index lookups whatever the caller's history.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from common.sql import Sql, Transaction

_LOCK_CALLER = Sql.of("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")
_FORGET_VARIANTS = Sql.of("DELETE FROM probe_variants WHERE last_asked_at < :before")
_FORGET_ASKS = Sql.of("DELETE FROM probe_asked_people WHERE asked_at < :before")
# The caller's newest request, and the oldest within each window (the index
# ix_probe_asked_people_subject_at_total gives each in one lookup); this request is recorded
# only when both budgets have room for it. A row is never recorded before the caller's newest
# (greatest): the running total grows in the order of asked_at, as the lookups need.
_CHARGE = Sql.of(
    """
    WITH newest AS (
        SELECT asked_at, total FROM probe_asked_people WHERE subject = :subject
        ORDER BY asked_at DESC, total DESC LIMIT 1
    ),
    spent AS (
        SELECT
            coalesce((SELECT total FROM newest) - (
                SELECT total - people FROM probe_asked_people
                WHERE subject = :subject AND asked_at > :hour_since
                ORDER BY asked_at, total LIMIT 1
            ), 0) AS hour,
            coalesce((SELECT total FROM newest) - (
                SELECT total - people FROM probe_asked_people
                WHERE subject = :subject AND asked_at > :day_since
                ORDER BY asked_at, total LIMIT 1
            ), 0) AS day
    ),
    recorded AS (
        INSERT INTO probe_asked_people (subject, asked_at, people, total)
        SELECT :subject, greatest(CAST(:at AS timestamptz), (SELECT asked_at FROM newest)),
               CAST(:people AS integer), coalesce((SELECT total FROM newest), 0) + :people
        FROM spent
        WHERE spent.hour + :people <= CAST(:per_hour AS bigint)
          AND spent.day + :people <= CAST(:per_day AS bigint)
        RETURNING 1
    )
    SELECT spent.hour, spent.day, (SELECT total FROM newest) AS total,
           EXISTS (SELECT FROM recorded) AS recorded
    FROM spent
    """
)
# The caller's oldest request since ``since`` whose running total reaches ``total``: once it
# leaves the window, the people asked since fit.
_REACHING = Sql.of(
    "SELECT asked_at FROM probe_asked_people "
    "WHERE subject = :subject AND asked_at > :since AND total >= :total "
    "ORDER BY asked_at, total LIMIT 1"
)
_VARIANTS = Sql.of(
    """
    SELECT person_key, variant FROM probe_variants
    WHERE subject = :subject AND person_key = ANY(CAST(:person_keys AS bytea[]))
      AND last_asked_at >= :since
    """
)
_RECORD_VARIANTS = Sql.of(
    """
    INSERT INTO probe_variants (subject, person_key, variant, last_asked_at)
    SELECT :subject, pair.person_key, pair.variant, :at
    FROM unnest(CAST(:person_keys AS bytea[]), CAST(:variants AS bytea[]))
         AS pair(person_key, variant)
    ON CONFLICT (subject, person_key, variant) DO UPDATE SET last_asked_at = excluded.last_asked_at
    """
)


@dataclass(frozen=True)
class Charge:
    """A request's people against the caller's budgets."""

    hour: int
    """People the caller asked within the hour before this request."""
    day: int
    """The same within the day."""
    total: int
    """People the caller asked in all before this request (its running total)."""
    recorded: bool
    """Whether the request fitted both budgets, and so was recorded."""


class ProbeRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def lock_caller(self, subject: str) -> None:
        """Serialize the guard of one caller's requests until the transaction ends, so parallel
        requests see each other's questions and budgets (no read-then-write race)."""
        await self.transaction.execute(_LOCK_CALLER, name=f"matching.probes:{subject}")

    async def forget_before(self, variants_before: datetime, asks_before: datetime) -> None:
        """Drop what no window counts any more, of every caller (housekeeping's)."""
        await self.transaction.execute(_FORGET_VARIANTS, before=variants_before)
        await self.transaction.execute(_FORGET_ASKS, before=asks_before)

    async def charge(
        self,
        subject: str,
        people: int,
        at: datetime,
        *,
        hour_since: datetime,
        day_since: datetime,
        per_hour: int,
        per_day: int,
    ) -> Charge:
        """Record the caller's request of ``people`` at ``at`` when the people it asked after
        ``hour_since`` and after ``day_since`` leave room for it under ``per_hour`` and
        ``per_day``; what it found either way."""
        row = await self.transaction.fetchone(
            _CHARGE,
            subject=subject,
            people=people,
            at=at,
            hour_since=hour_since,
            day_since=day_since,
            per_hour=per_hour,
            per_day=per_day,
        )
        return Charge(int(row["hour"]), int(row["day"]), int(row["total"] or 0), row["recorded"])

    async def reaching(self, subject: str, since: datetime, total: int) -> datetime | None:
        """When the caller's oldest request after ``since`` whose running total reaches
        ``total`` was asked (None: no such request)."""
        asked_at: datetime | None = await self.transaction.fetchval(
            _REACHING, subject=subject, since=since, total=total
        )
        return asked_at

    async def variants(
        self, subject: str, person_keys: Sequence[bytes], since: datetime
    ) -> list[tuple[bytes, bytes]]:
        """The (person key, variant) pairs the caller asked with since ``since``."""
        if not person_keys:
            return []
        rows = await self.transaction.fetch(
            _VARIANTS, subject=subject, person_keys=sorted(set(person_keys)), since=since
        )
        return [(row["person_key"], row["variant"]) for row in rows]

    async def record_variants(
        self, subject: str, pairs: Sequence[tuple[bytes, bytes]], at: datetime
    ) -> None:
        """Remember each (person key, variant) pair as asked at ``at``."""
        unique = sorted(set(pairs))
        if not unique:
            return
        await self.transaction.execute(
            _RECORD_VARIANTS,
            subject=subject,
            person_keys=[key for key, _ in unique],
            variants=[variant for _, variant in unique],
            at=at,
        )
