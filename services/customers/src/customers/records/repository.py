"""All SQL about customer records."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, func, literal_column, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.dml import ReturningInsert, ReturningUpdate
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.database import core_execute, entity
from common.pagination import paginate
from customers.records.models import Customer


@dataclass(frozen=True)
class CustomerFilter:
    country: str | None = None
    language: str | None = None
    email_prefix: str | None = None


@dataclass(frozen=True)
class UpsertOutcome:
    customer_id: str
    created: bool


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_email(self, email: str, *, for_update: bool = False) -> Customer | None:
        statement = select(Customer).where(Customer.email == email)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.exec(statement)).first()

    async def by_id(self, customer_id: str) -> Customer | None:
        """The customer's row, past the ORM (read-only: nothing tracks changes to it)."""
        statement = select(Customer).where(col(Customer.customer_id) == customer_id)
        row = (await core_execute(self.session, statement)).first()
        return entity(Customer, row) if row else None

    async def insert(
        self,
        *,
        customer_id: str,
        email: str,
        country: str | None,
        language: str | None,
        roles: Sequence[str] = ("customer",),
    ) -> Customer:
        """Insert the customer (a taken email or id: its unique constraint refuses it)."""
        statement = (
            insert(Customer)
            .values(
                customer_id=customer_id,
                email=email,
                country=country,
                language=language,
                roles=list(roles),
            )
            .returning(Customer)
        )
        return await self._one(statement)

    async def _one(
        self, statement: ReturningInsert[Customer] | ReturningUpdate[Customer]
    ) -> Customer:
        customer: Customer = (await self.session.exec(statement)).scalars().one()
        return customer

    async def update(self, customer_id: str, **values: Any) -> Customer:
        statement = (
            update(Customer)
            .where(col(Customer.customer_id) == customer_id)
            .values(**values, updated_at=func.now())
            .returning(Customer)
        )
        return await self._one(statement)

    async def delete(self, customer_id: str) -> None:
        """Delete the customer; the foreign keys cascade to credentials, tokens and messages."""
        await self.session.exec(delete(Customer).where(col(Customer.customer_id) == customer_id))

    async def page(
        self, where: CustomerFilter, *, limit: int, offset: int
    ) -> tuple[list[Customer], int]:
        """One page ordered by email, and the number of customers matching in all."""
        conditions = []
        if where.country:
            conditions.append(col(Customer.country) == where.country)
        if where.language:
            conditions.append(col(Customer.language) == where.language)
        if where.email_prefix:
            prefix = _escape_like(where.email_prefix) + "%"
            conditions.append(col(Customer.email).like(prefix, escape="\\"))
        statement = select(Customer).where(*conditions).order_by(Customer.email)
        return await paginate(self.session, statement, limit=limit, offset=offset)

    async def owners_of(self, emails: Sequence[str]) -> dict[str, str]:
        """email -> customer_id for those of ``emails`` that are taken."""
        rows = await self.session.exec(
            select(Customer.email, Customer.customer_id).where(col(Customer.email).in_(emails))
        )
        return dict(rows.all())

    async def upsert_many(self, rows: Sequence[dict[str, Any]]) -> list[UpsertOutcome]:
        """Insert new customers and update changed ones (identical ones are left alone and not
        returned); existing customers keep their roles."""
        new = insert(Customer).values(list(rows))
        changed = (
            col(Customer.email).is_distinct_from(new.excluded.email)
            | col(Customer.country).is_distinct_from(new.excluded.country)
            | col(Customer.language).is_distinct_from(new.excluded.language)
        )
        statement = new.on_conflict_do_update(
            index_elements=[Customer.customer_id],
            set_={
                "email": new.excluded.email,
                "country": new.excluded.country,
                "language": new.excluded.language,
                "updated_at": func.now(),
            },
            where=changed,
        ).returning(col(Customer.customer_id), literal_column("xmax = 0", Boolean))
        result = await self.session.exec(statement)
        return [UpsertOutcome(customer_id, created) for customer_id, created in result.all()]
