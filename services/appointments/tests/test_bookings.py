"""Booking, seeing, moving, cancelling and status changes, by role, on real PostgreSQL."""

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.appointments.tests.conftest import at, problem

WEEK = timedelta(days=7)


async def test_a_receptionist_books_for_a_patient_and_both_people_see_it(
    api, receptionist, patient, doctor
) -> None:
    starts_at = at(3)
    booked = await api.booked(receptionist, patient, doctor, starts_at, reason="checkup")
    assert (booked["patient"], booked["doctor"]) == (patient.email, doctor.email)
    assert booked["receptionist"] == receptionist.email
    assert booked["status"] == "booked"
    assert booked["reason"] == "checkup"
    assert datetime.fromisoformat(booked["starts_at"]) == starts_at
    assert datetime.fromisoformat(booked["ends_at"]) == starts_at + timedelta(minutes=30)
    assert datetime.fromisoformat(booked["appointment_date"]) == starts_at
    assert len(booked["verification_number"]) == 9
    for viewer in (patient, doctor, receptionist):
        response = await api.client.get(f"/appointments/{booked['id']}", headers=viewer.headers)
        assert response.status_code == 200, response.text
        assert response.json()["verification_number"] == booked["verification_number"]


async def test_a_patient_books_for_themself_and_no_one_else(api, patient, doctor) -> None:
    own = await api.booked(patient, patient, doctor, at(3))
    assert own["receptionist"] is None
    other = await api.person("patient")
    problem(await api.book(patient, other, doctor, at(4)), 403)
    assert await api.count("appointments") == 1


async def test_a_doctor_cannot_book_and_a_caller_needs_a_token(api, patient, doctor) -> None:
    problem(await api.book(doctor, patient, doctor, at(3)), 403)
    response = await api.client.post(
        "/appointments",
        json={"patient": patient.email, "doctor": doctor.email, "starts_at": at(3).isoformat()},
    )
    problem(response, 401)
    assert await api.count("appointments") == 0


async def test_another_patient_can_neither_see_change_nor_cancel_it(
    api, receptionist, patient, doctor
) -> None:
    booked = await api.booked(receptionist, patient, doctor, at(3))
    stranger = await api.person("patient")
    other_doctor = await api.doctor()
    path = f"/appointments/{booked['id']}"
    for caller in (stranger, other_doctor):
        problem(await api.client.get(path, headers=caller.headers), 404)
        problem(
            await api.client.post(f"{path}/cancel", json={"reason": "x"}, headers=caller.headers),
            404,
        )
    problem(
        await api.client.patch(
            path, json={"starts_at": at(4).isoformat()}, headers=stranger.headers
        ),
        404,
    )
    listed = await api.client.get("/appointments", headers=stranger.headers)
    assert listed.json()["total"] == 0
    rows = await api.execute("SELECT status, starts_at FROM appointments.appointments")
    assert rows == [("booked", at(3))]


async def test_back_to_back_is_fine_and_an_overlap_names_the_doctor(
    api, receptionist, doctor
) -> None:
    first, second, third = [await api.person("patient") for _ in range(3)]
    await api.booked(receptionist, first, doctor, at(3, 10))
    await api.booked(receptionist, second, doctor, at(3, 10, 30))
    body = problem(await api.book(receptionist, third, doctor, at(3, 10, 15)), 409)
    assert "doctor" in body["detail"]
    assert await api.count("appointments") == 2


async def test_a_patient_cannot_be_with_two_doctors_at_once(api, receptionist, patient) -> None:
    first, second = await api.doctor(), await api.doctor()
    await api.booked(receptionist, patient, first, at(3, 10))
    body = problem(await api.book(receptionist, patient, second, at(3, 10, 20)), 409)
    assert "patient" in body["detail"]
    assert await api.count("appointments") == 1


async def test_of_twenty_simultaneous_bookings_of_one_slot_exactly_one_succeeds(
    api, receptionist, doctor
) -> None:
    patients = [await api.person("patient") for _ in range(20)]
    for patient in patients:  # each known to the directory, so the race is only the insert
        await api.client.get("/appointments", headers=patient.headers)
    responses = await asyncio.gather(
        *(api.book(receptionist, patient, doctor, at(5, 9)) for patient in patients)
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 19
    for response in responses:
        if response.status_code == 409:
            assert "doctor" in problem(response, 409)["detail"]
    assert await api.count("appointments") == 1


async def test_rescheduling_into_a_conflict_is_refused_and_the_original_kept(
    api, receptionist, patient, doctor
) -> None:
    other = await api.person("patient")
    moving = await api.booked(receptionist, patient, doctor, at(3, 10))
    await api.booked(receptionist, other, doctor, at(3, 11))
    path = f"/appointments/{moving['id']}"
    refused = await api.client.patch(
        path, json={"starts_at": at(3, 11, 15).isoformat()}, headers=receptionist.headers
    )
    problem(refused, 409)
    kept = (await api.client.get(path, headers=patient.headers)).json()
    assert datetime.fromisoformat(kept["starts_at"]) == at(3, 10)
    moved = await api.client.patch(
        path, json={"starts_at": at(3, 14).isoformat()}, headers=patient.headers
    )
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["ends_at"]) == at(3, 14, 30)  # length kept


async def test_a_patient_cancels_before_the_cutoff_and_cancelled_is_final(
    api, receptionist, patient, doctor
) -> None:
    booked = await api.booked(receptionist, patient, doctor, at(3))
    path = f"/appointments/{booked['id']}/cancel"
    cancelled = await api.client.post(path, json={"reason": "ill"}, headers=patient.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancellation_reason"] == "ill"
    problem(
        await api.client.post(path, json={"reason": "again"}, headers=receptionist.headers), 409
    )
    status = f"/appointments/{booked['id']}/status"
    problem(await api.client.post(status, json={"status": "arrived"}, headers=doctor.headers), 409)
    # the slot is free again
    await api.booked(receptionist, await api.person("patient"), doctor, at(3))


async def test_past_the_cutoff_only_staff_or_the_doctor_cancel(
    api, receptionist, patient, doctor
) -> None:
    soon = await api.booked(receptionist, patient, doctor, in_two_hours())
    path = f"/appointments/{soon['id']}/cancel"
    body = problem(
        await api.client.post(path, json={"reason": "late"}, headers=patient.headers), 409
    )
    assert "24 hours" in body["detail"]
    done = await api.client.post(path, json={"reason": "doctor ill"}, headers=doctor.headers)
    assert done.json()["status"] == "cancelled"


def in_two_hours() -> datetime:
    return datetime.now(ZoneInfo("UTC")).replace(microsecond=0) + timedelta(hours=2)


async def test_status_changes_follow_the_rules(api, receptionist, patient, doctor) -> None:
    booked = await api.booked(receptionist, patient, doctor, at(3))
    path = f"/appointments/{booked['id']}/status"
    body = problem(
        await api.client.post(path, json={"status": "fulfilled"}, headers=doctor.headers), 409
    )
    assert "before it starts" in body["detail"]
    problem(await api.client.post(path, json={"status": "arrived"}, headers=patient.headers), 403)
    problem(await api.client.post(path, json={"status": "cancelled"}, headers=doctor.headers), 422)
    arrived = await api.client.post(path, json={"status": "arrived"}, headers=doctor.headers)
    assert arrived.json()["status"] == "arrived"
    problem(
        await api.client.post(path, json={"status": "noshow"}, headers=receptionist.headers), 409
    )


async def test_the_list_is_scoped_by_role_filtered_and_paginated(api, receptionist, doctor) -> None:
    first, second = await api.person("patient"), await api.person("patient")
    other_doctor = await api.doctor()
    for day in (3, 4, 5):
        await api.booked(receptionist, first, doctor, at(day))
    await api.booked(receptionist, second, other_doctor, at(3))

    async def listing(caller, **params):
        response = await api.client.get("/appointments", params=params, headers=caller.headers)
        assert response.status_code == 200, response.text
        return response.json()

    assert (await listing(first))["total"] == 3
    assert (await listing(second))["total"] == 1
    assert (await listing(other_doctor))["total"] == 1
    assert (await listing(receptionist))["total"] == 4
    assert (await listing(receptionist, doctor=doctor.email))["total"] == 3
    assert (await listing(receptionist, patient=second.subject))["total"] == 1
    window = await listing(receptionist, **{"from": at(4).isoformat(), "to": at(5).isoformat()})
    assert window["total"] == 1
    page = await listing(receptionist, limit=2, offset=2)
    assert (page["total"], len(page["items"]), page["limit"], page["offset"]) == (4, 2, 2, 2)
    starts = [item["starts_at"] for item in (await listing(first))["items"]]
    assert starts == sorted(starts)
    assert (await listing(first, doctor=other_doctor.email))["total"] == 0
    assert (await listing(receptionist, status="cancelled"))["total"] == 0
    assert (await listing(receptionist, doctor="nobody@example.com"))["total"] == 0


async def test_a_booking_across_a_daylight_saving_change_keeps_its_real_length(
    api, receptionist, patient
) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    doctor = await api.doctor(timezone="Europe/Berlin")
    # the next last Sunday of March or October (clocks change at 01:00 UTC)
    day = datetime.now(berlin).date() + timedelta(days=1)
    while not (day.month in (3, 10) and day.weekday() == 6 and (day + WEEK).month != day.month):
        day += timedelta(days=1)
    starts_at = datetime(day.year, day.month, day.day, 0, 45, tzinfo=ZoneInfo("UTC"))
    booked = await api.booked(receptionist, patient, doctor, starts_at)
    ends_at = datetime.fromisoformat(booked["ends_at"])
    assert ends_at - starts_at == timedelta(minutes=30)
    local_start, local_end = starts_at.astimezone(berlin), ends_at.astimezone(berlin)
    assert local_start.utcoffset() != local_end.utcoffset()  # it straddles the change


async def test_the_original_requests_still_work(api, receptionist, patient, doctor) -> None:
    body = {"patient": patient.email, "doctor": doctor.email, "appointment_date": at(3).isoformat()}
    created = await api.client.post(
        "/appointments/appointment", json=body, headers=receptionist.headers
    )
    assert created.status_code == 201, created.text
    assert set(created.json()) == {"verificationNumber"}
    problem(
        await api.client.post("/appointments/appointment", json=body, headers=patient.headers), 403
    )
    unknown = {**body, "doctor": "no-such-doctor@example.com"}
    problem(
        await api.client.post(
            "/appointments/appointment", json=unknown, headers=receptionist.headers
        ),
        404,
    )
    problem(await api.client.post("/appointments/appointment", json=body), 401)
    for caller in (patient, doctor, receptionist):
        listed = await api.client.get("/appointments/appointment", headers=caller.headers)
        [item] = listed.json()
        assert datetime.fromisoformat(item.pop("appointment_date")) == at(3)
        assert item == {
            "doctor": doctor.email,
            "receptionist": receptionist.email,
            "patient": patient.email,
        }
