"""All SQL about organizations and their members."""

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.pagination import paginate
from matching.organizations.models import Member, Organization


class OrganizationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, name: str) -> Organization:
        """Insert and flush; a taken name escapes as an IntegrityError (409 from common)."""
        organization = Organization(name=name)
        self.session.add(organization)
        await self.session.flush()
        await self.session.refresh(organization)
        return organization

    async def get(self, organization_id: int) -> Organization | None:
        return await self.session.get(Organization, organization_id)

    async def page(self, *, limit: int, offset: int) -> tuple[list[Organization], int]:
        statement = select(Organization).order_by(col(Organization.name))
        return await paginate(self.session, statement, limit=limit, offset=offset)

    async def of_subject(self, subject: str) -> Organization | None:
        statement = (
            select(Organization)
            .join(Member, col(Member.organization_id) == col(Organization.id))
            .where(col(Member.subject) == subject)
        )
        return (await self.session.exec(statement)).first()

    async def add_member(self, organization_id: int, subject: str) -> Member | None:
        """The new membership; None when the subject already acts for an organization."""
        statement = (
            insert(Member)
            .values(organization_id=organization_id, subject=subject)
            .on_conflict_do_nothing(index_elements=[col(Member.subject)])
            .returning(Member)
        )
        member: Member | None = (await self.session.exec(statement)).scalars().first()
        return member

    async def members(self, organization_id: int) -> list[Member]:
        rows = await self.session.exec(
            select(Member)
            .where(col(Member.organization_id) == organization_id)
            .order_by(col(Member.subject))
        )
        return list(rows.all())

    async def remove_member(self, organization_id: int, subject: str) -> int:
        result = await self.session.exec(
            delete(Member).where(
                col(Member.organization_id) == organization_id, col(Member.subject) == subject
            )
        )
        return int(result.rowcount)
