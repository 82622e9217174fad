"""Every endpoint against every kind of caller: no token, a plain customer, the appointment's
patient, another patient, its doctor, another doctor, a receptionist, an admin."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from services.appointments.tests.conftest import AppointmentsApi, Person, at

CALLERS = (
    "nobody",
    "customer",
    "patient",
    "other_patient",
    "doctor",
    "other_doctor",
    "receptionist",
    "admin",
)


@dataclass
class World:
    api: AppointmentsApi
    people: dict[str, Person]

    def headers(self, caller: str) -> dict[str, str]:
        return {} if caller == "nobody" else self.people[caller].headers

    async def appointment(self, day: int = 3) -> dict[str, Any]:
        people = self.people
        return await self.api.booked(
            people["receptionist"], people["patient"], people["doctor"], at(day, 10)
        )


@pytest.fixture
async def world(api, receptionist, patient, doctor) -> World:
    people = {"receptionist": receptionist, "patient": patient, "doctor": doctor}
    people["other_patient"] = await api.person("patient")
    people["other_doctor"] = await api.doctor()
    people["admin"] = await api.person("admin")
    people["customer"] = await api.person("customer")
    for person in people.values():  # each known to the directory
        await api.client.get("/appointments/appointment", headers=person.headers)
    return World(api, people)


def expect(**statuses: int) -> dict[str, int]:
    assert set(statuses) == set(CALLERS)
    return statuses


async def check(world: World, expected: dict[str, int], call) -> None:
    seen = {caller: (await call(caller)).status_code for caller in CALLERS}
    assert seen == expected


async def test_list(world: World) -> None:
    expected = expect(
        nobody=401,
        customer=200,
        patient=200,
        other_patient=200,
        doctor=200,
        other_doctor=200,
        receptionist=200,
        admin=200,
    )
    await check(
        world,
        expected,
        lambda who: world.api.client.get("/appointments", headers=world.headers(who)),
    )


async def test_book(world: World) -> None:
    people = world.people
    slots = iter(range(1, 20))

    async def book(who: str):
        body = {
            "patient": people["patient"].email,
            "doctor": people["doctor"].email,
            "starts_at": (at(3, 8) + timedelta(minutes=30 * next(slots))).isoformat(),
        }
        return await world.api.client.post("/appointments", json=body, headers=world.headers(who))

    expected = expect(
        nobody=401,
        customer=403,
        patient=201,
        other_patient=403,
        doctor=403,
        other_doctor=403,
        receptionist=201,
        admin=201,
    )
    await check(world, expected, book)


async def test_read_one(world: World) -> None:
    path = f"/appointments/{(await world.appointment())['id']}"
    expected = expect(
        nobody=401,
        customer=404,
        patient=200,
        other_patient=404,
        doctor=200,
        other_doctor=404,
        receptionist=200,
        admin=200,
    )
    await check(world, expected, lambda who: world.api.client.get(path, headers=world.headers(who)))


async def test_reschedule(world: World) -> None:
    path = f"/appointments/{(await world.appointment())['id']}"
    hours = iter(range(11, 20))

    async def move(who: str):
        body = {"starts_at": at(3, next(hours)).isoformat()}
        return await world.api.client.patch(path, json=body, headers=world.headers(who))

    expected = expect(
        nobody=401,
        customer=403,
        patient=200,
        other_patient=404,
        doctor=403,
        other_doctor=403,
        receptionist=200,
        admin=200,
    )
    await check(world, expected, move)


async def test_cancel(world: World) -> None:
    days = iter(range(3, 20))

    async def cancel(who: str):
        path = f"/appointments/{(await world.appointment(next(days)))['id']}/cancel"
        return await world.api.client.post(path, json={"reason": "r"}, headers=world.headers(who))

    expected = expect(
        nobody=401,
        customer=404,
        patient=200,
        other_patient=404,
        doctor=200,
        other_doctor=404,
        receptionist=200,
        admin=200,
    )
    await check(world, expected, cancel)


async def test_status(world: World) -> None:
    days = iter(range(3, 20))

    async def arrive(who: str):
        path = f"/appointments/{(await world.appointment(next(days)))['id']}/status"
        body = {"status": "arrived"}
        return await world.api.client.post(path, json=body, headers=world.headers(who))

    expected = expect(
        nobody=401,
        customer=403,
        patient=403,
        other_patient=403,
        doctor=200,
        other_doctor=404,
        receptionist=200,
        admin=200,
    )
    await check(world, expected, arrive)


async def test_working_hours_and_time_off(world: World) -> None:
    doctor = world.people["doctor"].subject
    week = {"timezone": "UTC", "hours": [{"weekday": 0, "start": "08:00", "end": "12:00"}]}
    changers = expect(
        nobody=401,
        customer=403,
        patient=403,
        other_patient=403,
        doctor=200,
        other_doctor=403,
        receptionist=200,
        admin=200,
    )
    await check(
        world,
        changers,
        lambda who: world.api.client.put(
            f"/appointments/doctors/{doctor}/working-hours", json=week, headers=world.headers(who)
        ),
    )
    days = iter(range(30, 40))

    async def time_off(who: str):
        day = next(days)
        body = {"starts_at": at(day).isoformat(), "ends_at": at(day, 12).isoformat()}
        return await world.api.client.post(
            f"/appointments/doctors/{doctor}/time-off", json=body, headers=world.headers(who)
        )

    await check(world, {**changers, "doctor": 201, "receptionist": 201, "admin": 201}, time_off)
    readers = expect(
        nobody=401,
        customer=200,
        patient=200,
        other_patient=200,
        doctor=200,
        other_doctor=200,
        receptionist=200,
        admin=200,
    )
    await check(
        world,
        readers,
        lambda who: world.api.client.get(
            f"/appointments/doctors/{doctor}/working-hours", headers=world.headers(who)
        ),
    )
    window = {"from": at(1).isoformat(), "to": at(40).isoformat()}
    await check(
        world,
        readers,
        lambda who: world.api.client.get(
            f"/appointments/doctors/{doctor}/time-off", params=window, headers=world.headers(who)
        ),
    )


async def test_availability(world: World) -> None:
    params = {
        "doctor": world.people["doctor"].email,
        "from": at(3).isoformat(),
        "to": at(4).isoformat(),
    }
    expected = expect(
        nobody=401,
        customer=200,
        patient=200,
        other_patient=200,
        doctor=200,
        other_doctor=200,
        receptionist=200,
        admin=200,
    )
    await check(
        world,
        expected,
        lambda who: world.api.client.get(
            "/appointments/availability", params=params, headers=world.headers(who)
        ),
    )


async def test_the_original_requests(world: World) -> None:
    people = world.people
    hours = iter(range(8, 20))
    readers = expect(
        nobody=401,
        customer=200,
        patient=200,
        other_patient=200,
        doctor=200,
        other_doctor=200,
        receptionist=200,
        admin=200,
    )
    await check(
        world,
        readers,
        lambda who: world.api.client.get("/appointments/appointment", headers=world.headers(who)),
    )

    async def book(who: str):
        body = {
            "patient": people["patient"].email,
            "doctor": people["doctor"].email,
            "appointment_date": at(5, next(hours)).isoformat(),
        }
        return await world.api.client.post(
            "/appointments/appointment", json=body, headers=world.headers(who)
        )

    expected = expect(
        nobody=401,
        customer=403,
        patient=403,
        other_patient=403,
        doctor=403,
        other_doctor=403,
        receptionist=201,
        admin=201,
    )
    await check(world, expected, book)
