"""Bad input answers problem+json and stores nothing: empty, oversized, malformed, duplicated,
concurrent, zone-less, in the past, too long, unknown fields."""

import asyncio
from datetime import timedelta

import pytest

from services.appointments.tests.conftest import at, problem


@pytest.fixture
def good(patient, doctor) -> dict[str, str]:
    return {"patient": patient.email, "doctor": doctor.email, "starts_at": at(3).isoformat()}


async def assert_nothing_stored(api) -> None:
    assert await api.count("appointments") == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"starts_at": at(-1).isoformat()}, "starts_at"),
        ({"starts_at": at(3).replace(tzinfo=None).isoformat()}, "starts_at"),
        ({"starts_at": "next tuesday"}, "starts_at"),
        ({"starts_at": None}, "starts_at"),
        ({"starts_at": at(400).isoformat()}, "starts_at"),
        ({"ends_at": at(3).isoformat()}, "ends_at"),
        ({"ends_at": (at(3) - timedelta(minutes=5)).isoformat()}, "ends_at"),
        ({"ends_at": (at(3) + timedelta(hours=5)).isoformat()}, "ends_at"),
        ({"patient": ""}, "patient"),
        ({"patient": "x" * 300 + "@example.com"}, "patient"),
        ({"doctor": "not an email or id"}, "doctor"),
        ({"doctor": "doc\x00tor@example.com"}, "doctor"),
        ({"reason": "r" * 501}, "reason"),
        ({"verificationNumber": "AAAA-AAAA"}, "verificationNumber"),
        ({"status": "fulfilled"}, "status"),
    ],
)
async def test_a_bad_booking_is_a_422_naming_the_field(
    api, receptionist, good, change, field
) -> None:
    response = await api.client.post(
        "/appointments", json={**good, **change}, headers=receptionist.headers
    )
    body = problem(response, 422)
    assert field in {error["loc"][-1] for error in body["errors"]}, body
    await assert_nothing_stored(api)


async def test_empty_and_malformed_bodies_are_refused(api, receptionist) -> None:
    for content in (b"", b"{}", b"[]", b"{not json", b'"a string"', b"null"):
        response = await api.client.post(
            "/appointments",
            content=content,
            headers={**receptionist.headers, "Content-Type": "application/json"},
        )
        problem(response, 422)
    await assert_nothing_stored(api)


async def test_an_oversized_body_is_refused(api, receptionist, good) -> None:
    body = {**good, "reason": "x" * 2_000_000}
    problem(await api.client.post("/appointments", json=body, headers=receptionist.headers), 413)
    await assert_nothing_stored(api)


async def test_the_same_booking_twice_is_a_conflict_the_second_time(
    api, receptionist, good
) -> None:
    first = await api.client.post("/appointments", json=good, headers=receptionist.headers)
    assert first.status_code == 201
    problem(await api.client.post("/appointments", json=good, headers=receptionist.headers), 409)
    assert await api.count("appointments") == 1


async def test_the_same_booking_sent_concurrently_is_stored_once(api, receptionist, good) -> None:
    await api.client.get("/appointments", headers=receptionist.headers)
    responses = await asyncio.gather(
        *(
            api.client.post("/appointments", json=good, headers=receptionist.headers)
            for _ in range(5)
        )
    )
    assert sorted(response.status_code for response in responses) == [201, 409, 409, 409, 409]
    assert await api.count("appointments") == 1


async def test_malformed_ids_queries_and_paths_are_problems(api, receptionist) -> None:
    headers = receptionist.headers
    problem(await api.client.get("/appointments/not-a-uuid", headers=headers), 422)
    missing = "/appointments/00000000-0000-0000-0000-000000000000"
    problem(await api.client.get(missing, headers=headers), 404)
    problem(await api.client.get("/appointments?limit=0", headers=headers), 422)
    problem(await api.client.get("/appointments?limit=1000", headers=headers), 422)
    problem(await api.client.get("/appointments?offset=-1", headers=headers), 422)
    problem(await api.client.get("/appointments?status=lost", headers=headers), 422)
    problem(await api.client.get("/appointments?colour=red", headers=headers), 422)
    problem(await api.client.get("/appointments?from=2030-01-01T00:00", headers=headers), 422)
    problem(await api.client.get("/appointments?doctor=a%00b", headers=headers), 400)


async def test_bad_changes_to_an_appointment_change_nothing(
    api, receptionist, patient, doctor
) -> None:
    booked = await api.booked(receptionist, patient, doctor, at(3))
    path = f"/appointments/{booked['id']}"
    headers = receptionist.headers
    for body in ({}, {"starts_at": at(-1).isoformat()}, {"starts_at": "soon"}, {"id": "x"}):
        problem(await api.client.patch(path, json=body, headers=headers), 422)
    for body in ({}, {"reason": ""}, {"reason": "r" * 501}, {"reason": "ok", "status": "x"}):
        problem(await api.client.post(f"{path}/cancel", json=body, headers=headers), 422)
    for body in ({}, {"status": "lost"}, {"status": "booked"}):
        problem(await api.client.post(f"{path}/status", json=body, headers=headers), 422)
    rows = await api.execute("SELECT status, starts_at, reason FROM appointments.appointments")
    assert rows == [("booked", at(3), None)]
