"""All SQL about appointments, sent straight to the driver (``common.sql``)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from appointments.bookings.models import OCCUPYING_SQL
from common.pagination import paginate_sql
from common.sql import Record, Sql, Transaction

# Every column, in AppointmentRow's order; the statements below join constants only (S608).
_COLUMNS = (
    "id, verification_number, patient_id, doctor_id, booked_by_id, starts_at, ends_at, status, "
    "reason, cancellation_reason, created_at, updated_at"
)
_INSERT = Sql.of(
    "INSERT INTO appointments (verification_number, patient_id, doctor_id, booked_by_id, "  # noqa: S608
    "starts_at, ends_at, reason) "
    "VALUES (:verification_number, :patient_id, :doctor_id, :booked_by_id, :starts_at, "
    f":ends_at, :reason) RETURNING {_COLUMNS}"
)
_BY_ID = Sql.of(f"SELECT {_COLUMNS} FROM appointments WHERE id = :id")  # noqa: S608
_BY_ID_FOR_UPDATE = Sql.of(f"SELECT {_COLUMNS} FROM appointments WHERE id = :id FOR UPDATE")  # noqa: S608
_MOVE = Sql.of(
    "UPDATE appointments SET starts_at = :starts_at, ends_at = :ends_at, "  # noqa: S608
    "reason = coalesce(CAST(:reason AS text), reason), updated_at = now() "
    f"WHERE id = :id RETURNING {_COLUMNS}"
)
_CANCEL = Sql.of(
    "UPDATE appointments SET status = 'cancelled', cancellation_reason = :reason, "  # noqa: S608
    f"updated_at = now() WHERE id = :id RETURNING {_COLUMNS}"
)
_SET_STATUS = Sql.of(
    "UPDATE appointments SET status = :status, updated_at = now() "  # noqa: S608
    f"WHERE id = :id RETURNING {_COLUMNS}"
)
# The doctor as a one-point int8range and the times as a half-open tstzrange: the forms the
# no-overlap constraint's gist index serves.
_OCCUPIED = Sql.of(
    "SELECT starts_at, ends_at FROM appointments "  # noqa: S608
    "WHERE int8range(doctor_id, doctor_id, '[]') = int8range(:doctor_id, :doctor_id, '[]') "
    "AND tstzrange(starts_at, ends_at, '[)') && tstzrange(:start, :end, '[)') "
    f"AND {OCCUPYING_SQL} ORDER BY starts_at"
)


@dataclass(frozen=True, slots=True)
class AppointmentRow:
    """An appointment as stored."""

    id: uuid.UUID
    verification_number: str
    patient_id: int
    doctor_id: int
    booked_by_id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    reason: str | None
    cancellation_reason: str | None
    created_at: datetime
    updated_at: datetime


def _appointment(row: Record) -> AppointmentRow:
    return AppointmentRow(**row)


@dataclass(frozen=True)
class AppointmentFilter:
    """Conditions of a listing; ``involving``: appointments a person is patient, doctor or
    booker of."""

    involving: int | None = None
    doctor_id: int | None = None
    patient_id: int | None = None
    status: str | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None

    def given(self) -> dict[str, object]:
        """The conditions set, by name (those of ``_CONDITIONS``)."""
        conditions = {
            "involving": self.involving,
            "doctor_id": self.doctor_id,
            "patient_id": self.patient_id,
            "status": self.status,
            "starts_from": self.starts_from,
            "starts_before": self.starts_before,
        }
        return {name: value for name, value in conditions.items() if value is not None}


_CONDITIONS = {
    "involving": "(patient_id = :involving OR doctor_id = :involving OR booked_by_id = :involving)",
    "doctor_id": "doctor_id = :doctor_id",
    "patient_id": "patient_id = :patient_id",
    "status": "status = :status",
    "starts_from": "starts_at >= :starts_from",
    "starts_before": "starts_at < :starts_before",
}


@cache
def _listing(conditions: tuple[str, ...]) -> tuple[Sql, Sql]:
    """The page and count statements of a listing with these conditions (each set of them
    compiled once)."""
    where = " AND ".join(_CONDITIONS[name] for name in conditions)
    where = f" WHERE {where}" if where else ""
    page = Sql.of(
        f"SELECT {_COLUMNS} FROM appointments{where} "  # noqa: S608
        "ORDER BY starts_at, id LIMIT :limit OFFSET :offset"
    )
    return page, Sql.of(f"SELECT count(*) FROM appointments{where}")  # noqa: S608


class AppointmentRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def insert(
        self,
        *,
        verification_number: str,
        patient_id: int,
        doctor_id: int,
        booked_by_id: int,
        starts_at: datetime,
        ends_at: datetime,
        reason: str | None,
    ) -> AppointmentRow:
        """Insert now, so a no-overlap violation surfaces here (as the registered problem)."""
        row = await self.transaction.fetchone(
            _INSERT,
            verification_number=verification_number,
            patient_id=patient_id,
            doctor_id=doctor_id,
            booked_by_id=booked_by_id,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
        )
        return _appointment(row)

    async def by_id(
        self, appointment_id: uuid.UUID, *, for_update: bool = False
    ) -> AppointmentRow | None:
        statement = _BY_ID_FOR_UPDATE if for_update else _BY_ID
        row = await self.transaction.fetchrow(statement, id=appointment_id)
        return _appointment(row) if row else None

    async def move(
        self, appointment_id: uuid.UUID, starts_at: datetime, ends_at: datetime, reason: str | None
    ) -> AppointmentRow:
        """New times, and a new reason unless ``reason`` is None."""
        return await self._changed(
            _MOVE, id=appointment_id, starts_at=starts_at, ends_at=ends_at, reason=reason
        )

    async def cancel(self, appointment_id: uuid.UUID, reason: str) -> AppointmentRow:
        return await self._changed(_CANCEL, id=appointment_id, reason=reason)

    async def set_status(self, appointment_id: uuid.UUID, status: str) -> AppointmentRow:
        return await self._changed(_SET_STATUS, id=appointment_id, status=status)

    async def _changed(self, statement: Sql, **parameters: object) -> AppointmentRow:
        row = await self.transaction.fetchone(statement, **parameters)
        return _appointment(row)

    async def page(
        self, where: AppointmentFilter, *, limit: int, offset: int
    ) -> tuple[list[AppointmentRow], int]:
        """One page ordered by start, and how many match in all."""
        given = where.given()
        page, count = _listing(tuple(given))
        rows, total = await paginate_sql(
            self.transaction, page, count, limit=limit, offset=offset, **given
        )
        return [_appointment(row) for row in rows], total

    async def occupied(
        self, doctor_id: int, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """(starts_at, ends_at) of the doctor's occupying appointments overlapping [start, end)."""
        rows = await self.transaction.fetch(_OCCUPIED, doctor_id=doctor_id, start=start, end=end)
        return [(row[0], row[1]) for row in rows]
