"""The appointments journey through the real nginx, with the real customers issuing the tokens.

An admin made with the customers CLI grants roles; a receptionist books for a patient; the
patient and the doctor see it; a second booking of the slot is refused; the patient cancels.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gateway.stack import Stack
from tests.conftest import create_admin

pytestmark = pytest.mark.e2e


def new_email(role: str) -> str:
    return f"e2e-{role}-{uuid.uuid4().hex[:10]}@example.com"


def new_password() -> str:
    return f"journey-{uuid.uuid4().hex}"


def bearer(http: httpx.Client, email: str, password: str) -> dict[str, str]:
    tokens = http.post("/auth/login", json={"email": email, "password": password})
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


@pytest.fixture(scope="module")
def http(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.url, timeout=15)


@pytest.fixture(scope="module")
def admin(stack: Stack, http: httpx.Client) -> dict[str, str]:
    email, password = new_email("admin"), new_password()
    create_admin(stack, email, password)
    return bearer(http, email, password)


class People:
    """Accounts signed up through the gateway, given roles by the admin, logged in."""

    def __init__(self, http: httpx.Client, admin: dict[str, str]) -> None:
        self.http = http
        self.admin = admin

    def make(self, role: str) -> tuple[str, dict[str, str]]:
        email, password = new_email(role), new_password()
        signup = self.http.post("/auth/signup", json={"email": email, "password": password})
        assert signup.status_code == 201, signup.text
        granted = self.http.put(
            f"/customers/{email}/roles", json={"roles": [role]}, headers=self.admin
        )
        assert granted.status_code == 200, granted.text
        return email, bearer(self.http, email, password)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def test_a_receptionist_books_the_patient_and_doctor_see_it_and_the_patient_cancels(
    http: httpx.Client, admin: dict[str, str]
) -> None:
    people = People(http, admin)
    receptionist_email, receptionist = people.make("receptionist")
    patient_email, patient = people.make("patient")
    doctor_email, doctor = people.make("doctor")
    other_email, _ = people.make("patient")

    every_day = [{"weekday": day, "start": "07:00", "end": "19:00"} for day in range(7)]
    hours = http.put(
        f"/appointments/doctors/{doctor_email}/working-hours",
        json={"timezone": "Europe/Berlin", "hours": every_day},
        headers=doctor,
    )
    assert hours.status_code == 200, hours.text

    day = datetime.now(UTC).date() + timedelta(days=3)
    starts_at = datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)
    booking = {"patient": patient_email, "doctor": doctor_email, "starts_at": starts_at.isoformat()}
    booked = http.post("/appointments", json=booking, headers=receptionist)
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    assert (appointment["receptionist"], appointment["status"]) == (receptionist_email, "booked")

    for viewer in (patient, doctor):
        listed = http.get("/appointments", headers=viewer)  # the bare collection route
        assert listed.status_code == 200, listed.text
        assert [item["id"] for item in listed.json()["items"]] == [appointment["id"]]
        one = http.get(f"/appointments/{appointment['id']}", headers=viewer)
        assert one.json()["verification_number"] == appointment["verification_number"]
    original = http.get("/appointments/appointment", headers=patient).json()
    assert original[0]["doctor"] == doctor_email

    second = {**booking, "patient": other_email}
    refused = problem(http.post("/appointments", json=second, headers=receptionist), 409)
    assert "doctor" in refused["detail"]

    hour_later = starts_at + timedelta(hours=1)
    window = {"doctor": doctor_email, "from": starts_at.isoformat(), "to": hour_later.isoformat()}
    free = http.get("/appointments/availability", params=window, headers=patient).json()
    slots = [datetime.fromisoformat(slot["starts_at"]) for slot in free["slots"]]
    assert slots == [starts_at + timedelta(minutes=30)]

    cancelled = http.post(
        f"/appointments/{appointment['id']}/cancel", json={"reason": "travelling"}, headers=patient
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    free = http.get("/appointments/availability", params=window, headers=patient).json()
    assert len(free["slots"]) == 2


def test_appointments_refuses_callers_without_a_token_through_the_gateway(
    http: httpx.Client,
) -> None:
    problem(http.get("/appointments"), 401)
    problem(http.post("/appointments", json={}), 401)
