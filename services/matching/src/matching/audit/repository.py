"""All SQL about the audit log (sent straight to the driver, ``common.sql``)."""

from common.pagination import paginate_sql
from common.sql import Record, Sql, Transaction

_ADD = Sql.of(
    "INSERT INTO audit_log (subject, roles, action, people, matched, complete_matches, "
    "partial_matches, probes_refused) VALUES (:subject, :roles, :action, :people, :matched, "
    ":complete_matches, :partial_matches, :probes_refused)"
)
_PAGE = Sql.of(
    "SELECT id, at, subject, roles, action, people, matched, complete_matches, partial_matches, "
    "probes_refused FROM audit_log ORDER BY id DESC LIMIT :limit OFFSET :offset"
)
_COUNT = Sql.of("SELECT count(*) FROM audit_log")


class AuditRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def add(self, **values: int | str) -> None:
        """One row: subject, roles, action and the counts (``_ADD``'s parameters)."""
        await self.transaction.execute(_ADD, **values)

    async def page(self, *, limit: int, offset: int) -> tuple[list[Record], int]:
        """Newest first."""
        return await paginate_sql(self.transaction, _PAGE, _COUNT, limit=limit, offset=offset)
