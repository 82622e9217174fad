"""Who is who: the caller as their token says, and people named by email or subject id."""

from collections.abc import Iterable
from dataclasses import dataclass

from appointments.people.client import CustomersClient, CustomersUnavailable
from appointments.people.repository import ParticipantRepository, Person
from common.auth import Principal
from common.errors import NotFound, ServiceUnavailable
from common.schemas import field_error
from common.sql import Transaction

STAFF_ROLES = ("receptionist", "admin")


@dataclass(frozen=True)
class Caller:
    """The caller's directory entry and the roles of the token they called with."""

    participant: Person
    roles: frozenset[str]

    @property
    def id(self) -> int:
        return self.participant.id

    def is_staff(self) -> bool:
        return not self.roles.isdisjoint(STAFF_ROLES)


def is_email(name: str) -> bool:
    """Subject ids never hold an @ (customers' id pattern), emails always do."""
    return "@" in name


class Directory:
    """The participants directory, refreshed from tokens and, for emails, from customers."""

    def __init__(self, transaction: Transaction, customers: CustomersClient) -> None:
        self.transaction = transaction
        """The request's unit of work, which the other areas' services share."""
        self.participants = ParticipantRepository(transaction)
        self.customers = customers

    async def caller(self, principal: Principal) -> Caller:
        """The caller's entry, brought up to date with their token when it differs."""
        email = principal.email.lower() if principal.email else None
        known = await self.participants.by_subject(principal.subject)
        if known is None or known.email != email or set(known.roles) != principal.roles:
            known = await self.participants.remember(principal.subject, email, principal.roles)
        return Caller(known, principal.roles)

    async def known(self, name: str) -> Person | None:
        """The participant named by email or subject id, as far as the directory knows."""
        if is_email(name):
            return await self.participants.by_email(name.lower())
        return await self.participants.by_subject(name)

    async def by_ids(self, ids: Iterable[int]) -> dict[int, Person]:
        """Participants by their directory id (for naming the people of appointments)."""
        return await self.participants.by_ids(ids)

    async def resolve(self, name: str, role: str, *, field: str) -> Person:
        """The participant named ``name`` holding ``role``; customers is asked about an email
        the directory does not know with that role (NotFound when it has no such customer)."""
        known = await self.known(name)
        if known is not None and role in known.roles:
            return known
        if not is_email(name):
            if known is None:
                raise NotFound(f"No {role} is known by this id; name them by email")
            raise field_error(field, f"This person is not a {role}", error_type="wrong_role")
        participant = await self._fetch(name.lower(), role)
        if role not in participant.roles:
            raise field_error(field, f"This person is not a {role}", error_type="wrong_role")
        return participant

    async def _fetch(self, email: str, role: str) -> Person:
        try:
            customer = await self.customers.by_email(email)
        except CustomersUnavailable as exc:
            raise ServiceUnavailable(
                "The customers service cannot be reached to look this person up; retry later",
                headers={"Retry-After": "5"},
            ) from exc
        if customer is None:
            raise NotFound(f"No {role} has this email")
        return await self.participants.remember(customer.subject, customer.email, customer.roles)
