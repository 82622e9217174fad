"""Rules of availability: who sets a doctor's schedule, when a doctor can be booked, free slots."""

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from appointments.availability.repository import Interval, ScheduleRepository, TimeOffRow
from appointments.availability.schemas import AvailabilityQuery, TimeOffIn, WorkingHoursIn
from appointments.bookings.repository import AppointmentRepository
from appointments.people.repository import Person
from appointments.people.service import Caller, Directory
from common.errors import Conflict, Forbidden, NotFound
from common.schemas import field_error
from common.sql import Transaction

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class WeeklyHours:
    """A doctor's time zone and working intervals, as stored."""

    timezone: str
    intervals: Sequence[Interval]

    def windows(self, start: datetime, end: datetime) -> Iterator[Span]:
        """The working intervals of every local day touching [start, end), in UTC.

        In UTC because Python adds and subtracts wall-clock time on datetimes of one zone: a
        slot stepped in Europe/Berlin would not last 30 real minutes across a clock change.
        """
        zone = ZoneInfo(self.timezone)
        day = start.astimezone(zone).date()
        last = end.astimezone(zone).date()
        while day <= last:
            for interval in self.intervals:
                if interval.weekday == day.weekday():
                    yield (
                        datetime.combine(day, interval.start_time, tzinfo=zone).astimezone(UTC),
                        datetime.combine(day, interval.end_time, tzinfo=zone).astimezone(UTC),
                    )
            day += timedelta(days=1)

    def covers(self, start: datetime, end: datetime) -> bool:
        """Whether one working interval holds all of [start, end) (lengths in real time)."""
        return any(opens <= start and end <= closes for opens, closes in self.windows(start, start))


def overlaps(span: Span, busy: Sequence[Span]) -> bool:
    return any(span[0] < until and since < span[1] for since, until in busy)


def free_slots(
    windows: Sequence[Span], busy: Sequence[Span], length: timedelta, start: datetime, end: datetime
) -> list[Span]:
    """Slots of ``length`` counted from each window's opening, inside [start, end), that
    overlap nothing busy."""
    slots = []
    for opens, closes in sorted(windows):
        slot_start = opens
        while slot_start + length <= closes:
            slot = (slot_start, slot_start + length)
            if start <= slot[0] and slot[1] <= end and not overlaps(slot, busy):
                slots.append(slot)
            slot_start += length
    return slots


def now() -> datetime:
    return datetime.now(UTC)


class AvailabilityService:
    def __init__(
        self,
        transaction: Transaction,
        directory: Directory,
        *,
        slot_minutes: int,
        max_days: int,
    ) -> None:
        self.schedules = ScheduleRepository(transaction)
        self.appointments = AppointmentRepository(transaction)
        self.directory = directory
        self.slot_length = timedelta(minutes=slot_minutes)
        self.max_window = timedelta(days=max_days)

    async def doctor(self, name: str) -> Person:
        """The doctor named by email or subject id (customers is asked about unknown emails)."""
        return await self.directory.resolve(name, "doctor", field="doctor")

    async def set_working_hours(
        self, name: str, data: WorkingHoursIn, caller: Caller
    ) -> tuple[Person, WeeklyHours]:
        """Replace the doctor's week; the doctor themself, a receptionist or an admin."""
        doctor = await self._changeable(name, caller)
        await self.schedules.lock_for_change(doctor.id)
        rows = [Interval(item.weekday, item.start, item.end) for item in data.hours]
        timezone = await self.schedules.replace_hours(doctor.id, data.timezone, rows)
        return doctor, WeeklyHours(timezone, await self.schedules.hours(doctor.id))

    async def working_hours(self, name: str) -> tuple[Person, WeeklyHours]:
        doctor = await self.doctor(name)
        week = await self.schedules.week(doctor.id)
        if week is None:
            raise NotFound("This doctor has no working hours yet")
        return doctor, WeeklyHours(*week)

    async def add_time_off(
        self, name: str, data: TimeOffIn, caller: Caller
    ) -> tuple[Person, TimeOffRow]:
        """Time off; refused while occupying appointments fall inside it (move them first)."""
        doctor = await self._changeable(name, caller)
        await self.schedules.lock_for_change(doctor.id)
        if await self.appointments.occupied(doctor.id, data.starts_at, data.ends_at):
            raise Conflict("Appointments are booked in this time; cancel or move them first")
        time_off = await self.schedules.add_time_off(
            doctor.id, data.starts_at, data.ends_at, data.reason
        )
        return doctor, time_off

    async def time_off(
        self, name: str, start: datetime, end: datetime
    ) -> tuple[Person, list[TimeOffRow]]:
        doctor = await self.doctor(name)
        return doctor, await self.schedules.time_off_between(doctor.id, start, end)

    async def remove_time_off(self, name: str, time_off_id: uuid.UUID, caller: Caller) -> None:
        doctor = await self._changeable(name, caller)
        await self.schedules.lock_for_change(doctor.id)
        time_off = await self.schedules.time_off(doctor.id, time_off_id)
        if time_off is None:
            raise NotFound("This doctor has no such time off")
        await self.schedules.remove_time_off(time_off)

    async def free(self, query: AvailabilityQuery) -> tuple[Person, str, list[Span]]:
        """The doctor's time zone and free slots between ``from`` and ``to`` (none in the past)."""
        if query.to - query.from_ > self.max_window:
            raise field_error("to", f"The window is longer than {self.max_window.days} days")
        doctor = await self.doctor(query.doctor)
        doctor_id = doctor.id
        week = await self.schedules.week(doctor_id)
        if week is None:
            return doctor, "UTC", []
        hours = WeeklyHours(*week)
        start, end = max(query.from_, now()), query.to
        busy = await self.appointments.occupied(doctor_id, start, end)
        busy += [
            (off.starts_at, off.ends_at)
            for off in await self.schedules.time_off_between(doctor_id, start, end)
        ]
        slots = free_slots(list(hours.windows(start, end)), busy, self.slot_length, start, end)
        return doctor, hours.timezone, slots

    async def require_bookable(self, doctor_id: int, start: datetime, end: datetime) -> None:
        """Unprocessable unless [start, end) lies in the doctor's working hours and not in time
        off; holds the schedule FOR SHARE, so no schedule change races the booking."""
        week = await self.schedules.week(doctor_id, share_lock=True)
        if week is None:
            raise field_error(
                "doctor", "This doctor has no working hours yet", error_type="not_bookable"
            )
        if not WeeklyHours(*week).covers(start, end):
            raise field_error(
                "starts_at", "Outside the doctor's working hours", error_type="not_bookable"
            )
        if await self.schedules.time_off_between(doctor_id, start, end):
            raise field_error(
                "starts_at", "The doctor is off at this time", error_type="not_bookable"
            )

    async def _changeable(self, name: str, caller: Caller) -> Person:
        doctor = await self.doctor(name)
        if not caller.is_staff() and doctor.id != caller.id:
            raise Forbidden("A doctor changes only their own schedule")
        return doctor
