"""People: named by email (looked up in the real customers) or subject id; customers down."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from services.appointments.tests.conftest import EVERY_DAY, Person, at, free_port, problem


@asynccontextmanager
async def another_app(service, settings, **changes) -> AsyncIterator[httpx.AsyncClient]:
    """A second appointments app on the same database, with ``changes`` to its settings."""
    application = service.create_app(settings.model_copy(update=changes))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_people_are_looked_up_in_customers_and_remembered(
    api, receptionist, patient, doctor
) -> None:
    await api.booked(receptionist, patient, doctor, at(3))
    rows = await api.execute(
        "SELECT subject, email, roles FROM appointments.participants WHERE email = :email",
        email=patient.email,
    )
    assert rows == [(patient.subject, patient.email, ["patient"])]


async def test_a_person_may_be_named_by_subject_id(api, receptionist, patient, doctor) -> None:
    body = {"patient": patient.subject, "doctor": doctor.subject, "starts_at": at(3).isoformat()}
    await api.client.get("/appointments", headers=patient.headers)  # the patient is now known
    response = await api.client.post("/appointments", json=body, headers=receptionist.headers)
    assert response.status_code == 201, response.text
    assert response.json()["patient"] == patient.email


async def test_unknown_people_are_404_and_wrong_roles_422(
    api, receptionist, patient, doctor
) -> None:
    problem(await api.book(receptionist, patient, _named("nobody@example.com"), at(3)), 404)
    problem(await api.book(receptionist, _named("nobody-else@example.com"), doctor, at(3)), 404)
    problem(await api.book(receptionist, _named("no-such-subject"), doctor, at(3)), 404)
    body = problem(await api.book(receptionist, patient, patient, at(3)), 422)
    assert body["errors"][0]["loc"] == ["body", "doctor"]
    body = problem(await api.book(receptionist, doctor, doctor, at(3)), 422)
    assert body["errors"][0]["loc"] == ["body", "patient"]
    assert await api.count("appointments") == 0


async def test_a_role_granted_later_in_customers_is_seen(api, receptionist, patient) -> None:
    colleague = await api.person("patient")
    await api.client.get("/appointments", headers=colleague.headers)  # known as a patient only
    async with httpx.AsyncClient(base_url=api.customers_url) as customers:
        granted = await customers.put(
            f"/customers/{colleague.email}/roles",
            json={"roles": ["doctor"]},
            headers=api.customers_admin,
        )
        assert granted.status_code == 200
    headers = api.tokens.auth(colleague.subject, ["doctor"], email=colleague.email)
    doctor = Person(colleague.email, colleague.subject, ("doctor",), headers)
    response = await api.set_hours(doctor, doctor, EVERY_DAY)
    assert response.status_code == 200, response.text
    await api.booked(receptionist, patient, doctor, at(3))


async def test_when_customers_is_down_lookups_are_503_and_known_people_still_work(
    api, service, settings, receptionist, patient, doctor
) -> None:
    await api.booked(receptionist, patient, doctor, at(3))  # all three are known now
    stranger = await api.person("patient")
    closed_port = f"http://127.0.0.1:{free_port()}"
    async with another_app(service, settings, customers_url=closed_port) as client:
        body = {"patient": stranger.email, "doctor": doctor.email, "starts_at": at(4).isoformat()}
        refused = await client.post("/appointments", json=body, headers=receptionist.headers)
        assert problem(refused, 503)["detail"].startswith("The customers service cannot be reached")
        assert refused.headers["retry-after"]
        known = {"patient": patient.email, "doctor": doctor.subject, "starts_at": at(4).isoformat()}
        booked = await client.post("/appointments", json=known, headers=receptionist.headers)
        assert booked.status_code == 201, booked.text
        listed = await client.get("/appointments", headers=patient.headers)
        assert listed.json()["total"] == 2
    assert await api.count("participants", "email = :email", email=stranger.email) == 0
    assert await api.count("appointments") == 2


def _named(name: str) -> Person:
    """Someone a request names who was never made in customers."""
    return Person(name, name, (), {})


async def test_without_a_client_secret_only_known_people_can_be_booked(
    api, service, settings, receptionist, patient, doctor
) -> None:
    await api.client.get("/appointments", headers=patient.headers)
    stranger = await api.person("patient")
    async with another_app(service, settings, client_secret=None) as client:
        body = {"patient": stranger.email, "doctor": doctor.email, "starts_at": at(4).isoformat()}
        problem(await client.post("/appointments", json=body, headers=receptionist.headers), 503)
        known = {**body, "patient": patient.email}
        booked = await client.post("/appointments", json=known, headers=receptionist.headers)
        assert booked.status_code == 201, booked.text
    assert await api.count("appointments") == 1
