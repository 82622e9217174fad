"""docker-compose.yml and the Dockerfiles, read as files: no Docker engine is needed."""

import importlib
import ipaddress
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from customers.config import Settings
from gateway.stack import service_ports, upstream_variable

ROOT = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
SERVICES = list(service_ports())
SHARED_SETTINGS = {
    "ENV",
    "LOG_LEVEL",
    "AUTH_JWKS_URL",
    "AUTH_ISSUER",
    "MAX_BODY_BYTES",
    "WEB_CONCURRENCY",
}


def with_defaults(value: str) -> str:
    """A compose value as `make up` sees it with nothing set: ``${VAR:-default}`` -> default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", "", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def arguments(dockerfile: Path, instruction: str) -> list[str]:
    return [args for name, args in instructions(dockerfile) if name == instruction]


def test_compose_runs_the_platform_and_nothing_else() -> None:
    migrations = {f"{name}-migrate" for name in SERVICES}
    expected = {"postgres", "minio", "create-bucket", "gateway", *SERVICES, *migrations}
    always = {name for name, service in COMPOSE.items() if "profiles" not in service}
    assert always == expected


def test_jaeger_runs_only_under_the_tracing_profile_and_receives_the_services_traces() -> None:
    assert COMPOSE["jaeger"]["profiles"] == ["tracing"]
    assert COMPOSE["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    for name in SERVICES:
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" in COMPOSE[name]["environment"]


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_is_built_from_its_dockerfile_at_the_root(name: str) -> None:
    for service in (COMPOSE[name], COMPOSE[f"{name}-migrate"]):
        assert service["build"] == {"context": ".", "dockerfile": f"services/{name}/Dockerfile"}
        assert service["image"] == f"platform/{name}"
    assert (ROOT / "services" / name / "Dockerfile").is_file()


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_starts_after_its_migration_succeeded(name: str) -> None:
    migration = COMPOSE[f"{name}-migrate"]
    assert migration["command"] == [name, "migrate"]
    assert migration["restart"] == "no"
    assert migration["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    depends_on = COMPOSE[name]["depends_on"]
    assert depends_on[f"{name}-migrate"] == {"condition": "service_completed_successfully"}
    assert migration["environment"] == COMPOSE[name]["environment"]


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_connects_with_its_own_role(name: str) -> None:
    url = urlsplit(with_defaults(COMPOSE[name]["environment"]["DATABASE_URL"]))
    postgres = COMPOSE["postgres"]["environment"]
    assert (url.scheme, url.hostname, url.port) == ("postgresql", "postgres", 5432)
    assert url.username == name
    assert url.password == with_defaults(postgres[f"{name.upper()}_DB_PASSWORD"])
    assert url.path == f"/{postgres['POSTGRES_DB']}"


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_gets_the_shared_settings(name: str) -> None:
    environment = COMPOSE[name]["environment"]
    assert environment.keys() >= SHARED_SETTINGS
    assert environment["AUTH_JWKS_URL"] == "http://customers:8000/auth/jwks.json"
    assert with_defaults(environment["MAX_BODY_BYTES"]) == with_defaults(
        COMPOSE["gateway"]["environment"]["MAX_BODY_BYTES"]
    )


def test_every_development_secret_says_so() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    defaults = re.findall(r"\$\{\w*(?:PASSWORD|USER)\w*:-([^}]*)\}", text)
    assert defaults
    assert all("dev-only" in default for default in defaults)


def test_postgres_runs_init_sql_with_a_password_for_every_role() -> None:
    postgres = COMPOSE["postgres"]
    assert (
        "./deploy/postgres/init.sql:/docker-entrypoint-initdb.d/init.sql:ro" in postgres["volumes"]
    )
    needed = re.findall(r"\\getenv \w+ (\w+)", (ROOT / "deploy/postgres/init.sql").read_text())
    assert set(needed) == {f"{name.upper()}_DB_PASSWORD" for name in SERVICES}
    assert postgres["environment"].keys() >= set(needed)


@pytest.mark.parametrize("name", ["postgres", "minio"])
def test_the_database_and_the_object_store_report_their_health(name: str) -> None:
    assert COMPOSE[name]["healthcheck"]["test"][0] == "CMD"


def test_occupancy_gets_its_bucket_in_minio_before_it_starts() -> None:
    occupancy, bucket = COMPOSE["occupancy"], COMPOSE["create-bucket"]
    assert occupancy["depends_on"]["create-bucket"] == {
        "condition": "service_completed_successfully"
    }
    assert bucket["depends_on"] == {"minio": {"condition": "service_healthy"}}
    environment = occupancy["environment"]
    assert with_defaults(environment["OCCUPANCY_S3_BUCKET"]) == with_defaults(
        bucket["environment"]["BUCKET"]
    )
    assert 'mb --ignore-existing "local/$$BUCKET"' in bucket["command"][0]
    assert environment["OCCUPANCY_S3_ENDPOINT_URL"] == "http://minio:9000"
    minio = COMPOSE["minio"]["environment"]
    assert environment["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert environment["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]


def test_the_gateway_is_on_port_8000_once_every_service_is_healthy() -> None:
    gateway = COMPOSE["gateway"]
    listen = dict(
        line.split("=", 1)
        for args in arguments(ROOT / "gateway/Dockerfile", "ENV")
        for line in args.split()
    )["GATEWAY_LISTEN"]
    assert gateway["ports"] == [f"8000:{listen}"]
    assert gateway["depends_on"] == {name: {"condition": "service_healthy"} for name in SERVICES}
    for name in SERVICES:
        assert gateway["environment"][upstream_variable(name)] == f"{name}:8000"


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_image_runs_its_app_as_a_user_on_port_8000(name: str) -> None:
    dockerfile = ROOT / "services" / name / "Dockerfile"
    assert set(arguments(dockerfile, "FROM")) <= {"python:3.11-slim", "python:3.11-slim AS build"}
    assert any("pip install" in args and "uv==" in args for args in arguments(dockerfile, "RUN"))
    assert any(
        f"uv sync --locked --no-dev --package {name}" in args
        for args in arguments(dockerfile, "RUN")
    )
    assert arguments(dockerfile, "USER") == ["10001:10001"]
    assert arguments(dockerfile, "EXPOSE") == ["8000"]
    command = json.loads(arguments(dockerfile, "CMD")[-1])
    assert command == [
        "python",
        "-m",
        "common.serve",
        name,
        "--host",
        "0.0.0.0",  # noqa: S104 (inside the container)
        "--port",
        "8000",
    ]
    assert callable(importlib.import_module(f"{name}.main").create_app)


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_image_checks_its_own_health(name: str) -> None:
    (healthcheck,) = arguments(ROOT / "services" / name / "Dockerfile", "HEALTHCHECK")
    assert f"http://127.0.0.1:8000/{name}/healthz" in healthcheck
    assert "healthcheck" not in COMPOSE[name]  # compose keeps the image's


def test_the_five_service_dockerfiles_differ_only_in_the_name() -> None:
    shapes = {
        (ROOT / "services" / name / "Dockerfile").read_text().replace(name, "<service>")
        for name in SERVICES
    }
    assert len(shapes) == 1


def dockerignored() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


@pytest.mark.parametrize(
    "dockerfile", [*(f"services/{name}/Dockerfile" for name in SERVICES), "gateway/Dockerfile"]
)
def test_everything_an_image_copies_is_in_the_build_context(dockerfile: str) -> None:
    copies = [args for args in arguments(ROOT / dockerfile, "COPY") if "--from" not in args]
    sources = [source for args in copies for source in args.split()[:-1]]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source.split("/")[0] not in dockerignored(), source


def test_local_state_stays_out_of_the_build_context() -> None:
    assert {".git", "**/.venv", ".data", "**/__pycache__"} <= set(dockerignored())


def test_the_gateway_image_renders_the_template_as_an_unprivileged_nginx() -> None:
    dockerfile = ROOT / "gateway/Dockerfile"
    assert arguments(dockerfile, "FROM") == ["nginx:1.27-alpine"]
    copies = arguments(dockerfile, "COPY")
    assert "gateway/nginx.conf.template /etc/nginx/templates/default.conf.template" in copies
    assert "gateway/index.html /usr/share/nginx/html/index.html" in copies
    assert arguments(dockerfile, "USER") == ["101:101"]
    assert arguments(dockerfile, "EXPOSE") == ["8080"]
    (healthcheck,) = arguments(dockerfile, "HEALTHCHECK")
    assert "http://127.0.0.1:8080/" in healthcheck


def test_customers_believes_the_gateway_on_the_compose_network() -> None:
    """Else every login through nginx would count against one address: the gateway's."""
    environment = {
        key: with_defaults(str(value)) for key, value in COMPOSE["customers"]["environment"].items()
    }
    settings = Settings.model_validate(
        {"trusted_proxies": environment["CUSTOMERS_TRUSTED_PROXIES"]}
    )
    nginx_container = ipaddress.ip_address("172.18.0.5")
    assert any(nginx_container in network for network in settings.trusted_proxies)
