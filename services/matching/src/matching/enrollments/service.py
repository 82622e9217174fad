"""Rules of enrollments: validation row by row, hashing, upserts in batches, deletion."""

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Any, Literal

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import NotFound, Unprocessable
from common.schemas import error_summary, field_error
from matching.enrollments.csv_rows import CsvProblem, MalformedRecord, csv_rows
from matching.enrollments.models import Enrollment
from matching.enrollments.repository import EnrollmentRepository
from matching.enrollments.schemas import EnrollmentIn, EnrollmentOut, RejectedRow, UploadReport
from matching.names import name_key, phonetic_code
from matching.schemas import DestinationOut
from matching.ssn import SsnHasher

OnError = Literal["reject_request", "skip_row"]
NumberedRow = tuple[int, object]
MAX_ERRORS_LISTED = 1000


def enrollment_columns(row: EnrollmentIn, hasher: SsnHasher) -> dict[str, Any]:
    """The stored form of an uploaded row: names with their keys and codes, SSN hashes only."""
    first_key, last_key = name_key(row.first_name), name_key(row.last_name)
    hashes = hasher.hashes(row.ssn) if row.ssn else None
    name_quality, ssn_quality, dob_quality = row.derived_data_quality()
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


class EnrollmentService:
    def __init__(
        self, session: AsyncSession, hasher: SsnHasher, *, batch_size: int, max_rows: int
    ) -> None:
        self.enrollments = EnrollmentRepository(session)
        self.hasher = hasher
        self.batch_size = batch_size
        self.max_rows = max_rows

    async def upload_json(
        self, organization_id: int, rows: Sequence[object], on_error: OnError
    ) -> UploadReport:
        if len(rows) > self.max_rows:
            raise field_error(
                "enrollments", f"at most {self.max_rows} enrollments per request; got {len(rows)}"
            )
        return await self.upload(organization_id, numbered(rows), on_error)

    async def upload(
        self, organization_id: int, rows: AsyncIterable[NumberedRow], on_error: OnError
    ) -> UploadReport:
        """Upsert the valid rows in batches; with ``reject_request`` any rejection raises
        Unprocessable, and the unit of work stores nothing."""
        report = UploadReport(received=0, created=0, updated=0, unchanged=0, rejected=[])
        row_of_id: dict[str, int] = {}
        batch: list[dict[str, Any]] = []
        async for number, raw in rows:
            report.received += 1
            columns = self._validated(number, raw, row_of_id, report)
            if columns is None:
                continue
            batch.append({**columns, "organization_id": organization_id})
            if len(batch) >= self.batch_size:
                await self._upsert(batch, report)
                batch = []
        if batch:
            await self._upsert(batch, report)
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
        self, number: int, raw: object, row_of_id: dict[str, int], report: UploadReport
    ) -> dict[str, Any] | None:
        """The row's columns, or None after recording why it is rejected."""
        if isinstance(raw, MalformedRecord):
            report.rejected.append(RejectedRow(row=number, reason=raw.reason))
            return None
        try:
            row = EnrollmentIn.model_validate(raw)
        except ValidationError as exc:
            report.rejected.append(RejectedRow(row=number, reason=error_summary(exc)))
            return None
        earlier = row_of_id.get(row.enrollment_id)
        if earlier is not None:
            reason = f"enrollment_id: repeats the enrollment_id of row {earlier}"
            report.rejected.append(RejectedRow(row=number, reason=reason))
            return None
        row_of_id[row.enrollment_id] = number
        return enrollment_columns(row, self.hasher)

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


def _rejected(report: UploadReport) -> Unprocessable:
    listed = report.rejected[:MAX_ERRORS_LISTED]
    return Unprocessable(
        f"{len(report.rejected)} of {report.received} rows are not valid; nothing was stored "
        "(on_error=skip_row stores the valid ones)",
        extra={"rejected": [rejected.model_dump() for rejected in listed]},
    )
