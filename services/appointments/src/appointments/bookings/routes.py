"""The /appointments endpoints: parse, authorize, call BookingService, shape the response."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from appointments.bookings.schemas import (
    AppointmentOut,
    AppointmentQuery,
    BookingIn,
    CancelIn,
    RescheduleIn,
    StatusChangeIn,
)
from appointments.bookings.service import AppointmentView
from appointments.dependencies import Booker, Bookings, CurrentCaller, ScheduleKeeper
from common.problems import documented_problem
from common.schemas import Page

router = APIRouter(prefix="/appointments", tags=["appointments"])

NOT_VISIBLE = documented_problem("No such appointment, or not the caller's to see")
NOT_ALLOWED = documented_problem("The caller's roles do not allow this")
CONFLICT = documented_problem("The doctor or the patient has another appointment then")
LOOKUP: dict[int | str, dict[str, Any]] = {
    404: documented_problem("No such patient or doctor"),
    503: documented_problem("customers cannot be reached to look a person up"),
}


def appointment_out(view: AppointmentView) -> AppointmentOut:
    appointment = view.appointment
    return AppointmentOut(
        id=appointment.id,
        verification_number=appointment.verification_number,
        doctor=view.doctor.display_name(),
        patient=view.patient.display_name(),
        receptionist=view.receptionist.display_name() if view.receptionist else None,
        appointment_date=appointment.starts_at,
        doctor_id=view.doctor.subject,
        patient_id=view.patient.subject,
        booked_by_id=view.booked_by.subject,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        status=appointment.status,
        reason=appointment.reason,
        cancellation_reason=appointment.cancellation_reason,
        created_at=appointment.created_at,
        updated_at=appointment.updated_at,
    )


@router.get("", summary="Appointments the caller may see (staff: all), by start, with filters")
async def list_appointments(
    query: Annotated[AppointmentQuery, Query()], caller: CurrentCaller, bookings: Bookings
) -> Page[AppointmentOut]:
    views, total = await bookings.page(query, caller)
    return Page.of([appointment_out(view) for view in views], total, query)


@router.post(
    "",
    status_code=201,
    summary="Book (a receptionist or admin for anyone, a patient for themself)",
    responses={**LOOKUP, 403: NOT_ALLOWED, 409: CONFLICT},
)
async def book(data: BookingIn, caller: Booker, bookings: Bookings) -> AppointmentOut:
    return appointment_out(await bookings.book(data, caller))


@router.get(
    "/{appointment_id}",
    summary="One appointment (its patient, its doctor, whoever booked it, staff)",
    responses={404: NOT_VISIBLE},
)
async def read_appointment(
    appointment_id: uuid.UUID, caller: CurrentCaller, bookings: Bookings
) -> AppointmentOut:
    return appointment_out(await bookings.visible(appointment_id, caller))


@router.patch(
    "/{appointment_id}",
    summary="Reschedule a booked appointment (the same rules as booking)",
    responses={403: NOT_ALLOWED, 404: NOT_VISIBLE, 409: CONFLICT},
)
async def reschedule(
    appointment_id: uuid.UUID, data: RescheduleIn, caller: Booker, bookings: Bookings
) -> AppointmentOut:
    return appointment_out(await bookings.reschedule(appointment_id, data, caller))


@router.post(
    "/{appointment_id}/cancel",
    summary="Cancel (staff, its doctor, or its patient up to the cutoff); final",
    responses={404: NOT_VISIBLE, 409: documented_problem("Not booked, or past the cutoff")},
)
async def cancel(
    appointment_id: uuid.UUID, data: CancelIn, caller: CurrentCaller, bookings: Bookings
) -> AppointmentOut:
    return appointment_out(await bookings.cancel(appointment_id, data.reason, caller))


@router.post(
    "/{appointment_id}/status",
    summary="Mark arrived, fulfilled or no-show (staff or its doctor)",
    responses={
        403: NOT_ALLOWED,
        404: NOT_VISIBLE,
        409: documented_problem("Not a valid change now"),
    },
)
async def change_status(
    appointment_id: uuid.UUID, data: StatusChangeIn, caller: ScheduleKeeper, bookings: Bookings
) -> AppointmentOut:
    return appointment_out(await bookings.change_status(appointment_id, data.status, caller))
