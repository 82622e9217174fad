"""Working hours, time off and free slots."""

import asyncio
import json
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from appointments.availability.schemas import WALL_CLOCK_PATTERN
from common.testing.contract import body_validator
from services.appointments.tests.conftest import at, problem

MORNINGS = [{"weekday": day, "start": "08:00", "end": "12:00"} for day in range(7)]


def starts(response) -> list[datetime]:
    assert response.status_code == 200, response.text
    return [datetime.fromisoformat(slot["starts_at"]) for slot in response.json()["slots"]]


async def free(api, caller, doctor, day: int):
    params = {
        "doctor": doctor.email,
        "from": at(day, 0).isoformat(),
        "to": at(day + 1, 0).isoformat(),
    }
    return await api.client.get("/appointments/availability", params=params, headers=caller.headers)


async def test_slots_shrink_as_bookings_are_made_and_grow_on_cancel(
    api, receptionist, patient
) -> None:
    doctor = await api.doctor(MORNINGS)
    slots = starts(await free(api, patient, doctor, 3))
    assert slots == [at(3, 8) + timedelta(minutes=30 * n) for n in range(8)]
    booked = await api.booked(patient, patient, doctor, at(3, 9))
    assert at(3, 9) not in starts(await free(api, patient, doctor, 3))
    assert len(starts(await free(api, patient, doctor, 3))) == 7
    await api.client.post(
        f"/appointments/{booked['id']}/cancel", json={"reason": "x"}, headers=patient.headers
    )
    assert starts(await free(api, patient, doctor, 3)) == slots


async def test_working_hours_follow_the_doctors_time_zone(api, patient) -> None:
    doctor = await api.doctor(MORNINGS, timezone="America/New_York")
    response = await free(api, patient, doctor, 3)
    assert response.json()["timezone"] == "America/New_York"
    first = starts(response)[0]
    assert first.astimezone(ZoneInfo("America/New_York")).hour == 8


async def test_a_booking_outside_working_hours_or_in_time_off_is_refused(
    api, receptionist, patient
) -> None:
    doctor = await api.doctor(MORNINGS)
    body = problem(await api.book(receptionist, patient, doctor, at(3, 13)), 422)
    assert body["errors"][0]["loc"] == ["body", "starts_at"]
    problem(await api.book(receptionist, patient, doctor, at(3, 11, 45)), 422)  # ends 12:15
    off = await api.client.post(
        f"/appointments/doctors/{doctor.subject}/time-off",
        json={"starts_at": at(4, 8).isoformat(), "ends_at": at(4, 10).isoformat()},
        headers=doctor.headers,
    )
    assert off.status_code == 201, off.text
    body = problem(await api.book(receptionist, patient, doctor, at(4, 9)), 422)
    assert "off" in body["errors"][0]["msg"]
    assert starts(await free(api, patient, doctor, 4))[0] == at(4, 10)
    assert await api.count("appointments") == 0
    removed = await api.client.delete(
        f"/appointments/doctors/{doctor.subject}/time-off/{off.json()['id']}",
        headers=receptionist.headers,
    )
    assert removed.status_code == 204
    await api.booked(receptionist, patient, doctor, at(4, 9))


async def test_time_off_over_a_booked_appointment_is_refused(api, receptionist, patient) -> None:
    doctor = await api.doctor(MORNINGS)
    await api.booked(receptionist, patient, doctor, at(3, 9))
    response = await api.client.post(
        f"/appointments/doctors/{doctor.email}/time-off",
        json={"starts_at": at(3, 8).isoformat(), "ends_at": at(3, 12).isoformat()},
        headers=doctor.headers,
    )
    problem(response, 409)
    assert await api.count("time_off") == 0


async def test_a_doctor_without_working_hours_cannot_be_booked(api, receptionist, patient) -> None:
    doctor = await api.person("doctor")
    body = problem(await api.book(receptionist, patient, doctor, at(3)), 422)
    assert body["errors"][0]["loc"] == ["body", "doctor"]
    assert starts(await free(api, patient, doctor, 3)) == []


async def test_who_may_set_working_hours(api, receptionist, patient) -> None:
    doctor, other_doctor = await api.person("doctor"), await api.person("doctor")
    admin = await api.person("admin")
    assert (await api.set_hours(doctor, doctor, MORNINGS)).status_code == 200
    assert (await api.set_hours(receptionist, doctor, MORNINGS)).status_code == 200
    assert (await api.set_hours(admin, doctor, MORNINGS)).status_code == 200
    problem(await api.set_hours(other_doctor, doctor, []), 403)
    problem(await api.set_hours(patient, doctor, []), 403)
    read = await api.client.get(
        f"/appointments/doctors/{doctor.subject}/working-hours", headers=patient.headers
    )
    assert read.json()["hours"][0] == {"weekday": 0, "start": "08:00:00", "end": "12:00:00"}
    assert len(read.json()["hours"]) == 7


async def test_working_hours_replace_the_week(api) -> None:
    doctor = await api.doctor(MORNINGS)
    monday = [{"weekday": 0, "start": "09:00", "end": "17:00"}]
    response = await api.set_hours(doctor, doctor, monday, timezone="Europe/Berlin")
    assert response.json()["hours"] == [{"weekday": 0, "start": "09:00:00", "end": "17:00:00"}]
    assert await api.count("working_hours") == 1


async def test_bad_working_hours_are_refused_and_change_nothing(api) -> None:
    doctor = await api.doctor(MORNINGS)
    bad_weeks = [
        ({"timezone": "Mars/Olympus", "hours": MORNINGS}),
        ({"timezone": "../../etc/passwd", "hours": MORNINGS}),
        ({"timezone": "UTC", "hours": [{"weekday": 7, "start": "08:00", "end": "09:00"}]}),
        ({"timezone": "UTC", "hours": [{"weekday": 1, "start": "10:00", "end": "09:00"}]}),
        ({"timezone": "UTC", "hours": [{"weekday": 1, "start": "08:00+01:00", "end": "09:00"}]}),
        ({"timezone": "UTC", "hours": [{"weekday": 1, "start": "8 o'clock", "end": "09:00"}]}),
        ({"timezone": "UTC", "hours": [MORNINGS[0], MORNINGS[0]]}),
        (
            {
                "timezone": "UTC",
                "hours": [MORNINGS[0], {"weekday": 0, "start": "11:00", "end": "13:00"}],
            }
        ),
        ({"timezone": "UTC", "hours": MORNINGS * 13}),
        ({"timezone": "UTC"}),
        ({"timezone": "UTC", "hours": MORNINGS, "lunch": "12:00"}),
    ]
    for week in bad_weeks:
        response = await api.client.put(
            f"/appointments/doctors/{doctor.email}/working-hours", json=week, headers=doctor.headers
        )
        problem(response, 422)
    assert await api.count("working_hours") == 7
    assert (await api.execute("SELECT timezone FROM appointments.doctor_schedules")) == [("UTC",)]


async def test_availability_needs_a_bounded_zoned_window(api, patient, doctor) -> None:
    base = {"doctor": doctor.email}
    windows = [
        {"from": at(3).isoformat(), "to": at(40).isoformat()},
        {"from": at(3).replace(tzinfo=None).isoformat(), "to": at(4).isoformat()},
        {"from": at(4).isoformat(), "to": at(3).isoformat()},
        {"from": "yesterday", "to": at(3).isoformat()},
        {"to": at(3).isoformat()},
    ]
    for window in windows:
        response = await api.client.get(
            "/appointments/availability", params={**base, **window}, headers=patient.headers
        )
        problem(response, 422)
    problem(await api.client.get("/appointments/availability", params=base), 401)


async def test_time_off_and_a_booking_racing_for_the_same_hour_never_both_win(
    api, receptionist, patient
) -> None:
    doctor = await api.doctor(MORNINGS)
    await api.client.get("/appointments", headers=patient.headers)
    for day in range(3, 9):
        booking, time_off = await asyncio.gather(
            api.book(receptionist, patient, doctor, at(day, 9)),
            api.client.post(
                f"/appointments/doctors/{doctor.subject}/time-off",
                json={"starts_at": at(day, 8).isoformat(), "ends_at": at(day, 12).isoformat()},
                headers=doctor.headers,
            ),
        )
        outcome = (booking.status_code, time_off.status_code)
        assert outcome in {(201, 409), (422, 201)}, outcome
    clashes = await api.execute(
        "SELECT count(*) FROM appointments.appointments a JOIN appointments.time_off t"
        " ON a.doctor_id = t.doctor_id AND a.starts_at < t.ends_at AND t.starts_at < a.ends_at"
    )
    assert clashes == [(0,)]


async def test_working_hours_are_documented_as_the_local_times_the_server_takes(api) -> None:
    """They were ``format: time`` (RFC 3339 full-time needs an offset), which the server refuses."""
    doctor = await api.doctor(MORNINGS)
    document = (await api.client.get("/appointments/openapi.json")).json()
    path = "/appointments/doctors/{doctor}/working-hours"
    body = body_validator(document, path, "put")

    def week(start: str) -> dict[str, Any]:
        return {"timezone": "UTC", "hours": [{"weekday": 1, "start": start, "end": "23:00"}]}

    for rfc3339 in ("08:00:00Z", "08:00:00+01:00", "08:00:00.5-05:00"):
        assert not body.is_valid(week(rfc3339))
        problem(await api.set_hours(doctor, doctor, week(rfc3339)["hours"]), 422)
    for local in ("08:00", "08:00:00", "08:00:00.25"):
        assert body.is_valid(week(local))
        response = await api.set_hours(doctor, doctor, week(local)["hours"])
        assert response.status_code == 200, response.text
        answered = response.json()["hours"][0]["start"]
        assert re.match(WALL_CLOCK_PATTERN, answered), answered
    assert "format" not in json.dumps(document["components"]["schemas"]["WorkingIntervalOut"])
