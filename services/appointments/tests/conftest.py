"""Fixtures: appointments on a real PostgreSQL, beside the real customers in its own process.

customers runs as a uvicorn process (services talk over HTTP only; these tests may not import
it), on the same test database, signing with the test key pair: ``token_factory`` tokens are
its tokens too, so an admin token from the factory grants roles there.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.config import SERVICE_DIR, Settings
from appointments.main import create_app
from common.migrations import upgrade
from common.testing import TEST_AUDIENCE, TEST_ISSUER, TokenFactory
from common.testing.checks import ServiceApi, assert_problem
from common.testing.plugin import ServiceUnderTest
from common.testing.processes import free_port, wait_until_answering

ROOT = SERVICE_DIR.parents[1]
EVERY_DAY = [{"weekday": day, "start": "00:00", "end": "23:59"} for day in range(7)]
PASSWORD = "violet-harbor-quilt-1987"


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("appointments", SERVICE_DIR, create_app, Settings)


@dataclass(frozen=True)
class RunningCustomers:
    url: str
    client_secret: str
    admin: dict[str, str]
    """Authorization header of an admin made with ``customers create-admin``."""


def _service_client_credential() -> tuple[str, str]:
    """A secret and the CUSTOMERS_SERVICE_CLIENTS entry, from ``customers service-client``."""
    output = subprocess.run(  # noqa: S603 (our own CLI)
        [str(Path(sys.executable).parent / "customers"), "service-client", "appointments"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    lines = dict(line.split(":", 1) for line in output.splitlines() if ":" in line)
    secret = lines["client secret"].split()[0]
    return secret, lines["CUSTOMERS_SERVICE_CLIENTS entry"].strip()


def _admin_headers(url: str, env: dict[str, str]) -> dict[str, str]:
    """An admin made with ``customers create-admin``, logged in (customers checks the roles an
    account holds now, so a token alone does not make an admin)."""
    email, password = "appointments-test-admin@example.com", "admin-" + uuid.uuid4().hex
    subprocess.run(  # noqa: S603 (our own CLI)
        [
            str(Path(sys.executable).parent / "customers"),
            "create-admin",
            "--email",
            email,
            "--password",
            password,
        ],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    tokens = httpx.post(f"{url}/auth/login", json={"email": email, "password": password})
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


@pytest.fixture(scope="session")
def customers(
    database_url: str, token_factory: TokenFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningCustomers]:
    """The real customers service, on the session's database, with appointments as a client."""
    upgrade(ROOT / "services" / "customers", database_url)
    secret, clients = _service_client_credential()
    port = free_port()
    folder = tmp_path_factory.mktemp("customers")
    env = {
        **os.environ,
        "ENV": "test",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(folder),
        "AUTH_ISSUER": TEST_ISSUER,
        "AUTH_AUDIENCE": TEST_AUDIENCE,
        "CUSTOMERS_SIGNING_KEYS": token_factory.keys.private_pem,
        "CUSTOMERS_SERVICE_CLIENTS": clients,
        "CUSTOMERS_ARGON2_MEMORY_KIB": "8",
        "CUSTOMERS_ARGON2_TIME_COST": "1",
    }
    command = [sys.executable, "-m", "uvicorn", "customers.main:create_app", "--factory"]
    with (folder / "customers.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own command)
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_answering(f"{url}/customers/readyz", process)
            yield RunningCustomers(url, secret, _admin_headers(url, env))
        finally:
            process.terminate()
            process.wait(10)


@pytest.fixture
def settings_overrides(customers: RunningCustomers) -> dict[str, Any]:
    return {"customers_url": customers.url, "client_secret": customers.client_secret}


@dataclass(frozen=True)
class Person:
    email: str
    subject: str
    roles: tuple[str, ...]
    headers: dict[str, str]


def at(days: int, hour: int = 10, minute: int = 0) -> datetime:
    """A UTC time ``days`` from today at ``hour:minute``."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=days, hours=hour, minutes=minute)


@dataclass
class AppointmentsApi(ServiceApi):
    """Shortcuts: people made in the real customers, bookings, and a look at the tables."""

    schema = "appointments"
    customers_url: str
    customers_admin: dict[str, str]
    tokens: TokenFactory

    async def person(self, *roles: str, name: str = "person") -> Person:
        """A customer signed up in customers, with ``roles`` granted by an admin there."""
        email = f"{name}-{uuid.uuid4().hex[:10]}@example.com"
        admin = self.customers_admin
        async with httpx.AsyncClient(base_url=self.customers_url) as customers:
            signup = await customers.post(
                "/auth/signup", json={"email": email, "password": PASSWORD}
            )
            assert signup.status_code == 201, signup.text
            granted = await customers.put(
                f"/customers/{email}/roles", json={"roles": list(roles)}, headers=admin
            )
            assert granted.status_code == 200, granted.text
        subject = signup.json()["customer_id"]
        headers = self.tokens.auth(subject, roles, email=email)
        return Person(email, subject, roles, headers)

    async def doctor(self, hours: list[dict[str, Any]] | None = None, **kw: Any) -> Person:
        """A doctor working ``hours`` (default: every day, all day, UTC)."""
        doctor = await self.person("doctor", name="doctor")
        response = await self.set_hours(doctor, doctor, hours or EVERY_DAY, **kw)
        assert response.status_code == 200, response.text
        return doctor

    async def set_hours(
        self, caller: Person, doctor: Person, hours: list[dict[str, Any]], timezone: str = "UTC"
    ) -> httpx.Response:
        return await self.client.put(
            f"/appointments/doctors/{doctor.email}/working-hours",
            json={"timezone": timezone, "hours": hours},
            headers=caller.headers,
        )

    async def book(
        self, caller: Person, patient: Person, doctor: Person, starts_at: datetime, **fields: Any
    ) -> httpx.Response:
        body = {
            "patient": patient.email,
            "doctor": doctor.email,
            "starts_at": starts_at.isoformat(),
            **{
                key: value.isoformat() if isinstance(value, datetime) else value
                for key, value in fields.items()
            },
        }
        return await self.client.post("/appointments", json=body, headers=caller.headers)

    async def booked(
        self, caller: Person, patient: Person, doctor: Person, starts_at: datetime, **fields: Any
    ) -> dict[str, Any]:
        response = await self.book(caller, patient, doctor, starts_at, **fields)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def api(
    client: httpx.AsyncClient,
    customers: RunningCustomers,
    token_factory: TokenFactory,
    admin_engine: AsyncEngine,
) -> AppointmentsApi:
    return AppointmentsApi(client, admin_engine, customers.url, customers.admin, token_factory)


@pytest.fixture
async def receptionist(api: AppointmentsApi) -> Person:
    return await api.person("receptionist", name="receptionist")


@pytest.fixture
async def patient(api: AppointmentsApi) -> Person:
    return await api.person("patient", name="patient")


@pytest.fixture
async def doctor(api: AppointmentsApi) -> Person:
    return await api.doctor()


problem = assert_problem
