"""All SQL about enrollments: upserts, pages and deletion."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, func, literal_column, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from matching.enrollments.models import Enrollment
from matching.organizations.models import Organization

# The columns an upload may change; an upsert that changes none of them leaves the row alone.
DATA_COLUMNS = (
    "client_id",
    "first_name",
    "last_name",
    "first_key",
    "last_key",
    "first_code",
    "last_code",
    "dob",
    "ssn_hash",
    "ssn_last4_hash",
    "ssn_masked_hashes",
    "name_data_quality",
    "ssn_data_quality",
    "dob_data_quality",
    "entry_date",
    "exit_date",
    "income_at_entry",
    "income_at_exit",
    "exit_destination",
)


@dataclass(frozen=True)
class UpsertCounts:
    created: int
    updated: int


class EnrollmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert_many(self, rows: Sequence[dict[str, Any]]) -> UpsertCounts:
        """Insert new enrollments and update changed ones, by (organization, enrollment id);
        rows go in enrollment id order so that concurrent uploads lock in the same order."""
        ordered = sorted(rows, key=lambda row: row["enrollment_id"])
        new = insert(Enrollment).values(ordered)
        current = tuple_(*(getattr(Enrollment, name) for name in DATA_COLUMNS))
        proposed = tuple_(*(new.excluded[name] for name in DATA_COLUMNS))
        statement = new.on_conflict_do_update(
            constraint="enrollments_one_per_id",
            set_={**{name: new.excluded[name] for name in DATA_COLUMNS}, "updated_at": func.now()},
            where=current.is_distinct_from(proposed),
        ).returning(literal_column("xmax = 0", Boolean))
        result = await self.session.exec(statement)
        created = [flag for (flag,) in result.all()]
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
        rows = await self.session.exec(
            select(Enrollment, Organization.name)
            .join(Organization, col(Organization.id) == col(Enrollment.organization_id))
            .where(*conditions)
            .order_by(col(Enrollment.organization_id), col(Enrollment.enrollment_id))
            .limit(limit)
            .offset(offset)
        )
        total = await self.session.exec(
            select(func.count()).select_from(Enrollment).where(*conditions)
        )
        return [(enrollment, name) for enrollment, name in rows.all()], total.one()

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
