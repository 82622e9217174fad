"""Bookings per second across 20 doctors with 50 concurrent clients, and the availability query's
latency for a doctor with 10,000 past appointments."""

import asyncio
import itertools
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from passlib.hash import argon2
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import charts, load
from bench.context import Context
from bench.report import Section
from common.database import async_url

DOCTORS = 20
PATIENTS = 50
CLIENTS = 50
PAST_APPOINTMENTS = 10_000
DURATION = 8.0
WARMUP = 2.0
SLOT = timedelta(minutes=30)
EVERY_DAY = [{"weekday": day, "start": "00:00", "end": "23:30"} for day in range(7)]
SLOTS_PER_DAY = 47
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# The people are made once; logins and signups are not what this measures.
CHEAP_HASHING = {"CUSTOMERS_ARGON2_MEMORY_KIB": "8", "CUSTOMERS_ARGON2_TIME_COST": "1"}


def run(ctx: Context) -> Section:
    secret = secrets.token_urlsafe(32)
    clients = json.dumps({"appointments": argon2.using(type="ID").hash(secret)})
    customers_env = {**CHEAP_HASHING, "CUSTOMERS_SERVICE_CLIENTS": clients}
    with ctx.service("customers", env=customers_env) as customers:
        admin_email, admin_password = "bench-admin@example.com", secrets.token_urlsafe()
        _create_admin(ctx, admin_email, admin_password)
        appointments_env = {
            "AUTH_JWKS_URL": f"{customers.base_url}/auth/jwks.json",
            "APPOINTMENTS_CUSTOMERS_URL": customers.base_url,
            "APPOINTMENTS_CLIENT_SECRET": secret,
            "DB_POOL_SIZE": "25",
        }
        with ctx.service("appointments", env=appointments_env) as service:
            setup = _Setup(customers.base_url, service.base_url, admin_email, admin_password)
            with ctx.load_generator():
                scenarios = asyncio.run(_scenarios(setup, ctx.database_url))
    plot = charts.latency_bars(
        {scenario.label: scenario.samples for scenario in scenarios},
        title="appointments: bookings and availability, one uvicorn worker",
        path=ctx.plot_path(),
    )
    alone, booking, availability_week, _ = scenarios
    week = availability_week.samples
    return Section(
        title="appointments: bookings and availability",
        method=_method(),
        summary=(
            f"{booking.samples.per_second:.0f} bookings/s with {CLIENTS} concurrent clients over "
            f"{DOCTORS} doctors (p50 {load.ms(booking.samples, 50)} ms, p95 "
            f"{load.ms(booking.samples, 95)} ms). A week of free slots of a doctor with "
            f"{PAST_APPOINTMENTS:,} past appointments: p50 {load.ms(week, 50)} ms, "
            f"p95 {load.ms(week, 95)} ms. One booking at a time: "
            f"p50 {load.ms(alone.samples, 50)} ms, p95 {load.ms(alone.samples, 95)} ms."
        ),
        tables=[load.scenario_table(scenarios)],
        plots=[plot],
    )


@dataclass
class _Setup:
    customers_url: str
    appointments_url: str
    admin_email: str
    admin_password: str


def _create_admin(ctx: Context, email: str, password: str) -> None:
    command = [str(Path(sys.executable).parent / "customers"), "create-admin", "--email", email]
    subprocess.run(
        [*command, f"--password={password}"],  # a password may start with "-"
        env={**os.environ, "DATABASE_URL": ctx.database_url, "DATA_DIR": str(ctx.data_dir)},
        check=True,
        capture_output=True,
    )


async def _scenarios(setup: _Setup, database_url: str) -> list[load.Scenario]:
    async with (
        load.client(setup.customers_url, connections=10) as customers,
        load.client(setup.appointments_url, connections=1) as http,
    ):
        admin = await _login(customers, setup.admin_email, setup.admin_password)
        receptionist = await _person(customers, admin, "receptionist", login=True)
        doctors = [await _person(customers, admin, "doctor") for _ in range(DOCTORS)]
        patients = [await _person(customers, admin, "patient") for _ in range(PATIENTS)]
        for doctor in doctors:
            await _require(
                http.put(
                    f"/appointments/doctors/{doctor}/working-hours",
                    json={"timezone": "UTC", "hours": EVERY_DAY},
                    headers=receptionist,
                )
            )
    url = setup.appointments_url
    bookings = _bookings(receptionist, doctors, patients)
    await _measure(url, bookings, duration=WARMUP, concurrency=CLIENTS)
    booking = await _measure(url, bookings, duration=DURATION, concurrency=CLIENTS)
    one_at_a_time = await _measure(url, bookings, duration=DURATION)
    await _past_appointments(database_url, doctors[0], patients[0])
    week = await _measure(url, _availability(receptionist, doctors[0], days=7), duration=DURATION)
    day = await _measure(url, _availability(receptionist, doctors[0], days=1), duration=DURATION)
    _require_no_errors(one_at_a_time, booking, week, day)
    return [
        load.Scenario("POST /appointments, 1 at a time", one_at_a_time),
        load.Scenario(f"POST /appointments, {CLIENTS} clients, {DOCTORS} doctors", booking),
        load.Scenario("GET /appointments/availability, 7 days", week),
        load.Scenario("GET /appointments/availability, 1 day", day),
    ]


Sender = Callable[[httpx.AsyncClient], load.Send]


async def _measure(
    base_url: str, sender: Sender, *, duration: float, concurrency: int = 1
) -> load.Samples:
    """One scenario on a client of its own: uvicorn closes connections idle for 5 s, and a
    request on a connection closed between scenarios would count as a failure."""
    async with load.client(base_url, connections=concurrency) as http:
        return await load.measure(sender(http), duration=duration, concurrency=concurrency)


async def _login(customers: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await customers.post("/auth/login", json={"email": email, "password": password})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _person(
    customers: httpx.AsyncClient, admin: dict[str, str], role: str, *, login: bool = False
) -> Any:
    """A customer with ``role``: their email, or with ``login`` their Authorization header."""
    email, password = f"bench-{role}-{secrets.token_hex(5)}@example.com", secrets.token_urlsafe()
    signup = await customers.post("/auth/signup", json={"email": email, "password": password})
    signup.raise_for_status()
    granted = await customers.put(
        f"/customers/{email}/roles", json={"roles": [role]}, headers=admin
    )
    granted.raise_for_status()
    return await _login(customers, email, password) if login else email


def _bookings(receptionist: dict[str, str], doctors: list[str], patients: list[str]) -> Sender:
    """Booking n: doctor n mod 20, patient n mod 50, slot n div 20 from tomorrow: no conflicts."""
    turn = itertools.count()
    tomorrow = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow += timedelta(days=1)

    def sender(http: httpx.AsyncClient) -> load.Send:
        def send() -> Awaitable[httpx.Response]:
            number = next(turn)
            day, slot = divmod(number // DOCTORS, SLOTS_PER_DAY)
            starts_at = tomorrow + timedelta(days=day) + slot * SLOT
            body = {
                "patient": patients[number % PATIENTS],
                "doctor": doctors[number % DOCTORS],
                "starts_at": starts_at.isoformat(),
            }
            return http.post("/appointments", json=body, headers=receptionist)

        return send

    return sender


async def _past_appointments(database_url: str, doctor_email: str, patient_email: str) -> None:
    """10,000 fulfilled half-hours of one doctor and patient before today, written in SQL (the
    API refuses starts in the past)."""
    engine = create_async_engine(async_url(database_url))
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    codes = {_code() for _ in range(PAST_APPOINTMENTS * 2)}
    async with engine.begin() as connection:
        people = dict(
            (
                await connection.execute(
                    text(
                        "SELECT email, id FROM appointments.participants"
                        " WHERE email IN (:doctor, :patient)"
                    ),
                    {"doctor": doctor_email, "patient": patient_email},
                )
            ).all()
        )
        rows = [
            {
                "code": code,
                "doctor": people[doctor_email],
                "patient": people[patient_email],
                "starts": today - (number + 1) * SLOT,
                "ends": today - number * SLOT,
            }
            for number, code in zip(range(PAST_APPOINTMENTS), codes, strict=False)
        ]
        await connection.execute(
            text(
                "INSERT INTO appointments.appointments (verification_number, patient_id,"
                " doctor_id, booked_by_id, starts_at, ends_at, status)"
                " VALUES (:code, :patient, :doctor, :patient, :starts, :ends, 'fulfilled')"
            ),
            rows,
        )
        await connection.execute(text("ANALYZE appointments.appointments"))
    await engine.dispose()


def _code() -> str:
    characters = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{characters[:4]}-{characters[4:]}"


def _availability(caller: dict[str, str], doctor: str, *, days: int) -> Sender:
    start = datetime.now(UTC) + timedelta(hours=1)
    params = {
        "doctor": doctor,
        "from": start.isoformat(),
        "to": (start + timedelta(days=days)).isoformat(),
    }

    def sender(http: httpx.AsyncClient) -> load.Send:
        return lambda: http.get("/appointments/availability", params=params, headers=caller)

    return sender


async def _require(request: Awaitable[httpx.Response]) -> None:
    response = await request
    response.raise_for_status()


def _require_no_errors(*runs: load.Samples) -> None:
    failed = sum(samples.errors for samples in runs)
    if failed:
        raise RuntimeError(f"{failed} requests failed; see the service log")


def _method() -> str:
    return (
        "customers and appointments run as one uvicorn worker each (development settings, "
        "appointments with DB_POOL_SIZE=25, customers' argon2 cost at its minimum "
        "because signups are set-up here, not measured). An admin made with `customers "
        f"create-admin` grants roles to a receptionist, {DOCTORS} doctors and {PATIENTS} "
        "patients signed up in customers; the receptionist gives every doctor working hours "
        "all day, every day (UTC). Bookings: the receptionist books by email, booking n for "
        f"doctor n mod {DOCTORS} and patient n mod {PATIENTS} in half-hour slot n div "
        f"{DOCTORS} from tomorrow, so none conflicts. After a {WARMUP:.0f} s warm-up of "
        f"{CLIENTS} concurrent bookings that is not reported (the first booking of each patient "
        f"asks customers for them with the service token), {CLIENTS} httpx loops on the load CPU "
        f"send one booking after another for {DURATION:.0f} s, then one loop does so for "
        f"{DURATION:.0f} s (each scenario on fresh keep-alive connections). Then "
        f"{PAST_APPOINTMENTS:,} fulfilled appointments in the past are "
        "written for the first doctor in SQL (the API refuses past starts) and the table is "
        "analyzed; `GET /appointments/availability` of that doctor, for the next 7 days and "
        f"for the next day (slots of 30 minutes, minus the booked ones), runs one request at a "
        f"time for {DURATION:.0f} s each. Latencies are taken in the client, so they include "
        "httpx's own overhead."
    )
