"""All SQL about doctors' schedules: time zone, working hours and time off."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from appointments.availability.models import DoctorSchedule, TimeOff, WorkingHours


class ScheduleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_for_change(self, doctor_id: int) -> None:
        """Hold the doctor's schedule row FOR UPDATE: bookings (FOR SHARE) wait for the change."""
        statement = (
            select(DoctorSchedule.doctor_id)
            .where(DoctorSchedule.doctor_id == doctor_id)
            .with_for_update()
        )
        await self.session.exec(statement)

    async def week(
        self, doctor_id: int, *, share_lock: bool = False
    ) -> tuple[str, list[WorkingHours]] | None:
        """The doctor's time zone and working intervals in one query (None without a schedule);
        ``share_lock`` holds the schedule row FOR SHARE, as a booking does."""
        statement = (
            select(DoctorSchedule.timezone, WorkingHours)
            .select_from(DoctorSchedule)
            .outerjoin(WorkingHours, col(WorkingHours.doctor_id) == col(DoctorSchedule.doctor_id))
            .where(DoctorSchedule.doctor_id == doctor_id)
            .order_by(col(WorkingHours.weekday), col(WorkingHours.start_time))
        )
        if share_lock:
            statement = statement.with_for_update(read=True, of=DoctorSchedule)
        rows = (await self.session.exec(statement)).all()
        if not rows:
            return None
        return rows[0][0], [hours for _, hours in rows if hours is not None]

    async def hours(self, doctor_id: int) -> list[WorkingHours]:
        statement = (
            select(WorkingHours)
            .where(WorkingHours.doctor_id == doctor_id)
            .order_by(col(WorkingHours.weekday), col(WorkingHours.start_time))
        )
        return list(await self.session.exec(statement))

    async def replace_hours(
        self, doctor_id: int, timezone: str, hours: Sequence[WorkingHours]
    ) -> DoctorSchedule:
        """Set the time zone and replace every interval (the schedule row stays locked)."""
        new = insert(DoctorSchedule).values(doctor_id=doctor_id, timezone=timezone)
        upsert = new.on_conflict_do_update(
            index_elements=[col(DoctorSchedule.doctor_id)],
            set_={"timezone": new.excluded.timezone, "updated_at": func.now()},
        ).returning(DoctorSchedule)
        upsert = upsert.execution_options(populate_existing=True)  # the session may hold it
        schedule: DoctorSchedule = (await self.session.exec(upsert)).scalars().one()
        await self.session.exec(
            delete(WorkingHours).where(col(WorkingHours.doctor_id) == doctor_id)
        )
        self.session.add_all(hours)
        await self.session.flush()
        return schedule

    async def time_off_between(
        self, doctor_id: int, start: datetime, end: datetime
    ) -> list[TimeOff]:
        """The doctor's time off overlapping [start, end), earliest first."""
        statement = (
            select(TimeOff)
            .where(
                TimeOff.doctor_id == doctor_id,
                col(TimeOff.starts_at) < end,
                col(TimeOff.ends_at) > start,
            )
            .order_by(col(TimeOff.starts_at))
        )
        return list(await self.session.exec(statement))

    async def add_time_off(self, time_off: TimeOff) -> TimeOff:
        self.session.add(time_off)
        await self.session.flush()
        return time_off

    async def time_off(self, doctor_id: int, time_off_id: uuid.UUID) -> TimeOff | None:
        statement = select(TimeOff).where(TimeOff.id == time_off_id, TimeOff.doctor_id == doctor_id)
        return (await self.session.exec(statement)).first()

    async def remove_time_off(self, time_off: TimeOff) -> None:
        await self.session.delete(time_off)
        await self.session.flush()
