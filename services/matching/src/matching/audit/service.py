"""Recording who asked for matches or reports and how many people it concerned."""

from dataclasses import dataclass

from common.auth import Principal
from common.sql import Record, Transaction
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


def audit_row(caller: Principal, action: str, tally: Tally) -> dict[str, int | str]:
    """The audit row of one request (``AuditEntry``'s columns): who asked, what, how many."""
    return {
        "subject": caller.subject,
        "roles": ",".join(sorted(caller.roles)),
        "action": action,
        "people": tally.people,
        "matched": tally.matched,
        "complete_matches": tally.complete_matches,
        "partial_matches": tally.partial_matches,
        "probes_refused": tally.probes_refused,
    }


class AuditService:
    def __init__(self, transaction: Transaction) -> None:
        self.entries = AuditRepository(transaction)

    async def record(self, caller: Principal, action: str, tally: Tally) -> None:
        """One audit row, in the request's unit of work: no answer without its record."""
        await self.entries.add(**audit_row(caller, action, tally))

    async def page(self, *, limit: int, offset: int) -> tuple[list[Record], int]:
        return await self.entries.page(limit=limit, offset=offset)
