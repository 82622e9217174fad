"""deploy/postgres/init.sql on a real PostgreSQL: each service's role uses its own schema only.

Roles belong to the whole server, not to one database, so these tests start a throwaway embedded
server of their own instead of using TEST_DATABASE_URL's.
"""

import os
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from common.embedded import start_embedded_postgres
from common.migrations import upgrade
from gateway.stack import service_ports

ROOT = Path(__file__).resolve().parents[1]
INIT_SQL = ROOT / "deploy/postgres/init.sql"
SERVICES = list(service_ports())
with warnings.catch_warnings():  # platformdirs: XDG_RUNTIME_DIR is not set (harmless)
    warnings.simplefilter("ignore")
    from pgserver._commands import POSTGRES_BIN_PATH  # the psql matching the embedded server

PASSWORDS = {f"{name.upper()}_DB_PASSWORD": f"{name}-test-password" for name in SERVICES}


def url(server: str, user: str = "postgres", database: str = "platform") -> str:
    return make_url(server).set(username=user, database=database).render_as_string(False)


def psql(
    target: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [str(POSTGRES_BIN_PATH / "psql"), target, "-X", "-q", "-v", "ON_ERROR_STOP=1", *args]
    return subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )


def sql(target: str, statement: str) -> subprocess.CompletedProcess[str]:
    return psql(target, "-A", "-t", "-c", statement)


def run_init_sql(server: str, passwords: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return psql(url(server), "-f", str(INIT_SQL), env=passwords)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh server with database ``platform``, init.sql applied twice, a table per schema."""
    handle = start_embedded_postgres(tmp_path_factory.mktemp("roles") / "pg")
    try:
        uri = handle.get_uri()
        assert sql(url(uri, database="postgres"), "CREATE DATABASE platform").returncode == 0
        for _ in range(2):  # running it again changes nothing
            result = run_init_sql(uri, PASSWORDS)
            assert result.returncode == 0, result.stderr
        for name in SERVICES:
            created = sql(url(uri, name), f"CREATE TABLE {name}.probe (id int)")
            assert created.returncode == 0, created.stderr
        yield uri
    finally:
        handle.cleanup()


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_has_a_login_role_with_a_password_that_owns_its_schema(
    server: str, name: str
) -> None:
    role = sql(
        url(server),
        "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolpassword IS NOT NULL "
        f"FROM pg_authid WHERE rolname = '{name}'",
    )
    assert role.stdout.strip() == "t|f|f|f|t"
    owner = sql(url(server), f"SELECT nspowner::regrole FROM pg_namespace WHERE nspname = '{name}'")
    assert owner.stdout.strip() == name


@pytest.mark.parametrize("name", SERVICES)
def test_a_role_reads_and_writes_its_own_schema(server: str, name: str) -> None:
    result = sql(
        url(server, name), f"INSERT INTO {name}.probe VALUES (1); SELECT count(*) FROM {name}.probe"
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_a_role_cannot_touch_another_schema_or_public(server: str, name: str) -> None:
    for other in set(SERVICES) - {name}:
        result = sql(url(server, name), f"SELECT * FROM {other}.probe")
        assert f"permission denied for schema {other}" in result.stderr
    result = sql(url(server, name), "CREATE TABLE public.intruder (id int)")
    assert "permission denied for schema public" in result.stderr


def test_a_role_cannot_create_schemas(server: str) -> None:
    result = sql(url(server, "points"), "CREATE SCHEMA elsewhere")
    assert "permission denied for database platform" in result.stderr


def test_an_unrelated_role_cannot_even_connect(server: str) -> None:
    assert sql(url(server), "CREATE ROLE visitor LOGIN").returncode == 0
    result = sql(url(server, "visitor"), "SELECT 1")
    assert "permission denied for database" in result.stderr


def test_init_sql_stops_when_a_password_is_missing(tmp_path: Path) -> None:
    handle = start_embedded_postgres(tmp_path / "pg")
    try:
        uri = handle.get_uri()
        sql(url(uri, database="postgres"), "CREATE DATABASE platform")
        missing = {key: value for key, value in PASSWORDS.items() if not key.startswith("POINTS")}
        result = run_init_sql(uri, missing)
        assert result.returncode != 0
        assert (
            sql(
                url(uri), "SELECT count(*) FROM pg_roles WHERE rolname = 'customers'"
            ).stdout.strip()
            == "0"
        )
    finally:
        handle.cleanup()


@pytest.mark.parametrize("name", SERVICES)
def test_a_service_migrates_its_schema_with_its_own_role(server: str, name: str) -> None:
    upgrade(ROOT / "services" / name, url(server, name))
    version = sql(url(server, name), f"SELECT version_num FROM {name}.alembic_version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip()
