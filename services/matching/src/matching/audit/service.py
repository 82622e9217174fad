"""Recording who asked for matches or reports and how many people it concerned."""

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from common.auth import Principal
from matching.audit.models import AuditEntry
from matching.audit.repository import AuditRepository


@dataclass(frozen=True)
class Tally:
    """Counts of one request; nothing in it identifies a person."""

    people: int
    matched: int
    complete_matches: int
    partial_matches: int
    probes_refused: int = 0
    """People not answered because the caller asked about them with too many variants."""


class AuditService:
    def __init__(self, session: AsyncSession) -> None:
        self.entries = AuditRepository(session)

    async def record(self, caller: Principal, action: str, tally: Tally) -> None:
        """One audit row, in the request's unit of work: no answer without its record."""
        await self.entries.add(
            AuditEntry(
                subject=caller.subject,
                roles=",".join(sorted(caller.roles)),
                action=action,
                people=tally.people,
                matched=tally.matched,
                complete_matches=tally.complete_matches,
                partial_matches=tally.partial_matches,
                probes_refused=tally.probes_refused,
            )
        )

    async def page(self, *, limit: int, offset: int) -> tuple[list[AuditEntry], int]:
        return await self.entries.page(limit=limit, offset=offset)
