"""All SQL about enrollments: upserts, pages and deletion (sent straight to the driver,
``common.sql``)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, TypedDict

from common.pagination import paginate_sql
from common.sql import Record, Sql, Transaction

# The columns an upload may change, with their array types for the unnest below.
DATA_COLUMNS = {
    "client_id": "text",
    "first_name": "text",
    "last_name": "text",
    "first_key": "text",
    "last_key": "text",
    "first_code": "text",
    "last_code": "text",
    "dob": "date",
    "ssn_hash": "bytea",
    "ssn_last4_hash": "bytea",
    "ssn_masked_hashes": "bytea",
    "name_data_quality": "smallint",
    "ssn_data_quality": "smallint",
    "dob_data_quality": "smallint",
    "entry_date": "date",
    "exit_date": "date",
    "income_at_entry": "numeric",
    "income_at_exit": "numeric",
    "exit_destination": "smallint",
}
KEY_COLUMNS = {"organization_id": "bigint", "enrollment_id": "text"}
_INSERTED = {**KEY_COLUMNS, **DATA_COLUMNS}


class EnrollmentColumns(TypedDict):
    """An uploaded enrollment as stored, but for its organization: SSN hashes, no SSN."""

    client_id: str
    enrollment_id: str
    first_name: str | None
    last_name: str | None
    first_key: str | None
    last_key: str | None
    first_code: str | None
    last_code: str | None
    dob: date | None
    ssn_hash: bytes | None
    ssn_last4_hash: bytes | None
    ssn_masked_hashes: bytes | None
    name_data_quality: int
    ssn_data_quality: int
    dob_data_quality: int
    entry_date: date
    exit_date: date | None
    income_at_entry: Decimal | None
    income_at_exit: Decimal | None
    exit_destination: int | None


@dataclass(frozen=True)
class UpsertCounts:
    created: int
    updated: int


@dataclass(frozen=True)
class StoredEnrollment:
    """An enrollment as its provider may read it: no SSN hash, only which kind is recorded."""

    client_id: str
    enrollment_id: str
    first_name: str | None
    last_name: str | None
    dob: date | None
    ssn_recorded: Literal["full", "last4"] | None
    name_data_quality: int
    ssn_data_quality: int
    dob_data_quality: int
    entry_date: date
    exit_date: date | None
    income_at_entry: Decimal | None
    income_at_exit: Decimal | None
    exit_destination: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Record) -> "StoredEnrollment":
        return cls(**{name: row[name] for name in _STORED})


_STORED = tuple(field.name for field in fields(StoredEnrollment))
_STORED_COLUMNS = ", ".join(
    "CASE WHEN e.ssn_hash IS NOT NULL THEN 'full' WHEN e.ssn_last4_hash IS NOT NULL "
    "THEN 'last4' END AS ssn_recorded"
    if name == "ssn_recorded"
    else f"e.{name}"
    for name in _STORED
)


def _upsert_sql() -> Sql:
    """One statement for a whole batch: a column of values per array parameter. Rows whose
    data columns are unchanged are left alone and not returned."""
    names = ", ".join(_INSERTED)
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _INSERTED.items())
    updates = ", ".join(f"{name} = excluded.{name}" for name in DATA_COLUMNS)
    current = ", ".join(f"enrollments.{name}" for name in DATA_COLUMNS)
    proposed = ", ".join(f"excluded.{name}" for name in DATA_COLUMNS)
    # Only the column names above go into the text; the values are bound parameters.
    return Sql.of(
        f"INSERT INTO enrollments ({names}) SELECT * FROM unnest({arrays}) "  # noqa: S608
        f"ON CONFLICT ON CONSTRAINT enrollments_one_per_id DO UPDATE SET {updates}, "
        f"updated_at = now() WHERE ({current}) IS DISTINCT FROM ({proposed}) "
        "RETURNING xmax = 0 AS created"
    )


def _page_sql(*conditions: str) -> tuple[Sql, Sql]:
    """The page and the count of enrollments matching every condition, with their
    organization's name, ordered by organization and enrollment id."""
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    joined = f"FROM enrollments e JOIN organizations o ON o.id = e.organization_id {where}"
    # Only the constant conditions below go into the text; the values are bound parameters.
    page = Sql.of(
        f"SELECT {_STORED_COLUMNS}, o.name AS organization {joined}"
        "ORDER BY e.organization_id, e.enrollment_id LIMIT :limit OFFSET :offset"
    )
    return page, Sql.of(f"SELECT count(*) {joined}")


_UPSERT = _upsert_sql()
_LOCK_ORGANIZATION = Sql.of("SELECT id FROM organizations WHERE id = :organization_id FOR UPDATE")
_STORED_COUNT = Sql.of("SELECT count(*) FROM enrollments WHERE organization_id = :organization_id")
_OF_ORGANIZATION = "e.organization_id = :organization_id"
_OF_CLIENT = "e.client_id = :client_id"
_PAGES = {
    (True, True): _page_sql(_OF_ORGANIZATION, _OF_CLIENT),
    (True, False): _page_sql(_OF_ORGANIZATION),
    (False, True): _page_sql(_OF_CLIENT),
    (False, False): _page_sql(),
}
"""By whether an organization and a client are given."""
_ONE = Sql.of(
    f"SELECT {_STORED_COLUMNS} FROM enrollments e "  # noqa: S608 (constants only)
    "WHERE e.organization_id = :organization_id AND e.enrollment_id = :enrollment_id"
)
_DELETE_ENROLLMENT = Sql.of(
    "DELETE FROM enrollments WHERE organization_id = :organization_id "
    "AND enrollment_id = :enrollment_id"
)
_DELETE_CLIENT = Sql.of(
    "DELETE FROM enrollments WHERE organization_id = :organization_id AND client_id = :client_id"
)


def _count(status: str) -> int:
    """The rows a DELETE touched, from PostgreSQL's status line (``DELETE 3``)."""
    return int(status.split()[-1])


class EnrollmentRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def lock_organization(self, organization_id: int) -> int:
        """Lock the organization's row until the unit of work ends (its uploads run one at a
        time, so a quota holds under concurrent uploads); the enrollments it has stored."""
        await self.transaction.execute(_LOCK_ORGANIZATION, organization_id=organization_id)
        return int(await self.transaction.fetchval(_STORED_COUNT, organization_id=organization_id))

    async def upsert_many(
        self, organization_id: int, rows: Sequence[EnrollmentColumns]
    ) -> UpsertCounts:
        """Insert the organization's new enrollments and update its changed ones, by enrollment
        id; rows go in enrollment id order so that concurrent uploads lock in the same order."""
        ordered: list[Mapping[str, object]] = [*sorted(rows, key=lambda row: row["enrollment_id"])]
        names = [*DATA_COLUMNS, "enrollment_id"]
        columns = {name: [row[name] for row in ordered] for name in names}
        columns["organization_id"] = [organization_id] * len(ordered)
        created = [row["created"] for row in await self.transaction.fetch(_UPSERT, **columns)]
        return UpsertCounts(created=sum(created), updated=len(created) - sum(created))

    async def page(
        self, organization_id: int | None, client_id: str | None, *, limit: int, offset: int
    ) -> tuple[list[tuple[StoredEnrollment, str]], int]:
        """One page ordered by enrollment id (of one organization, or of all when None)."""
        page, count = _PAGES[organization_id is not None, client_id is not None]
        given = {"organization_id": organization_id, "client_id": client_id}
        parameters = {name: value for name, value in given.items() if value is not None}
        rows, total = await paginate_sql(
            self.transaction, page, count, limit=limit, offset=offset, **parameters
        )
        return [(StoredEnrollment.of(row), row["organization"]) for row in rows], total

    async def one(self, organization_id: int, enrollment_id: str) -> StoredEnrollment | None:
        row = await self.transaction.fetchrow(
            _ONE, organization_id=organization_id, enrollment_id=enrollment_id
        )
        return None if row is None else StoredEnrollment.of(row)

    async def delete_enrollment(self, organization_id: int, enrollment_id: str) -> int:
        status = await self.transaction.execute(
            _DELETE_ENROLLMENT, organization_id=organization_id, enrollment_id=enrollment_id
        )
        return _count(status)

    async def delete_client(self, organization_id: int, client_id: str) -> int:
        status = await self.transaction.execute(
            _DELETE_CLIENT, organization_id=organization_id, client_id=client_id
        )
        return _count(status)
