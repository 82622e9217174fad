"""Clients generated from every service's OpenAPI document read well and work.

openapi-python-client turns each document, as the gateway serves it, into a package with no
warning about the document; one journey per service then runs through those packages against the
real stack behind nginx. openapi-typescript turns every document into TypeScript types.
"""

import importlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from gateway.stack import Stack, service_ports
from tests.conftest import create_admin

pytestmark = pytest.mark.e2e
SERVICES = list(service_ports())
CLIENTS = Path(__file__).parent / "clients"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


class Generated:
    """The generated packages (``<service>_client``) and what the generator printed for each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.output: dict[str, str] = {}

    def generate(self, service: str, document: Path) -> None:
        env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ['PATH']}"}
        command = [str(GENERATOR), "generate", "--path", str(document), "--meta", "none"]
        target = ["--output-path", str(self.folder / f"{service}_client")]
        config = ["--config", str(CLIENTS / "openapi-python-client.yaml")]
        done = subprocess.run(  # noqa: S603 (the generator from this environment)
            [*command, *target, *config], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
        self.output[service] = done.stdout + done.stderr

    def module(self, service: str, name: str) -> ModuleType:
        """``name`` inside the service's package: ``api.points.points_own_balance``."""
        return importlib.import_module(f"{service}_client.{name}")


@pytest.fixture(scope="module")
def documents(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every service's OpenAPI document, fetched through the gateway."""
    folder = tmp_path_factory.mktemp("openapi")
    fetched = {}
    for service in SERVICES:
        answer = httpx.get(f"{stack.url}/{service}/openapi.json", timeout=30)
        assert answer.status_code == 200
        fetched[service] = folder / f"{service}.json"
        fetched[service].write_bytes(answer.content)
    return fetched


@pytest.fixture(scope="module")
def generated(documents: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Generated:
    packages = Generated(tmp_path_factory.mktemp("clients"))
    for service, document in documents.items():
        packages.generate(service, document)
    sys.path.insert(0, str(packages.folder))
    return packages


@pytest.mark.parametrize("service", SERVICES)
def test_the_generator_has_nothing_to_say_about_the_document(
    generated: Generated, service: str
) -> None:
    assert "warning" not in generated.output[service].lower(), generated.output[service]


@pytest.mark.parametrize("service", SERVICES)
def test_operation_ids_are_the_tag_and_the_function(
    documents: dict[str, Path], service: str
) -> None:
    document = json.loads(documents[service].read_text())
    operations = [op for path in document["paths"].values() for op in path.values()]
    ids = [operation["operationId"] for operation in operations]
    assert len(ids) == len(set(ids))
    for operation in operations:
        tag, function = operation["operationId"].split("-")
        assert tag == operation["tags"][0].lower().replace(": ", "_").replace(" ", "_")
        assert function.isidentifier()


@pytest.mark.parametrize("service", SERVICES)
def test_every_json_request_body_has_an_example(documents: dict[str, Path], service: str) -> None:
    document = json.loads(documents[service].read_text())
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = content["application/json"]["schema"]
            schema = next((part for part in schema.get("anyOf", []) if "$ref" in part), schema)
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
            assert schema.get("examples"), f"{method.upper()} {path}"


def test_openapi_typescript_turns_every_document_into_types(
    documents: dict[str, Path], tmp_path: Path
) -> None:
    npm = shutil.which("npm")
    assert npm, "npm is not installed (apt-get install npm)"
    installed = subprocess.run(  # noqa: S603 (npm, with the committed lock file)
        [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(CLIENTS)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr
    generator = CLIENTS / "node_modules" / ".bin" / "openapi-typescript"
    for service, document in documents.items():
        types = tmp_path / f"{service}.d.ts"
        done = subprocess.run(  # noqa: S603 (the locked openapi-typescript)
            [str(generator), str(document), "--output", str(types)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "operations" in types.read_text()


# The journeys: each service's main path, called only through its generated package.


class Platform:
    """Accounts made through the generated customers client, for the other services' journeys."""

    def __init__(self, stack: Stack, generated: Generated) -> None:
        self.stack = stack
        self.generated = generated
        self.password = f"generated-{uuid.uuid4().hex}"
        customers_client = generated.module("customers", "client")
        self.anonymous = customers_client.Client(base_url=stack.url)
        admin_email = self.email("admin")
        create_admin(stack, admin_email, self.password)
        self.admin_token = self.login(admin_email)

    def email(self, role: str) -> str:
        return f"generated-{role}-{uuid.uuid4().hex[:10]}@example.com"

    def call(self, service: str, operation: str, **arguments: Any) -> Any:
        """``sync_detailed`` of the operation; its parsed body, after checking the status."""
        tag, function = operation.split("-")
        module = self.generated.module(service, f"api.{tag}.{tag}_{function}")
        expected = arguments.pop("expected", 200)
        response = module.sync_detailed(**arguments)
        assert response.status_code == expected, response.content
        return response.parsed

    def login(self, email: str) -> str:
        models = self.generated.module("customers", "models")
        body = models.LoginRequest(email=email, password=self.password)
        tokens = self.call("customers", "auth-login", client=self.anonymous, body=body)
        return str(tokens.access_token)

    def client(self, service: str, token: str) -> Any:
        return self.generated.module(service, "client").AuthenticatedClient(
            base_url=self.stack.url, token=token
        )

    def account(self, role: str | None = None) -> tuple[str, str]:
        """A signed-up account (given ``role`` by the admin); its email and access token."""
        models = self.generated.module("customers", "models")
        email = self.email(role or "customer")
        signup = models.SignupRequest(email=email, password=self.password)
        self.call("customers", "auth-signup", client=self.anonymous, body=signup, expected=201)
        if role:
            admin = self.client("customers", self.admin_token)
            roles = models.RolesUpdate(roles=[models.RolesUpdateRolesItem(role)])
            self.call("customers", "customers-set_roles", client=admin, email=email, body=roles)
        return email, self.login(email)


@pytest.fixture(scope="module")
def platform(stack: Stack, generated: Generated) -> Platform:
    return Platform(stack, generated)


def test_customers_signup_login_and_me(platform: Platform) -> None:
    email, token = platform.account()
    me = platform.call("customers", "auth-me", client=platform.client("customers", token))
    assert (me.email, me.roles) == (email, ["customer"])


def test_points_add_spend_and_balance(platform: Platform) -> None:
    _, token = platform.account()
    models = platform.generated.module("points", "models")
    points = platform.client("points", token)
    for payer, amount, hour in (("DANNON", 300, 10), ("UNILEVER", 200, 11), ("DANNON", -200, 15)):
        credit = models.TransactionIn(
            payer=payer, points=amount, timestamp=datetime(2020, 11, 2, hour, tzinfo=UTC)
        )
        platform.call(
            "points", "points-add_own_transaction", client=points, body=credit, expected=201
        )
    spent = platform.call(
        "points", "points-spend_own_points", client=points, body=models.SpendIn(points=150)
    )
    breakdown = {part.payer: part.points for part in spent}
    assert breakdown == {"DANNON": -100, "UNILEVER": -50}
    balance = platform.call("points", "points-own_balance", client=points)
    assert balance.additional_properties == {"DANNON": 0, "UNILEVER": 150}


def test_appointments_a_receptionist_books_and_the_patient_sees_it(platform: Platform) -> None:
    models = platform.generated.module("appointments", "models")
    _, receptionist = platform.account("receptionist")
    patient_email, patient = platform.account("patient")
    doctor_email, doctor = platform.account("doctor")
    hours = models.WorkingHoursIn(
        timezone="UTC",
        hours=[models.WorkingInterval(weekday=day, start="08:00", end="18:00") for day in range(7)],
    )
    platform.call(
        "appointments",
        "availability-set_working_hours",
        client=platform.client("appointments", doctor),
        doctor=doctor_email,
        body=hours,
    )
    day = date.today() + timedelta(days=2)
    starts_at = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    booking = models.BookingIn(patient=patient_email, doctor=doctor_email, starts_at=starts_at)
    booked = platform.call(
        "appointments",
        "appointments-book",
        client=platform.client("appointments", receptionist),
        body=booking,
        expected=201,
    )
    listed = platform.call(
        "appointments",
        "appointments-list_appointments",
        client=platform.client("appointments", patient),
    )
    assert [(item.id, item.starts_at) for item in listed.items] == [(booked.id, starts_at)]


def test_occupancy_staff_register_someone_and_the_room_shows_them(platform: Platform) -> None:
    models = platform.generated.module("occupancy", "models")
    _, staff = platform.account("staff")
    slug = f"hall-{uuid.uuid4().hex[:8]}"
    platform.call(
        "occupancy",
        "occupancy-create_room",
        client=platform.client("occupancy", platform.admin_token),
        body=models.RoomCreate(slug=slug, title="Hall", capacity=10),
        expected=201,
    )
    staff_client = platform.client("occupancy", staff)
    platform.call(
        "occupancy",
        "occupancy-register",
        client=staff_client,
        room=slug,
        body=models.PersonIn(name="Ada"),
    )
    status = platform.call("occupancy", "occupancy-status", client=staff_client, room=slug)
    assert (status.occupants, status.count) == (["Ada"], 1)


def test_matching_a_utility_finds_the_person_a_provider_enrolled(platform: Platform) -> None:
    models = platform.generated.module("matching", "models")
    provider_email, provider_token = platform.account("provider")
    _, utility = platform.account("utility")
    admin = platform.client("matching", platform.admin_token)
    me = platform.call("customers", "auth-me", client=platform.client("customers", provider_token))
    organization = platform.call(
        "matching",
        "organizations-create_organization",
        client=admin,
        body=models.OrganizationCreate(name=f"Shelter {uuid.uuid4().hex[:8]}"),
        expected=201,
    )
    platform.call(
        "matching",
        "organizations-add_member",
        client=admin,
        organization_id=organization.id,
        body=models.MemberCreate(subject=me.customer_id),
        expected=201,
    )
    provider = platform.client("matching", platform.login(provider_email))
    enrollment = {
        "client_id": "P-1",
        "enrollment_id": "E-1",
        "first_name": "Ruth",
        "last_name": "Okonkwo",
        "dob": "1984-07-19",
        "ssn": "287-65-4321",
        "entry_date": "2024-03-01",
    }
    uploaded = platform.call(
        "matching",
        "enrollments-upload_enrollments",
        client=provider,
        body=models.EnrollmentUpload(enrollments=[enrollment]),
    )
    assert uploaded.created == 1
    person = models.PersonQuery(
        first_name="Ruth", last_name="Okonkwo", dob=date(1984, 7, 19), ssn="287-65-4321"
    )
    matched = platform.call(
        "matching",
        "matches-match_people",
        client=platform.client("matching", utility),
        body=models.MatchRequest(people=[person]),
    )
    [result] = matched.results
    assert [match.enrollment_id for match in result.complete_matches] == ["E-1"]
