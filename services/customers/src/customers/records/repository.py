"""All SQL about customer records, sent straight to the driver (``common.sql``)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from common.pagination import paginate_sql
from common.sql import Record, RowUpdate, Sql, Transaction

COLUMNS = "customer_id, email, country, language, roles, created_at, updated_at"
"""The columns of a ``CustomerRow``, for the statements built per shape."""
_UPDATE = RowUpdate(
    "customers",
    key="customer_id",
    columns={"email", "country", "language", "roles"},
    returning=COLUMNS,
)
_CUSTOMER_BY_EMAIL = Sql.of(
    "SELECT customer_id, email, country, language, roles, created_at, updated_at "
    "FROM customers WHERE email = :email"
)
_CUSTOMER_BY_EMAIL_FOR_UPDATE = Sql.of(
    "SELECT customer_id, email, country, language, roles, created_at, updated_at "
    "FROM customers WHERE email = :email FOR UPDATE"
)
_CUSTOMER_BY_ID = Sql.of(
    "SELECT customer_id, email, country, language, roles, created_at, updated_at "
    "FROM customers WHERE customer_id = :customer_id"
)
_INSERT = Sql.of(
    "INSERT INTO customers (customer_id, email, country, language, roles) "
    "VALUES (:customer_id, :email, :country, :language, :roles) "
    "RETURNING customer_id, email, country, language, roles, created_at, updated_at"
)
_DELETE = Sql.of("DELETE FROM customers WHERE customer_id = :customer_id")
_OWNERS_OF = Sql.of(
    "SELECT email, customer_id FROM customers WHERE email = ANY(CAST(:emails AS text[]))"
)
# Existing customers keep their roles; identical rows are left alone (and not returned).
_UPSERT_MANY = Sql.of(
    "INSERT INTO customers (customer_id, email, country, language) "
    "SELECT * FROM unnest(CAST(:customer_ids AS text[]), CAST(:emails AS text[]), "
    "  CAST(:countries AS text[]), CAST(:languages AS text[])) "
    "ON CONFLICT (customer_id) DO UPDATE SET email = excluded.email, "
    "country = excluded.country, language = excluded.language, updated_at = now() "
    "WHERE customers.email IS DISTINCT FROM excluded.email "
    "OR customers.country IS DISTINCT FROM excluded.country "
    "OR customers.language IS DISTINCT FROM excluded.language "
    "RETURNING customer_id, xmax = 0 AS created"
)


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer's record as the database holds it (``records.models.Customer``'s row)."""

    customer_id: str
    email: str
    country: str | None
    language: str | None
    roles: list[str]
    created_at: datetime
    updated_at: datetime


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


def customer(row: Record) -> CustomerRow:
    return CustomerRow(**row)


@cache
def _page_statements(country: bool, language: bool, email_prefix: bool) -> tuple[Sql, Sql]:
    """The page (by email) and its count, for the filters given, compiled once per combination
    (the conditions are fixed text, every value is bound)."""
    conditions = [
        *(["country = :country"] if country else []),
        *(["language = :language"] if language else []),
        *(["email LIKE :email_prefix ESCAPE '\\'"] if email_prefix else []),
    ]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    page = Sql.of(
        f"SELECT {COLUMNS} FROM customers{where} "  # noqa: S608 (see above)
        "ORDER BY email LIMIT :limit OFFSET :offset"
    )
    return page, Sql.of(f"SELECT count(*) FROM customers{where}")  # noqa: S608


class CustomerRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def by_email(self, email: str, *, for_update: bool = False) -> CustomerRow | None:
        statement = _CUSTOMER_BY_EMAIL_FOR_UPDATE if for_update else _CUSTOMER_BY_EMAIL
        row = await self.transaction.fetchrow(statement, email=email)
        return customer(row) if row else None

    async def by_id(self, customer_id: str) -> CustomerRow | None:
        row = await self.transaction.fetchrow(_CUSTOMER_BY_ID, customer_id=customer_id)
        return customer(row) if row else None

    async def insert(
        self,
        *,
        customer_id: str,
        email: str,
        country: str | None,
        language: str | None,
        roles: Sequence[str] = ("customer",),
    ) -> CustomerRow:
        """Insert the customer (a taken email or id: its unique constraint refuses it)."""
        row = await self.transaction.fetchone(
            _INSERT,
            customer_id=customer_id,
            email=email,
            country=country,
            language=language,
            roles=list(roles),
        )
        return customer(row)

    async def update(self, customer_id: str, **values: Any) -> CustomerRow:
        statement = _UPDATE.of(values)
        row = await self.transaction.fetchone(statement, customer_id=customer_id, **values)
        return customer(row)

    async def delete(self, customer_id: str) -> None:
        """Delete the customer; the foreign keys cascade to credentials, tokens and messages."""
        await self.transaction.execute(_DELETE, customer_id=customer_id)

    async def page(
        self, where: CustomerFilter, *, limit: int, offset: int
    ) -> tuple[list[CustomerRow], int]:
        """One page ordered by email, and the number of customers matching in all."""
        filters: dict[str, str] = {}
        if where.country:
            filters["country"] = where.country
        if where.language:
            filters["language"] = where.language
        if where.email_prefix:
            filters["email_prefix"] = _escape_like(where.email_prefix) + "%"
        page, count = _page_statements(
            "country" in filters, "language" in filters, "email_prefix" in filters
        )
        rows, total = await paginate_sql(
            self.transaction, page, count, limit=limit, offset=offset, **filters
        )
        return [customer(row) for row in rows], total

    async def owners_of(self, emails: Sequence[str]) -> dict[str, str]:
        """email -> customer_id for those of ``emails`` that are taken."""
        rows = await self.transaction.fetch(_OWNERS_OF, emails=list(emails))
        return {row["email"]: row["customer_id"] for row in rows}

    async def upsert_many(self, rows: Sequence[dict[str, Any]]) -> list[UpsertOutcome]:
        """Insert new customers and update changed ones (identical ones are left alone and not
        returned); existing customers keep their roles."""
        outcomes = await self.transaction.fetch(
            _UPSERT_MANY,
            customer_ids=_column(rows, "customer_id"),
            emails=_column(rows, "email"),
            countries=_column(rows, "country"),
            languages=_column(rows, "language"),
        )
        return [UpsertOutcome(row["customer_id"], row["created"]) for row in outcomes]


def _column(rows: Iterable[dict[str, Any]], name: str) -> list[Any]:
    return [row[name] for row in rows]
