"""All SQL about the audit log."""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.pagination import paginate
from matching.audit.models import AuditEntry


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, entry: AuditEntry) -> None:
        self.session.add(entry)
        await self.session.flush()

    async def page(self, *, limit: int, offset: int) -> tuple[list[AuditEntry], int]:
        """Newest first."""
        statement = select(AuditEntry).order_by(col(AuditEntry.id).desc())
        return await paginate(self.session, statement, limit=limit, offset=offset)
