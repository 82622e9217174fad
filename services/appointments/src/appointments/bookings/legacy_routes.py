"""The original app's two requests, ``GET`` and ``POST /appointment``, with every new check.

Registered before the other /appointments routes, so ``/appointments/appointment`` is not
taken for an appointment id.
"""

from fastapi import APIRouter

from appointments.bookings.routes import CONFLICT, LOOKUP, NOT_ALLOWED
from appointments.bookings.schemas import (
    BookingIn,
    LegacyAppointmentOut,
    LegacyBookingIn,
    LegacyBookingOut,
)
from appointments.dependencies import Bookings, CurrentCaller, Receptionist

router = APIRouter(prefix="/appointments/appointment", tags=["original requests"])


@router.get("", summary="The caller's appointments as the original listed them (at most 200)")
async def my_appointments(caller: CurrentCaller, bookings: Bookings) -> list[LegacyAppointmentOut]:
    return [
        LegacyAppointmentOut(
            doctor=view.doctor.display_name(),
            receptionist=view.receptionist.display_name() if view.receptionist else None,
            patient=view.patient.display_name(),
            appointment_date=view.appointment.starts_at,
        )
        for view in await bookings.mine(caller)
    ]


@router.post(
    "",
    status_code=201,
    summary="Book as the original did (receptionists only); answers the verification number",
    responses={**LOOKUP, 403: NOT_ALLOWED, 409: CONFLICT},
    response_model_by_alias=True,
)
async def book_original(
    data: LegacyBookingIn, caller: Receptionist, bookings: Bookings
) -> LegacyBookingOut:
    booking = BookingIn(patient=data.patient, doctor=data.doctor, starts_at=data.appointment_date)
    view = await bookings.book(booking, caller)
    return LegacyBookingOut(verification_number=view.appointment.verification_number)
