"""Rules of enrollments: validation row by row, hashing, upserts in batches, deletion."""

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

from common.errors import Conflict, NotFound, Unprocessable
from common.schemas import field_error
from common.sql import Transaction
from matching.enrollments.csv_rows import CsvProblem, MalformedRecord, csv_rows
from matching.enrollments.repository import (
    EnrollmentColumns,
    EnrollmentRepository,
    StoredEnrollment,
)
from matching.enrollments.schemas import EnrollmentIn
from matching.fields import IDENTIFIERS, MIN_IDENTIFIERS
from matching.lenient import validate_leniently
from matching.names import name_key, phonetic_code
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


@dataclass(frozen=True)
class Rejection:
    row: int
    """1-based: the n-th enrollment of the list, or line of the CSV."""
    reason: str


@dataclass(frozen=True)
class LeftOut:
    """A field of a stored row left out as unusable; ``message`` never names the value."""

    row: int
    field: str
    message: str


@dataclass
class Upload:
    """What an upload did with its rows."""

    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    """Rows that cannot be stored at all."""
    warnings: list[LeftOut] = field(default_factory=list)
    """Rows stored without a field that was not usable."""


def enrollment_columns(
    row: EnrollmentIn, hasher: SsnHasher, dropped: Collection[str] = ()
) -> EnrollmentColumns:
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
    def __init__(self, transaction: Transaction, hasher: SsnHasher, limits: UploadLimits) -> None:
        self.transaction = transaction
        self.enrollments = EnrollmentRepository(transaction)
        self.hasher = hasher
        self.limits = limits

    async def upload_json(
        self, organization_id: int, rows: Sequence[object], on_error: OnError
    ) -> Upload:
        return await self.upload(organization_id, numbered(rows), on_error)

    async def upload(
        self, organization_id: int, rows: AsyncIterable[NumberedRow], on_error: OnError
    ) -> Upload:
        """Upsert the storable rows in batches; with ``reject_request`` any rejection raises
        Unprocessable, and the unit of work stores nothing; so does a request past the row cap
        or past the organization's quota. Uploads of one organization run one at a time."""
        await self.transaction.allow_bulk_statements()
        stored = await self.enrollments.lock_organization(organization_id)
        report = Upload()
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
                await self._upsert(organization_id, columns, report)
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
    ) -> Upload:
        try:
            return await self.upload(organization_id, csv_rows(chunks), on_error)
        except CsvProblem as exc:
            raise Unprocessable(str(exc)) from exc

    def _validated(
        self, batch: Sequence[NumberedRow], row_of_id: dict[str, int], report: Upload
    ) -> list[EnrollmentColumns]:
        """The columns of each storable row; the others recorded as rejections."""
        columns = []
        for number, raw in batch:
            row = self._storable(number, raw, row_of_id, report)
            if row is not None:
                columns.append(row)
        return columns

    def _storable(
        self, number: int, raw: object, row_of_id: dict[str, int], report: Upload
    ) -> EnrollmentColumns | None:
        """The row's columns, or None after recording why it cannot be stored; its unusable
        fields are left out and listed as warnings."""
        if isinstance(raw, MalformedRecord):
            report.rejected.append(Rejection(number, raw.reason))
            return None
        validated = validate_leniently(EnrollmentIn, raw, label="row", droppable=DROPPABLE)
        row = validated.item
        if row is None:
            report.rejected.append(Rejection(number, _reason(validated.refused)))
            return None
        if len(row.identifiers()) < MIN_IDENTIFIERS:
            reason = (
                f"a record needs at least {MIN_IDENTIFIERS} identifiers of "
                f"{', '.join(IDENTIFIERS)}; this row has {len(row.identifiers())}"
            )
            dropped = [f"{name}: {message}" for name, message in validated.dropped]
            report.rejected.append(Rejection(number, "; ".join([reason, *dropped])))
            return None
        earlier = row_of_id.get(row.enrollment_id)
        if earlier is not None:
            reason = f"enrollment_id: repeats the enrollment_id of row {earlier}"
            report.rejected.append(Rejection(number, reason))
            return None
        row_of_id[row.enrollment_id] = number
        report.warnings += [LeftOut(number, name, message) for name, message in validated.dropped]
        return enrollment_columns(row, self.hasher, {name for name, _ in validated.dropped})

    async def _upsert(
        self, organization_id: int, batch: list[EnrollmentColumns], report: Upload
    ) -> None:
        counts = await self.enrollments.upsert_many(organization_id, batch)
        report.created += counts.created
        report.updated += counts.updated
        report.unchanged += len(batch) - counts.created - counts.updated

    async def page(
        self, organization_id: int | None, client_id: str | None, *, limit: int, offset: int
    ) -> tuple[list[tuple[StoredEnrollment, str]], int]:
        """A page of enrollments, each with its organization's name, and the total."""
        return await self.enrollments.page(organization_id, client_id, limit=limit, offset=offset)

    async def one(self, organization_id: int, enrollment_id: str) -> StoredEnrollment:
        enrollment = await self.enrollments.one(organization_id, enrollment_id)
        if enrollment is None:
            raise NotFound("Your organization has no enrollment with this id")
        return enrollment

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


def _rejected(report: Upload) -> Unprocessable:
    listed = report.rejected[:MAX_ERRORS_LISTED]
    return Unprocessable(
        f"{len(report.rejected)} of {report.received} rows are not valid; nothing was stored "
        "(on_error=skip_row stores the valid ones)",
        extra={"rejected": [asdict(rejected) for rejected in listed]},
    )
