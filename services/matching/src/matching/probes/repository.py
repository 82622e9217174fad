"""All SQL of the probe guard: a per-caller lock, the variants asked, the people asked."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from matching.probes.models import AskedPeople, AskedVariant

_LOCK_CALLER = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


class ProbeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_caller(self, subject: str) -> None:
        """Serialize the guard of one caller's requests until the transaction ends, so parallel
        requests see each other's questions and budgets (no read-then-write race)."""
        connection = await self.session.connection()
        await connection.execute(_LOCK_CALLER, {"name": f"matching.probes:{subject}"})

    async def forget_before(
        self, variants_before: datetime, asks_before: datetime, subject: str | None = None
    ) -> None:
        """Drop what no window counts any more (of one caller, or of all)."""
        variants = delete(AskedVariant).where(col(AskedVariant.last_asked_at) < variants_before)
        asks = delete(AskedPeople).where(col(AskedPeople.asked_at) < asks_before)
        if subject is not None:
            variants = variants.where(col(AskedVariant.subject) == subject)
            asks = asks.where(col(AskedPeople.subject) == subject)
        await self.session.exec(variants)
        await self.session.exec(asks)

    async def asked_since(self, subject: str, since: datetime) -> list[tuple[datetime, int]]:
        """The caller's requests since ``since``: when, and how many people; oldest first."""
        rows = await self.session.exec(
            select(AskedPeople.asked_at, AskedPeople.people)
            .where(col(AskedPeople.subject) == subject, col(AskedPeople.asked_at) >= since)
            .order_by(col(AskedPeople.asked_at))
        )
        return [(asked_at, people) for asked_at, people in rows.all()]

    async def record_asked(self, subject: str, at: datetime, people: int) -> None:
        self.session.add(AskedPeople(subject=subject, asked_at=at, people=people))
        await self.session.flush()

    async def variants(
        self, subject: str, person_keys: Sequence[bytes], since: datetime
    ) -> list[tuple[bytes, bytes]]:
        """The (person key, variant) pairs the caller asked with since ``since``."""
        if not person_keys:
            return []
        connection = await self.session.connection()
        rows = await connection.execute(
            _VARIANTS, {"subject": subject, "person_keys": sorted(set(person_keys)), "since": since}
        )
        return [(person_key, variant) for person_key, variant in rows.all()]

    async def record_variants(
        self, subject: str, pairs: Sequence[tuple[bytes, bytes]], at: datetime
    ) -> None:
        """Remember each (person key, variant) pair as asked at ``at``."""
        unique = sorted(set(pairs))
        if not unique:
            return
        connection = await self.session.connection()
        await connection.execute(
            _RECORD_VARIANTS,
            {
                "subject": subject,
                "person_keys": [key for key, _ in unique],
                "variants": [variant for _, variant in unique],
                "at": at,
            },
        )


_VARIANTS = text(
    """
    SELECT person_key, variant FROM probe_variants
    WHERE subject = :subject AND person_key = ANY(CAST(:person_keys AS bytea[]))
      AND last_asked_at >= :since
    """
)
_RECORD_VARIANTS = text(
    """
    INSERT INTO probe_variants (subject, person_key, variant, last_asked_at)
    SELECT :subject, pair.person_key, pair.variant, :at
    FROM unnest(CAST(:person_keys AS bytea[]), CAST(:variants AS bytea[]))
         AS pair(person_key, variant)
    ON CONFLICT (subject, person_key, variant) DO UPDATE SET last_asked_at = excluded.last_asked_at
    """
)
