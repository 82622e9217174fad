"""Working hours, time off and free slots: parse, authorize, call AvailabilityService, shape."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from appointments.availability.repository import TimeOffRow
from appointments.availability.schemas import (
    AvailabilityOut,
    AvailabilityQuery,
    Slot,
    TimeOffIn,
    TimeOffOut,
    WindowQuery,
    WorkingHoursIn,
    WorkingHoursOut,
    WorkingIntervalOut,
)
from appointments.availability.service import WeeklyHours
from appointments.dependencies import Availability, CurrentCaller, ScheduleKeeper
from appointments.fields import PersonName
from appointments.people.repository import Person
from common.auth import CurrentUser
from common.problems import documented_problem

router = APIRouter(prefix="/appointments", tags=["availability"])

DoctorName = Annotated[PersonName, Path(description="The doctor's email or subject id")]
UNKNOWN_DOCTOR: dict[int | str, dict[str, Any]] = {
    404: documented_problem("No such doctor"),
    503: documented_problem("customers cannot be reached to look the doctor up"),
}
CHANGE: dict[int | str, dict[str, Any]] = {
    **UNKNOWN_DOCTOR,
    403: documented_problem("Only the doctor, a receptionist or an admin changes a schedule"),
}


def working_hours_out(doctor: Person, hours: WeeklyHours) -> WorkingHoursOut:
    return WorkingHoursOut(
        doctor=doctor.subject,
        timezone=hours.timezone,
        hours=[
            WorkingIntervalOut(weekday=item.weekday, start=item.start_time, end=item.end_time)
            for item in hours.intervals
        ],
    )


def time_off_out(doctor: Person, time_off: TimeOffRow) -> TimeOffOut:
    return TimeOffOut(
        id=time_off.id,
        doctor=doctor.subject,
        starts_at=time_off.starts_at,
        ends_at=time_off.ends_at,
        reason=time_off.reason,
    )


@router.get(
    "/availability",
    summary="A doctor's free slots between from and to (none in the past)",
    responses=UNKNOWN_DOCTOR,
)
async def availability(
    query: Annotated[AvailabilityQuery, Query()], _: CurrentUser, service: Availability
) -> AvailabilityOut:
    doctor, timezone, slots = await service.free(query)
    return AvailabilityOut(
        doctor=doctor.subject,
        timezone=timezone,
        slot_minutes=int(service.slot_length.total_seconds() // 60),
        slots=[Slot(starts_at=start, ends_at=end) for start, end in slots],
    )


@router.put(
    "/doctors/{doctor}/working-hours",
    summary="Replace a doctor's weekly hours (the doctor, a receptionist or an admin)",
    responses=CHANGE,
)
async def set_working_hours(
    doctor: DoctorName, data: WorkingHoursIn, caller: ScheduleKeeper, service: Availability
) -> WorkingHoursOut:
    return working_hours_out(*await service.set_working_hours(doctor, data, caller))


@router.get(
    "/doctors/{doctor}/working-hours",
    summary="A doctor's weekly hours",
    responses=UNKNOWN_DOCTOR,
)
async def read_working_hours(
    doctor: DoctorName, _: CurrentCaller, service: Availability
) -> WorkingHoursOut:
    return working_hours_out(*await service.working_hours(doctor))


@router.post(
    "/doctors/{doctor}/time-off",
    status_code=201,
    summary="Add time off (the doctor, a receptionist or an admin)",
    responses={**CHANGE, 409: documented_problem("Appointments are booked then")},
)
async def add_time_off(
    doctor: DoctorName, data: TimeOffIn, caller: ScheduleKeeper, service: Availability
) -> TimeOffOut:
    return time_off_out(*await service.add_time_off(doctor, data, caller))


@router.get(
    "/doctors/{doctor}/time-off",
    summary="A doctor's time off overlapping from and to",
    responses=UNKNOWN_DOCTOR,
)
async def list_time_off(
    doctor: DoctorName,
    window: Annotated[WindowQuery, Query()],
    _: CurrentCaller,
    service: Availability,
) -> list[TimeOffOut]:
    person, items = await service.time_off(doctor, window.from_, window.to)
    return [time_off_out(person, item) for item in items]


@router.delete(
    "/doctors/{doctor}/time-off/{time_off_id}",
    status_code=204,
    summary="Remove time off (the doctor, a receptionist or an admin)",
    responses=CHANGE,
)
async def remove_time_off(
    doctor: DoctorName, time_off_id: uuid.UUID, caller: ScheduleKeeper, service: Availability
) -> None:
    await service.remove_time_off(doctor, time_off_id, caller)
