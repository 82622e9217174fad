"""All SQL about organizations and their members (sent straight to the driver, ``common.sql``)."""

from dataclasses import dataclass
from datetime import datetime

from common.pagination import paginate_sql
from common.sql import Record, Sql, Transaction


@dataclass(frozen=True)
class OrganizationRow:
    id: int
    name: str
    created_at: datetime

    @classmethod
    def of(cls, row: Record) -> "OrganizationRow":
        return cls(row["id"], row["name"], row["created_at"])


@dataclass(frozen=True)
class MemberRow:
    subject: str
    organization_id: int
    created_at: datetime

    @classmethod
    def of(cls, row: Record) -> "MemberRow":
        return cls(row["subject"], row["organization_id"], row["created_at"])


_INSERT = Sql.of("INSERT INTO organizations (name) VALUES (:name) RETURNING id, name, created_at")
_GET = Sql.of("SELECT id, name, created_at FROM organizations WHERE id = :id")
_PAGE = Sql.of(
    "SELECT id, name, created_at FROM organizations ORDER BY name LIMIT :limit OFFSET :offset"
)
_COUNT = Sql.of("SELECT count(*) FROM organizations")
_OF_SUBJECT = Sql.of(
    "SELECT o.id, o.name, o.created_at FROM organizations o "
    "JOIN organization_members m ON m.organization_id = o.id WHERE m.subject = :subject"
)
_ADD_MEMBER = Sql.of(
    "INSERT INTO organization_members (organization_id, subject) "
    "VALUES (:organization_id, :subject) ON CONFLICT (subject) DO NOTHING "
    "RETURNING subject, organization_id, created_at"
)
_MEMBERS = Sql.of(
    "SELECT subject, organization_id, created_at FROM organization_members "
    "WHERE organization_id = :organization_id ORDER BY subject"
)
_REMOVE_MEMBER = Sql.of(
    "DELETE FROM organization_members WHERE organization_id = :organization_id "
    "AND subject = :subject"
)


class OrganizationRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def insert(self, name: str) -> OrganizationRow:
        """The new organization; a taken name escapes as the driver's UniqueViolationError
        (409 from common)."""
        row = await self.transaction.fetchone(_INSERT, name=name)
        return OrganizationRow.of(row)

    async def get(self, organization_id: int) -> OrganizationRow | None:
        row = await self.transaction.fetchrow(_GET, id=organization_id)
        return None if row is None else OrganizationRow.of(row)

    async def page(self, *, limit: int, offset: int) -> tuple[list[OrganizationRow], int]:
        """By name."""
        rows, total = await paginate_sql(
            self.transaction, _PAGE, _COUNT, limit=limit, offset=offset
        )
        return [OrganizationRow.of(row) for row in rows], total

    async def of_subject(self, subject: str) -> OrganizationRow | None:
        row = await self.transaction.fetchrow(_OF_SUBJECT, subject=subject)
        return None if row is None else OrganizationRow.of(row)

    async def add_member(self, organization_id: int, subject: str) -> MemberRow | None:
        """The new membership; None when the subject already acts for an organization."""
        row = await self.transaction.fetchrow(
            _ADD_MEMBER, organization_id=organization_id, subject=subject
        )
        return None if row is None else MemberRow.of(row)

    async def members(self, organization_id: int) -> list[MemberRow]:
        rows = await self.transaction.fetch(_MEMBERS, organization_id=organization_id)
        return [MemberRow.of(row) for row in rows]

    async def remove_member(self, organization_id: int, subject: str) -> int:
        status = await self.transaction.execute(
            _REMOVE_MEMBER, organization_id=organization_id, subject=subject
        )
        return int(status.split()[-1])
