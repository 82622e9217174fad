"""All SQL about doctors' schedules (time zone, working hours, time off), sent straight to the
driver (``common.sql``)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from common.sql import Sql, Transaction

_LOCK_FOR_CHANGE = Sql.of(
    "SELECT doctor_id FROM doctor_schedules WHERE doctor_id = :doctor_id FOR UPDATE"
)
_WEEK = (
    "SELECT doctor_schedules.timezone, working_hours.weekday, working_hours.start_time, "
    "working_hours.end_time FROM doctor_schedules LEFT OUTER JOIN working_hours "
    "ON working_hours.doctor_id = doctor_schedules.doctor_id "
    "WHERE doctor_schedules.doctor_id = :doctor_id "
    "ORDER BY working_hours.weekday, working_hours.start_time"
)
_READ_WEEK = Sql.of(_WEEK)
_SHARE_WEEK = Sql.of(f"{_WEEK} FOR SHARE OF doctor_schedules")
_HOURS = Sql.of(
    "SELECT weekday, start_time, end_time FROM working_hours WHERE doctor_id = :doctor_id "
    "ORDER BY weekday, start_time"
)
_SET_TIMEZONE = Sql.of(
    "INSERT INTO doctor_schedules (doctor_id, timezone) VALUES (:doctor_id, :timezone) "
    "ON CONFLICT (doctor_id) DO UPDATE SET timezone = excluded.timezone, updated_at = now() "
    "RETURNING timezone"
)
_FORGET_HOURS = Sql.of("DELETE FROM working_hours WHERE doctor_id = :doctor_id")
_ADD_HOURS = Sql.of(
    "INSERT INTO working_hours (doctor_id, weekday, start_time, end_time) "
    "SELECT :doctor_id, hours.weekday, hours.start_time, hours.end_time "
    "FROM unnest(CAST(:weekdays AS smallint[]), CAST(:starts AS time[]), CAST(:ends AS time[])) "
    "AS hours(weekday, start_time, end_time)"
)
_TIME_OFF = "SELECT id, doctor_id, starts_at, ends_at, reason FROM time_off"
_TIME_OFF_BETWEEN = Sql.of(
    f"{_TIME_OFF} WHERE doctor_id = :doctor_id AND starts_at < :end AND ends_at > :start "
    "ORDER BY starts_at"
)
_TIME_OFF_BY_ID = Sql.of(f"{_TIME_OFF} WHERE id = :id AND doctor_id = :doctor_id")
_ADD_TIME_OFF = Sql.of(
    "INSERT INTO time_off (doctor_id, starts_at, ends_at, reason) "
    "VALUES (:doctor_id, :starts_at, :ends_at, :reason) "
    "RETURNING id, doctor_id, starts_at, ends_at, reason"
)
_REMOVE_TIME_OFF = Sql.of("DELETE FROM time_off WHERE id = :id")


@dataclass(frozen=True, slots=True)
class Interval:
    """One working interval of a weekday, in the doctor's local time (0 = Monday)."""

    weekday: int
    start_time: time
    end_time: time


@dataclass(frozen=True, slots=True)
class TimeOffRow:
    id: uuid.UUID
    doctor_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str | None


class ScheduleRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def lock_for_change(self, doctor_id: int) -> None:
        """Hold the doctor's schedule row FOR UPDATE: bookings (FOR SHARE) wait for the change."""
        await self.transaction.execute(_LOCK_FOR_CHANGE, doctor_id=doctor_id)

    async def week(
        self, doctor_id: int, *, share_lock: bool = False
    ) -> tuple[str, list[Interval]] | None:
        """The doctor's time zone and working intervals in one query (None without a schedule);
        ``share_lock`` holds the schedule row FOR SHARE, as a booking does."""
        statement = _SHARE_WEEK if share_lock else _READ_WEEK
        rows = await self.transaction.fetch(statement, doctor_id=doctor_id)
        if not rows:
            return None
        intervals = [Interval(row[1], row[2], row[3]) for row in rows if row[1] is not None]
        return rows[0][0], intervals

    async def hours(self, doctor_id: int) -> list[Interval]:
        rows = await self.transaction.fetch(_HOURS, doctor_id=doctor_id)
        return [Interval(*row) for row in rows]

    async def replace_hours(self, doctor_id: int, timezone: str, hours: Sequence[Interval]) -> str:
        """Set the time zone and replace every interval (the schedule row stays locked); the
        time zone stored."""
        stored: str = await self.transaction.fetchval(
            _SET_TIMEZONE, doctor_id=doctor_id, timezone=timezone
        )
        await self.transaction.execute(_FORGET_HOURS, doctor_id=doctor_id)
        if hours:
            await self.transaction.execute(
                _ADD_HOURS,
                doctor_id=doctor_id,
                weekdays=[interval.weekday for interval in hours],
                starts=[interval.start_time for interval in hours],
                ends=[interval.end_time for interval in hours],
            )
        return stored

    async def time_off_between(
        self, doctor_id: int, start: datetime, end: datetime
    ) -> list[TimeOffRow]:
        """The doctor's time off overlapping [start, end), earliest first."""
        rows = await self.transaction.fetch(
            _TIME_OFF_BETWEEN, doctor_id=doctor_id, start=start, end=end
        )
        return [TimeOffRow(**row) for row in rows]

    async def add_time_off(
        self, doctor_id: int, starts_at: datetime, ends_at: datetime, reason: str | None
    ) -> TimeOffRow:
        row = await self.transaction.fetchone(
            _ADD_TIME_OFF, doctor_id=doctor_id, starts_at=starts_at, ends_at=ends_at, reason=reason
        )
        return TimeOffRow(**row)

    async def time_off(self, doctor_id: int, time_off_id: uuid.UUID) -> TimeOffRow | None:
        row = await self.transaction.fetchrow(_TIME_OFF_BY_ID, id=time_off_id, doctor_id=doctor_id)
        return TimeOffRow(**row) if row else None

    async def remove_time_off(self, time_off: TimeOffRow) -> None:
        await self.transaction.execute(_REMOVE_TIME_OFF, id=time_off.id)
