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


# Instants Python or PostgreSQL cannot hold once shifted to UTC (or a day later), and numbers.
CALENDAR_EDGES = [
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "1700000000",
    "0.5",
]


@pytest.mark.parametrize("edge", CALENDAR_EDGES)
async def test_bookings_at_the_calendars_edges_are_422(api, receptionist, good, edge) -> None:
    """Each answered 500 (OverflowError, or SQLSTATE 22000 from PostgreSQL) before the bounds."""
    for change in ({"starts_at": edge}, {"ends_at": edge}):
        response = await api.client.post(
            "/appointments", json={**good, **change}, headers=receptionist.headers
        )
        body = problem(response, 422)
        assert set(change) <= {error["loc"][-1] for error in body["errors"]}, body
    await assert_nothing_stored(api)


@pytest.mark.parametrize("edge", CALENDAR_EDGES)
async def test_queries_at_the_calendars_edges_are_422(api, receptionist, doctor, edge) -> None:
    headers = receptionist.headers
    window = {"from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z"}
    time_off = f"/appointments/doctors/{doctor.subject}/time-off"
    for name in ("from", "to"):
        params = {**window, name: edge}
        availability = {**params, "doctor": doctor.subject}
        problem(await api.client.get("/appointments", params=params, headers=headers), 422)
        response = await api.client.get(
            "/appointments/availability", params=availability, headers=headers
        )
        problem(response, 422)
        problem(await api.client.get(time_off, params=params, headers=headers), 422)
    for name in ("starts_at", "ends_at"):
        body = {"starts_at": "2030-01-01T20:00:00Z", "ends_at": "2030-01-01T23:00:00Z"}
        response = await api.client.post(time_off, json={**body, name: edge}, headers=headers)
        problem(response, 422)
    assert await api.count("time_off") == 0


async def test_the_last_day_the_bounds_allow_is_served(api, receptionist, doctor) -> None:
    """The bound is the years 0002 to 9998 as written, whatever the offset: its edges work."""
    headers = receptionist.headers
    window = {"from": "0002-01-01T00:00:00+23:59", "to": "9998-12-31T23:59:59-14:00"}
    time_off = f"/appointments/doctors/{doctor.subject}/time-off"
    response = await api.client.get("/appointments", params=window, headers=headers)
    assert response.status_code == 200, response.text
    response = await api.client.get(time_off, params=window, headers=headers)
    assert response.status_code == 200, response.text
    late = {"starts_at": "9998-12-31T20:00:00-14:00", "ends_at": "9998-12-31T23:00:00-14:00"}
    response = await api.client.post(time_off, json=late, headers=headers)
    assert response.status_code == 201, response.text
    last_days = {"from": "9998-12-30T00:00:00Z", "to": "9998-12-31T23:59:59-14:00"}
    response = await api.client.get(
        "/appointments/availability",
        params={**last_days, "doctor": doctor.subject},
        headers=headers,
    )
    assert response.status_code == 200, response.text


async def test_a_method_a_path_does_not_serve_is_405_with_every_method_it_does(
    api, receptionist
) -> None:
    """``DELETE /appointments/availability`` was a 422 from ``/appointments/{appointment_id}``."""
    headers = receptionist.headers
    for method in ("DELETE", "PATCH", "PUT", "POST"):
        response = await api.client.request(method, "/appointments/availability", headers=headers)
        problem(response, 405)
        assert response.headers["allow"] == "GET"
    one = "/appointments/00000000-0000-0000-0000-000000000000"
    response = await api.client.request("PUT", one, headers=headers)
    problem(response, 405)
    document = (await api.client.get("/appointments/openapi.json")).json()
    documented = {method.upper() for method in document["paths"]["/appointments/{appointment_id}"]}
    assert set(response.headers["allow"].split(", ")) == documented
