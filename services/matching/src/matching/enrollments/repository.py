"""All SQL about enrollments: upserts, pages and deletion."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypedDict

from sqlalchemy import TextClause, text
from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.pagination import paginate
from matching.enrollments.models import Enrollment
from matching.organizations.models import Organization

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


def _upsert_sql() -> TextClause:
    """One statement for a whole batch: a column of values per array parameter (a multi-row
    VALUES would cost SQLAlchemy seconds to compile per batch). Rows whose data columns are
    unchanged are left alone and not returned."""
    names = ", ".join(_INSERTED)
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _INSERTED.items())
    updates = ", ".join(f"{name} = excluded.{name}" for name in DATA_COLUMNS)
    current = ", ".join(f"enrollments.{name}" for name in DATA_COLUMNS)
    proposed = ", ".join(f"excluded.{name}" for name in DATA_COLUMNS)
    # Only the column names above go into the text; the values are bound parameters.
    return text(
        f"INSERT INTO enrollments ({names}) SELECT * FROM unnest({arrays}) "  # noqa: S608
        f"ON CONFLICT ON CONSTRAINT enrollments_one_per_id DO UPDATE SET {updates}, "
        f"updated_at = now() WHERE ({current}) IS DISTINCT FROM ({proposed}) "
        "RETURNING xmax = 0 AS created"
    )


_UPSERT = _upsert_sql()


class EnrollmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_organization(self, organization_id: int) -> int:
        """Lock the organization's row until the unit of work ends (its uploads run one at a
        time, so a quota holds under concurrent uploads); the enrollments it has stored."""
        await self.session.exec(
            select(Organization.id).where(col(Organization.id) == organization_id).with_for_update()
        )
        total = await self.session.exec(
            select(func.count())
            .select_from(Enrollment)
            .where(col(Enrollment.organization_id) == organization_id)
        )
        return total.one()

    async def upsert_many(
        self, organization_id: int, rows: Sequence[EnrollmentColumns]
    ) -> UpsertCounts:
        """Insert the organization's new enrollments and update its changed ones, by enrollment
        id; rows go in enrollment id order so that concurrent uploads lock in the same order."""
        ordered: list[Mapping[str, object]] = [*sorted(rows, key=lambda row: row["enrollment_id"])]
        names = [*DATA_COLUMNS, "enrollment_id"]
        columns = {name: [row[name] for row in ordered] for name in names}
        columns["organization_id"] = [organization_id] * len(ordered)
        connection = await self.session.connection()
        created = [flag for (flag,) in (await connection.execute(_UPSERT, columns)).all()]
        return UpsertCounts(created=sum(created), updated=len(created) - sum(created))

    async def page(
        self, organization_id: int | None, client_id: str | None, *, limit: int, offset: int
    ) -> tuple[list[tuple[Enrollment, str]], int]:
        """One page ordered by enrollment id (of one organization, or of all when None)."""
        conditions = []
        if organization_id is not None:
            conditions.append(col(Enrollment.organization_id) == organization_id)
        if client_id is not None:
            conditions.append(col(Enrollment.client_id) == client_id)
        statement = (
            select(Enrollment, Organization.name)
            .join(Organization, col(Organization.id) == col(Enrollment.organization_id))
            .where(*conditions)
            .order_by(col(Enrollment.organization_id), col(Enrollment.enrollment_id))
        )
        rows, total = await paginate(self.session, statement, limit=limit, offset=offset)
        return [(enrollment, name) for enrollment, name in rows], total

    async def one(self, organization_id: int, enrollment_id: str) -> Enrollment | None:
        statement = select(Enrollment).where(
            col(Enrollment.organization_id) == organization_id,
            col(Enrollment.enrollment_id) == enrollment_id,
        )
        return (await self.session.exec(statement)).first()

    async def delete_enrollment(self, organization_id: int, enrollment_id: str) -> int:
        result = await self.session.exec(
            delete(Enrollment).where(
                col(Enrollment.organization_id) == organization_id,
                col(Enrollment.enrollment_id) == enrollment_id,
            )
        )
        return int(result.rowcount)

    async def delete_client(self, organization_id: int, client_id: str) -> int:
        result = await self.session.exec(
            delete(Enrollment).where(
                col(Enrollment.organization_id) == organization_id,
                col(Enrollment.client_id) == client_id,
            )
        )
        return int(result.rowcount)
