"""Password reset through the outbox, and password change; tokens never reach a response."""

import asyncio
import json
import logging

import httpx
import pytest

from common.logging import JsonFormatter


async def confirm(api, token: str, password: str):
    return await api.client.post(
        "/auth/password-reset/confirm", json={"token": token, "new_password": password}
    )


async def test_reset_sets_a_new_password_and_ends_every_session(api) -> None:
    await api.signup("reset@example.com")
    session = await api.login("reset@example.com")
    token = await api.reset_token_for("Reset@Example.com")

    assert (await confirm(api, token, api.other_password)).status_code == 204

    old = await api.client.post(
        "/auth/login", json={"email": "reset@example.com", "password": api.password}
    )
    assert old.status_code == 401
    await api.login("reset@example.com", api.other_password)
    revoked = await api.client.post(
        "/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert revoked.status_code == 401


async def test_a_reset_token_works_once(api) -> None:
    await api.signup("once@example.com")
    token = await api.reset_token_for("once@example.com")
    assert (await confirm(api, token, api.other_password)).status_code == 204
    reused = await confirm(api, token, "yet-another-quiet-meadow-77")
    assert reused.status_code == 400
    assert reused.headers["content-type"] == "application/problem+json"
    await api.login("once@example.com", api.other_password)


async def test_an_expired_reset_token_is_refused(api) -> None:
    await api.signup("late@example.com")
    token = await api.reset_token_for("late@example.com")
    await api.execute(
        "UPDATE customers.password_reset_tokens SET expires_at = now() - interval '1 second'"
    )
    assert (await confirm(api, token, api.other_password)).status_code == 400
    await api.login("late@example.com")


async def test_reset_tokens_expire_after_30_minutes_and_are_stored_hashed(api) -> None:
    await api.signup("ttl@example.com")
    token = await api.reset_token_for("ttl@example.com")
    rows = await api.execute(
        "SELECT token_hash, extract(epoch FROM expires_at - created_at) AS ttl"
        " FROM customers.password_reset_tokens"
    )
    assert [row.ttl for row in rows] == [1800]
    assert rows[0].token_hash != token


async def test_a_weak_new_password_is_refused_and_keeps_the_token_usable(api) -> None:
    await api.signup("weak@example.com")
    token = await api.reset_token_for("weak@example.com")
    weak = await confirm(api, token, "password1")
    assert weak.status_code == 422
    assert (await confirm(api, token, api.other_password)).status_code == 204


async def test_known_and_unknown_emails_get_the_same_answer_and_only_one_a_message(
    api, eventually
) -> None:
    """The answer comes before the lookup, so it cannot differ: not in content, not in time."""
    await api.signup("known@example.com")
    known, unknown = [
        await api.client.post("/auth/password-reset/request", json={"email": email})
        for email in ("known@example.com", "nobody@example.com")
    ]
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
    assert known.status_code == 202
    assert known.headers.keys() - {"x-request-id"} == unknown.headers.keys() - {"x-request-id"}

    async def sent() -> bool:
        return await api.count("outbox", "recipient = 'known@example.com'") == 1

    await eventually(sent)  # without waiting on the worker: the message comes by itself
    await api.app.state.password_resets.handled()
    assert await api.count("outbox") == 1
    assert await api.count("password_reset_tokens") == 1


async def test_a_burst_of_requests_is_answered_and_handled(api) -> None:
    await api.signup("burst@example.com")
    emails = [f"unknown{n}@example.com" for n in range(30)] + ["burst@example.com"]
    responses = await asyncio.gather(
        *(
            api.client.post("/auth/password-reset/request", json={"email": email})
            for email in emails
        )
    )
    assert {response.status_code for response in responses} == {202}
    await api.app.state.password_resets.handled()
    assert await api.count("outbox") == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"email": ""}, {"email": "not-an-email"}, {"email": "a@example.com", "extra": 1}],
    ids=["empty", "empty email", "malformed", "unknown field"],
)
async def test_a_bad_reset_request_is_422_and_queues_nothing(api, body) -> None:
    await api.signup("a@example.com")
    response = await api.client.post("/auth/password-reset/request", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    await api.app.state.password_resets.handled()
    assert await api.count("outbox") == 0


async def test_requests_in_quick_succession_send_one_message(api) -> None:
    await api.signup("spam@example.com")
    for _ in range(3):
        await api.request_reset("spam@example.com")
    assert await api.count("outbox") == 1
    assert await api.count("password_reset_tokens") == 1


async def test_a_new_request_replaces_an_unused_token(api) -> None:
    await api.signup("again@example.com")
    first = await api.reset_token_for("again@example.com")
    await api.execute(
        "UPDATE customers.password_reset_tokens SET created_at = now() - interval '2 minutes'"
    )
    second = await api.reset_token_for("again@example.com")
    assert (await confirm(api, first, api.other_password)).status_code == 400
    assert (await confirm(api, second, api.other_password)).status_code == 204


async def test_an_imported_customer_without_password_gets_one_by_reset(api, admin) -> None:
    created = await api.client.post(
        "/customers", json={"email": "imported@example.com"}, headers=admin
    )
    assert created.status_code == 201
    token = await api.reset_token_for("imported@example.com")
    assert (await confirm(api, token, api.other_password)).status_code == 204
    await api.login("imported@example.com", api.other_password)


async def test_the_log_masks_the_token_outside_development(
    api, caplog: pytest.LogCaptureFixture
) -> None:
    await api.signup("logged@example.com")
    with caplog.at_level(logging.DEBUG, logger="customers.auth.notifier"):
        token = await api.reset_token_for("logged@example.com")
    [record] = [r for r in caplog.records if r.name == "customers.auth.notifier"]
    line = JsonFormatter("customers").format(record)  # what the service prints
    assert token not in line
    assert json.loads(line)["token"] == token[:4] + "*" * (len(token) - 4)
    assert "logged@example.com" not in line


async def test_development_logs_the_whole_token(
    api, service, settings, caplog: pytest.LogCaptureFixture
) -> None:
    await api.signup("dev@example.com")
    app = service.create_app(settings.model_copy(update={"env": "development"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            with caplog.at_level(logging.INFO, logger="customers.auth.notifier"):
                await client.post("/auth/password-reset/request", json={"email": "dev@example.com"})
                await app.state.password_resets.handled()
    [row] = await api.execute("SELECT payload->>'token' AS token FROM customers.outbox")
    [record] = [r for r in caplog.records if r.name == "customers.auth.notifier"]
    assert record.token == row.token
    assert record.levelno == logging.INFO  # shown by the dev server at its default level


async def test_password_change_needs_the_current_password_and_ends_sessions(api) -> None:
    await api.signup("change@example.com")
    session = await api.login("change@example.com")
    headers = api.bearer(session)

    wrong = await api.client.post(
        "/auth/password/change",
        json={"current_password": "not-it", "new_password": api.other_password},
        headers=headers,
    )
    assert wrong.status_code == 403
    weak = await api.client.post(
        "/auth/password/change",
        json={"current_password": api.password, "new_password": "12345678"},
        headers=headers,
    )
    assert weak.status_code == 422
    changed = await api.client.post(
        "/auth/password/change",
        json={"current_password": api.password, "new_password": api.other_password},
        headers=headers,
    )
    assert changed.status_code == 204
    await api.login("change@example.com", api.other_password)
    revoked = await api.client.post(
        "/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert revoked.status_code == 401


async def test_password_change_needs_a_token(api) -> None:
    response = await api.client.post(
        "/auth/password/change",
        json={"current_password": api.password, "new_password": api.other_password},
    )
    assert response.status_code == 401
