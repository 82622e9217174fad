"""Rules of enrollments: validation row by row, hashing, upserts in batches, deletion."""

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from common.database import allow_bulk_statements
from common.errors import Conflict, NotFound, Unprocessable
from common.schemas import field_error
from matching.enrollments.csv_rows import CsvProblem, MalformedRecord, csv_rows
from matching.enrollments.models import Enrollment
from matching.enrollments.repository import EnrollmentRepository
from matching.enrollments.schemas import (
    EnrollmentIn,
    EnrollmentOut,
    RejectedRow,
    RowWarning,
    UploadReport,
)
from matching.lenient import validate_leniently
from matching.names import name_key, phonetic_code
from matching.schemas import IDENTIFIERS, MIN_IDENTIFIERS, DestinationOut
from matching.ssn import SsnHasher

OnError = Literal["reject_request", "skip_row"]
NumberedRow = tuple[int, object]
MAX_ERRORS_LISTED = 1000
DROPPABLE = (
    *IDENTIFIERS,
    "name_data_quality",
    "ssn_data_quality",
    "dob_data_quality",
    "income_at_entry",
    "income_at_exit",
    "exit_destination",
)
"""Fields a row is stored without, with a warning, when their value is not usable; any other
invalid field (ids, dates of the stay, unknown fields) makes the row a rejection."""


@dataclass(frozen=True)
class UploadLimits:
    batch_size: int
    max_rows: int
    """Rows per request, whatever the format."""
    max_stored: int
    """Enrollments one organization may have stored."""


def enrollment_columns(
    row: EnrollmentIn, hasher: SsnHasher, dropped: Collection[str] = ()
) -> dict[str, Any]:
    """The stored form of an uploaded row: names with their keys and codes, SSN hashes only."""
    first_key, last_key = name_key(row.first_name), name_key(row.last_name)
    hashes = hasher.hashes(row.ssn) if row.ssn else None
    name_quality, ssn_quality, dob_quality = row.derived_data_quality(dropped)
    return {
        "client_id": row.client_id,
        "enrollment_id": row.enrollment_id,
        "first_name": row.first_name,
        "last_name": row.last_name,
        "first_key": first_key,
        "last_key": last_key,
        "first_code": phonetic_code(first_key),
        "last_code": phonetic_code(last_key),
        "dob": row.dob,
        "ssn_hash": hashes.full if hashes else None,
        "ssn_last4_hash": hashes.last4 if hashes else None,
        "ssn_masked_hashes": hashes.masked if hashes else None,
        "name_data_quality": name_quality,
        "ssn_data_quality": ssn_quality,
        "dob_data_quality": dob_quality,
        "entry_date": row.entry_date,
        "exit_date": row.exit_date,
        "income_at_entry": row.income_at_entry,
        "income_at_exit": row.income_at_exit,
        "exit_destination": row.exit_destination,
    }


def enrollment_out(enrollment: Enrollment, organization: str) -> EnrollmentOut:
    recorded: Literal["full", "last4"] | None = None
    if enrollment.ssn_hash is not None:
        recorded = "full"
    elif enrollment.ssn_last4_hash is not None:
        recorded = "last4"
    return EnrollmentOut(
        organization=organization,
        ssn_recorded=recorded,
        exit_destination=DestinationOut.of(enrollment.exit_destination),
        **enrollment.model_dump(
            exclude={
                "id",
                "organization_id",
                "first_key",
                "last_key",
                "first_code",
                "last_code",
                "ssn_hash",
                "ssn_last4_hash",
                "ssn_masked_hashes",
                "exit_destination",
            }
        ),
    )


async def numbered(rows: Iterable[object]) -> AsyncIterator[NumberedRow]:
    """The rows of a JSON upload, numbered from 1."""
    for number, row in enumerate(rows, start=1):
        yield number, row


async def _batches(rows: AsyncIterable[NumberedRow], size: int) -> AsyncIterator[list[NumberedRow]]:
    batch: list[NumberedRow] = []
    async for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class EnrollmentService:
    def __init__(self, session: AsyncSession, hasher: SsnHasher, limits: UploadLimits) -> None:
        self.session = session
        self.enrollments = EnrollmentRepository(session)
        self.hasher = hasher
        self.limits = limits

    async def upload_json(
        self, organization_id: int, rows: Sequence[object], on_error: OnError
    ) -> UploadReport:
        return await self.upload(organization_id, numbered(rows), on_error)

    async def upload(
        self, organization_id: int, rows: AsyncIterable[NumberedRow], on_error: OnError
    ) -> UploadReport:
        """Upsert the storable rows in batches; with ``reject_request`` any rejection raises
        Unprocessable, and the unit of work stores nothing; so does a request past the row cap
        or past the organization's quota. Uploads of one organization run one at a time."""
        await allow_bulk_statements(self.session)
        stored = await self.enrollments.lock_organization(organization_id)
        report = UploadReport(received=0, created=0, updated=0, unchanged=0, rejected=[])
        row_of_id: dict[str, int] = {}
        async for batch in _batches(rows, self.limits.batch_size):
            report.received += len(batch)
            if report.received > self.limits.max_rows:
                raise field_error(
                    "enrollments",
                    f"at most {self.limits.max_rows} enrollments per request; nothing was stored",
                )
            # Validation and hashing are CPU work: a thread keeps the event loop answering.
            columns = await asyncio.to_thread(self._validated, batch, row_of_id, report)
            if columns:
                await self._upsert(
                    [{**row, "organization_id": organization_id} for row in columns], report
                )
            if stored + report.created > self.limits.max_stored:
                raise Conflict(
                    f"Your organization may store at most {self.limits.max_stored} enrollments "
                    f"and has {stored}; this upload would add more than "
                    f"{self.limits.max_stored - stored}. Nothing was stored",
                    title="Quota of stored enrollments reached",
                )
        if report.received == 0:
            raise Unprocessable("There are no enrollments in the upload")
        if report.rejected and on_error == "reject_request":
            raise _rejected(report)
        return report

    async def upload_csv(
        self, organization_id: int, chunks: AsyncIterable[bytes], on_error: OnError
    ) -> UploadReport:
        try:
            return await self.upload(organization_id, csv_rows(chunks), on_error)
        except CsvProblem as exc:
            raise Unprocessable(str(exc)) from exc

    def _validated(
        self, batch: Sequence[NumberedRow], row_of_id: dict[str, int], report: UploadReport
    ) -> list[dict[str, Any]]:
        """The columns of each storable row; the others recorded as rejections."""
        columns = []
        for number, raw in batch:
            row = self._storable(number, raw, row_of_id, report)
            if row is not None:
                columns.append(row)
        return columns

    def _storable(
        self, number: int, raw: object, row_of_id: dict[str, int], report: UploadReport
    ) -> dict[str, Any] | None:
        """The row's columns, or None after recording why it cannot be stored; its unusable
        fields are left out and listed as warnings."""
        if isinstance(raw, MalformedRecord):
            report.rejected.append(RejectedRow(row=number, reason=raw.reason))
            return None
        validated = validate_leniently(EnrollmentIn, raw, label="row", droppable=DROPPABLE)
        row = validated.item
        if row is None:
            report.rejected.append(RejectedRow(row=number, reason=_reason(validated.refused)))
            return None
        if len(row.identifiers()) < MIN_IDENTIFIERS:
            reason = (
                f"a record needs at least {MIN_IDENTIFIERS} identifiers of "
                f"{', '.join(IDENTIFIERS)}; this row has {len(row.identifiers())}"
            )
            dropped = [f"{name}: {message}" for name, message in validated.dropped]
            report.rejected.append(RejectedRow(row=number, reason="; ".join([reason, *dropped])))
            return None
        earlier = row_of_id.get(row.enrollment_id)
        if earlier is not None:
            reason = f"enrollment_id: repeats the enrollment_id of row {earlier}"
            report.rejected.append(RejectedRow(row=number, reason=reason))
            return None
        row_of_id[row.enrollment_id] = number
        report.warnings += [
            RowWarning(row=number, field=name, message=message)
            for name, message in validated.dropped
        ]
        return enrollment_columns(row, self.hasher, {name for name, _ in validated.dropped})

    async def _upsert(self, batch: list[dict[str, Any]], report: UploadReport) -> None:
        counts = await self.enrollments.upsert_many(batch)
        report.created += counts.created
        report.updated += counts.updated
        report.unchanged += len(batch) - counts.created - counts.updated

    async def page(
        self, organization_id: int | None, client_id: str | None, *, limit: int, offset: int
    ) -> tuple[list[EnrollmentOut], int]:
        rows, total = await self.enrollments.page(
            organization_id, client_id, limit=limit, offset=offset
        )
        return [enrollment_out(enrollment, name) for enrollment, name in rows], total

    async def one(
        self, organization_id: int, organization: str, enrollment_id: str
    ) -> EnrollmentOut:
        enrollment = await self.enrollments.one(organization_id, enrollment_id)
        if enrollment is None:
            raise NotFound("Your organization has no enrollment with this id")
        return enrollment_out(enrollment, organization)

    async def delete_enrollment(self, organization_id: int, enrollment_id: str) -> None:
        if not await self.enrollments.delete_enrollment(organization_id, enrollment_id):
            raise NotFound("Your organization has no enrollment with this id")

    async def delete_client(self, organization_id: int, client_id: str) -> int:
        deleted = await self.enrollments.delete_client(organization_id, client_id)
        if not deleted:
            raise NotFound("Your organization has no enrollments of this client")
        return deleted


def _reason(refused: Sequence[tuple[str, str]]) -> str:
    """``field: reason`` for each error, never the value."""
    return "; ".join(f"{name}: {message}" for name, message in refused)


def _rejected(report: UploadReport) -> Unprocessable:
    listed = report.rejected[:MAX_ERRORS_LISTED]
    return Unprocessable(
        f"{len(report.rejected)} of {report.received} rows are not valid; nothing was stored "
        "(on_error=skip_row stores the valid ones)",
        extra={"rejected": [rejected.model_dump() for rejected in listed]},
    )
