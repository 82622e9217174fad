"""``customers import`` and ``customers create-admin`` against the test database."""

import asyncio
import io
import json
from pathlib import Path

import pytest
from passlib.hash import argon2

from customers.cli import main
from customers.config import Settings

EXPORT = Path(__file__).parent / "data" / "customers_export.json"
ALL_CUSTOMERS = (
    "SELECT customer_id, email, country, language, roles, updated_at"
    " FROM customers.customers ORDER BY customer_id"
)
EXPECTED_REJECTS = {
    3: "email",
    4: "country",
    5: "language",
    6: "vip",
    7: "repeats the customer_id or email of row 1",
    8: "customer_id",
    9: "customer_id",
    11: "value",
    12: "repeats the customer_id or email of row 1",
}


@pytest.fixture(autouse=True)
def cli_environment(monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path) -> None:
    """The CLI reads its settings from the environment, like ``make dev`` does."""
    monkeypatch.setenv("DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("DATA_DIR", str(tmp_path))  # its development signing key goes there
    monkeypatch.setenv("CUSTOMERS_ARGON2_MEMORY_KIB", "8")
    monkeypatch.setenv("CUSTOMERS_ARGON2_TIME_COST", "1")


async def run(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


def report_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if not line.startswith("{")]  # not the JSON logs


async def test_import_reports_rejects_by_row_and_a_second_run_changes_nothing(
    api, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run("import", str(EXPORT)) == 1  # some rows were rejected
    first = report_lines(capsys.readouterr().out)
    assert first[0] == "12 rows: 3 created, 0 updated, 0 unchanged, 9 rejected"
    rejects = {int(line.split(":")[0].removeprefix("row ")): line for line in first[1:]}
    assert set(rejects) == set(EXPECTED_REJECTS)
    for row, reason in EXPECTED_REJECTS.items():
        assert reason in rejects[row], rejects[row]
    stored = await api.execute(ALL_CUSTOMERS)
    assert [tuple(row[:5]) for row in stored] == [
        ("c-001", "alice@example.com", "DE", "de", ["customer"]),
        ("c-002", "bob@example.com", "AT", "en", ["customer"]),
        ("c-010", "heidi@example.com", None, None, ["customer"]),
    ]

    assert await run("import", str(EXPORT)) == 1
    second = report_lines(capsys.readouterr().out)
    assert second[0] == "12 rows: 0 created, 0 updated, 3 unchanged, 9 rejected"
    assert second[1:] == first[1:]
    again = await api.execute(ALL_CUSTOMERS)
    assert again == stored  # not even updated_at moved


async def test_import_updates_changed_rows_and_keeps_roles(api, tmp_path: Path, capsys) -> None:
    rows = [{"customer_id": "c-1", "email": "x@example.com", "country": "DE", "language": "de"}]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(rows))
    assert await run("import", str(export)) == 0
    await api.execute("UPDATE customers.customers SET roles = '{customer,patient}'")
    export.write_text(json.dumps([{**rows[0], "language": "en"}]))
    assert await run("import", str(export)) == 0
    assert (
        report_lines(capsys.readouterr().out)[-1]
        == "1 rows: 0 created, 1 updated, 0 unchanged, 0 rejected"
    )
    assert await api.count("customers", "language = 'en' AND roles = '{customer,patient}'") == 1


async def test_import_refuses_an_email_that_belongs_to_another_customer(
    api, tmp_path: Path, capsys
) -> None:
    owner = await api.signup("taken@example.com")
    export = tmp_path / "export.json"
    export.write_text(json.dumps([{"customer_id": "c-9", "email": "TAKEN@example.com"}]))
    assert await run("import", str(export)) == 1
    output = report_lines(capsys.readouterr().out)
    assert output[1] == f"row 1: email: belongs to customer {owner['customer_id']}"
    assert await api.count("customers") == 1


async def test_import_shows_progress_on_large_files(api, tmp_path: Path, capsys) -> None:
    rows = [
        {"customer_id": f"c-{n}", "email": f"user{n}@example.com", "language": "en"}
        for n in range(1200)
    ]
    export = tmp_path / "large.json"
    export.write_text(json.dumps(rows))
    assert await run("import", str(export)) == 0
    captured = capsys.readouterr()
    assert "1200 rows: 1200 created" in captured.out
    assert [line for line in captured.err.splitlines() if line.startswith("upserted")] == [
        "upserted 500/1200 valid rows",
        "upserted 1000/1200 valid rows",
        "upserted 1200/1200 valid rows",
    ]
    assert await api.count("customers") == 1200


@pytest.mark.parametrize("content", ["{not json", '{"customer_id": "c-1"}'])
async def test_import_refuses_a_file_that_is_not_a_json_list(
    api, tmp_path: Path, content: str
) -> None:
    export = tmp_path / "bad.json"
    export.write_text(content)
    assert await run("import", str(export)) == 2
    assert await run("import", str(tmp_path / "missing.json")) == 2
    assert await api.count("customers") == 0


async def test_create_admin_is_idempotent_and_the_admin_can_log_in(api, capsys) -> None:
    assert await run("create-admin", "--email", "Root@Example.com", "--password", api.password) == 0
    assert await run("create-admin", "--email", "root@example.com", "--password", api.password) == 0
    output = report_lines(capsys.readouterr().out)
    assert output == [
        "root@example.com: created the admin",
        "root@example.com: nothing to do: already an admin with this password",
    ]
    tokens = await api.login("root@example.com")
    listing = await api.client.get("/customers", headers=api.bearer(tokens))
    assert listing.status_code == 200
    assert await api.count("customers") == 1


async def test_create_admin_promotes_an_existing_customer_with_reset_password(api, capsys) -> None:
    await api.signup("promoted@example.com")
    session = await api.login("promoted@example.com")
    assert (
        await run(
            "create-admin",
            "--email",
            "promoted@example.com",
            "--password",
            api.other_password,
            "--reset-password",
        )
        == 0
    )
    assert report_lines(capsys.readouterr().out) == [
        "promoted@example.com: granted the admin role and set the password"
    ]
    assert await api.count("customers", "roles = '{admin,customer}'") == 1
    refused = await api.client.post(
        "/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert refused.status_code == 401
    await api.login("promoted@example.com", api.other_password)


class Terminal(io.StringIO):
    """Standard input as a person at a terminal answering the questions."""

    def isatty(self) -> bool:
        return True


async def test_create_admin_refuses_to_replace_a_password_without_a_terminal_or_flag(
    api, capsys
) -> None:
    await api.signup("kept@example.com")
    session = await api.login("kept@example.com")
    argv = ("create-admin", "--email", "kept@example.com", "--password", api.other_password)
    assert await run(*argv) == 2
    assert "--reset-password" in capsys.readouterr().err
    assert await api.count("customers", "roles = '{customer}'") == 1  # not even promoted
    await api.login("kept@example.com")  # the old password still works
    refreshed = await api.client.post(
        "/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert refreshed.status_code == 200


@pytest.mark.parametrize(("answer", "replaced"), [("y\n", True), ("n\n", False), ("\n", False)])
async def test_create_admin_asks_at_a_terminal_before_replacing_a_password(
    api, monkeypatch: pytest.MonkeyPatch, capsys, answer: str, replaced: bool
) -> None:
    await api.signup("asked@example.com")
    monkeypatch.setattr("sys.stdin", Terminal(answer))
    argv = ("create-admin", "--email", "asked@example.com", "--password", api.other_password)
    assert await run(*argv) == (0 if replaced else 2)
    assert "Replace it" in capsys.readouterr().out
    await api.login("asked@example.com", api.other_password if replaced else api.password)
    assert await api.count("customers", "'admin' = ANY(roles)") == int(replaced)


async def test_create_admin_sets_a_password_where_there_was_none_without_asking(
    api, admin, capsys
) -> None:
    created = await api.client.post(
        "/customers", json={"email": "imported@example.com"}, headers=admin
    )
    assert created.status_code == 201
    argv = ("create-admin", "--email", "imported@example.com", "--password", api.password)
    assert await run(*argv) == 0
    assert report_lines(capsys.readouterr().out) == [
        "imported@example.com: granted the admin role and set the password"
    ]
    await api.login("imported@example.com")


async def test_outbox_lists_the_reset_tokens_newest_first(api, capsys, eventually) -> None:
    assert await run("outbox") == 0
    assert report_lines(capsys.readouterr().out) == ["the outbox is empty"]
    for email in ("first@example.com", "second@example.com"):
        await api.signup(email)
        await api.client.post("/auth/password-reset/request", json={"email": email})
    await eventually(lambda: _outbox_holds(api, 2))
    tokens = await api.execute(
        "SELECT payload->>'token' AS token FROM customers.outbox ORDER BY id"
    )

    assert await run("outbox", "--limit", "5") == 0
    lines = report_lines(capsys.readouterr().out)
    headers = [line for line in lines if line.startswith("#")]
    assert [line.split(" to ")[1] for line in headers] == [
        "second@example.com (pending)",
        "first@example.com (pending)",
    ]
    for row in tokens:
        assert any(row.token in line for line in lines)
    with pytest.raises(SystemExit) as refused:  # argparse's exit: usage on stderr
        await run("outbox", "--limit", "0")
    assert refused.value.code == 2


async def _outbox_holds(api, count: int) -> bool:
    return await api.count("outbox") == count


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("root@example.com", "password1"),
        ("root@example.com", "short"),
        ("root", "violet-harbor-quilt-1987"),
    ],
)
async def test_create_admin_refuses_bad_credentials(api, email: str, password: str) -> None:
    assert await run("create-admin", "--email", email, "--password", password) == 2
    assert await api.count("customers") == 0


async def test_service_client_prints_a_secret_and_its_hash(capsys) -> None:
    assert await run("service-client", "appointments") == 0
    lines = {
        line.split(":", 1)[0]: line.split(":", 1)[1]
        for line in report_lines(capsys.readouterr().out)
    }
    secret = lines["client secret"].split()[0]
    entry = json.loads(lines["CUSTOMERS_SERVICE_CLIENTS entry"])
    assert argon2.verify(secret, entry["appointments"])
    Settings(service_clients=entry)  # accepted as configuration
