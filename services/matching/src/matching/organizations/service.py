"""Rules of organizations: admins make them and name members; a provider acts for its own."""

from dataclasses import dataclass

from common.auth import Principal
from common.errors import Conflict, Forbidden, NotFound
from common.sql import Transaction
from matching.organizations.repository import MemberRow, OrganizationRepository, OrganizationRow


@dataclass(frozen=True)
class ActingOrganization:
    """The organization a provider acts for."""

    id: int
    name: str


class OrganizationService:
    def __init__(self, transaction: Transaction) -> None:
        self.organizations = OrganizationRepository(transaction)

    async def create(self, name: str) -> OrganizationRow:
        return await self.organizations.insert(name)

    async def page(self, *, limit: int, offset: int) -> tuple[list[OrganizationRow], int]:
        return await self.organizations.page(limit=limit, offset=offset)

    async def existing(self, organization_id: int) -> OrganizationRow:
        organization = await self.organizations.get(organization_id)
        if organization is None:
            raise NotFound("No organization has this id")
        return organization

    async def add_member(self, organization_id: int, subject: str) -> MemberRow:
        await self.existing(organization_id)
        member = await self.organizations.add_member(organization_id, subject)
        if member is None:
            raise Conflict("This subject already acts for an organization")
        return member

    async def members(self, organization_id: int) -> list[MemberRow]:
        await self.existing(organization_id)
        return await self.organizations.members(organization_id)

    async def remove_member(self, organization_id: int, subject: str) -> None:
        if not await self.organizations.remove_member(organization_id, subject):
            raise NotFound("This subject is not a member of this organization")

    async def of_provider(self, caller: Principal) -> ActingOrganization:
        """The organization the caller acts for; Forbidden, saying so, when none."""
        organization = await self.organizations.of_subject(caller.subject)
        if organization is None:
            raise Forbidden(
                "You belong to no organization; an admin must add you to one before you can "
                "upload or read enrollments"
            )
        return ActingOrganization(organization.id, organization.name)
