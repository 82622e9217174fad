"""All SQL about the audit log."""

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from matching.audit.models import AuditEntry


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, entry: AuditEntry) -> None:
        self.session.add(entry)
        await self.session.flush()

    async def page(self, *, limit: int, offset: int) -> tuple[list[AuditEntry], int]:
        """Newest first."""
        rows = await self.session.exec(
            select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit).offset(offset)
        )
        total = await self.session.exec(select(func.count()).select_from(AuditEntry))
        return list(rows.all()), total.one()
