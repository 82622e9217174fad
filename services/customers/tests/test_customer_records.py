"""The customer endpoints and who may do what with them."""

from typing import Any

import pytest
from passlib.hash import argon2


@pytest.fixture
def settings_overrides(fast_settings: dict[str, Any]) -> dict[str, Any]:
    secret_hash = argon2.using(type="ID", memory_cost=8, rounds=1, parallelism=1).hash("secret")
    return {**fast_settings, "service_clients": {"appointments": secret_hash}}


@pytest.fixture
def service_caller(token_factory) -> dict[str, str]:
    return token_factory.auth("client:appointments", ["service"])


async def test_a_customer_reads_changes_and_deletes_their_own_record(api) -> None:
    me = await api.customer_with_tokens("self@example.com")
    read = await api.client.get("/customers/Self@Example.com", headers=me)
    assert read.status_code == 200
    assert read.json()["email"] == "self@example.com"

    changed = await api.client.patch(
        "/customers/self@example.com", json={"country": "at", "language": "de"}, headers=me
    )
    assert changed.status_code == 200
    assert (changed.json()["country"], changed.json()["language"]) == ("AT", "de")
    assert changed.json()["updated_at"] > read.json()["updated_at"]

    cleared = await api.client.patch(
        "/customers/self@example.com", json={"country": None}, headers=me
    )
    assert (cleared.json()["country"], cleared.json()["language"]) == (None, "de")

    assert (await api.client.delete("/customers/self@example.com", headers=me)).status_code == 204
    assert await api.count("customers") == 0


async def test_deleting_a_customer_removes_credentials_and_tokens(api, admin) -> None:
    await api.signup("gone@example.com")
    tokens = await api.login("gone@example.com")
    await api.request_reset("gone@example.com")
    assert await api.count("outbox") == 1
    assert (
        await api.client.delete("/customers/gone@example.com", headers=admin)
    ).status_code == 204
    assert await api.count("customers", "email = 'gone@example.com'") == 0
    for table in ("credentials", "refresh_tokens", "password_reset_tokens", "outbox"):
        assert await api.count(table) == 0, table
    refused = await api.client.post(
        "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refused.status_code == 401
    login = await api.client.post(
        "/auth/login", json={"email": "gone@example.com", "password": api.password}
    )
    assert login.status_code == 401


async def test_a_customer_cannot_see_or_touch_another_one(api) -> None:
    await api.signup("other@example.com")
    me = await api.customer_with_tokens("nosy@example.com")
    missing = await api.client.get("/customers/missing@example.com", headers=me)
    attempts = [
        await api.client.get("/customers/other@example.com", headers=me),
        await api.client.patch("/customers/other@example.com", json={"language": "de"}, headers=me),
        await api.client.delete("/customers/other@example.com", headers=me),
    ]
    for response in attempts:
        assert response.status_code == 404
        assert response.json()["detail"] == missing.json()["detail"]  # cannot tell them apart
    assert await api.count("customers", "email = 'other@example.com' AND language IS NULL") == 1


async def test_a_customer_cannot_list_create_or_grant_roles(api) -> None:
    me = await api.customer_with_tokens("plain@example.com")
    assert (await api.client.get("/customers", headers=me)).status_code == 403
    create = await api.client.post("/customers", json={"email": "x@example.com"}, headers=me)
    assert create.status_code == 403
    grant = await api.client.put(
        "/customers/plain@example.com/roles", json={"roles": ["admin"]}, headers=me
    )
    assert grant.status_code == 403
    assert await api.count("customers", "roles = '{customer}'") == 1


async def test_an_admin_grants_roles_and_the_next_refresh_carries_them(api, admin) -> None:
    await api.signup("doc@example.com")
    tokens = await api.login("doc@example.com")
    granted = await api.client.put(
        "/customers/doc@example.com/roles",
        json={"roles": ["doctor", "customer", "doctor"]},
        headers=admin,
    )
    assert granted.status_code == 200
    assert granted.json()["roles"] == ["customer", "doctor"]
    refreshed = (
        await api.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).json()
    me = await api.client.get("/auth/me", headers=api.bearer(refreshed))
    assert me.json()["roles"] == ["customer", "doctor"]


@pytest.mark.parametrize("roles", [["service"], ["superuser"], [], "admin"])
async def test_roles_outside_the_assignable_set_are_refused(api, admin, roles) -> None:
    await api.signup("roles@example.com")
    response = await api.client.put(
        "/customers/roles@example.com/roles", json={"roles": roles}, headers=admin
    )
    assert response.status_code == 422
    assert await api.count("customers", "roles = '{customer}'") == 1


async def test_an_admin_creates_lists_and_filters(api, admin) -> None:
    for email, country, language in [
        ("anna@example.com", "DE", "de"),
        ("ben@example.com", "AT", "de"),
        ("anton@example.com", "GB", "en"),
        ("a_b@example.com", "DE", "en"),
    ]:
        created = await api.client.post(
            "/customers",
            json={"email": email, "country": country, "language": language},
            headers=admin,
        )
        assert created.status_code == 201
    page = await api.client.get("/customers", params={"limit": 2}, headers=admin)
    assert page.status_code == 200
    body = page.json()
    assert (body["total"], body["limit"], body["offset"]) == (5, 2, 0)  # the admin too
    assert [item["email"] for item in body["items"]] == ["a_b@example.com", "anna@example.com"]
    second = (
        await api.client.get("/customers", params={"limit": 2, "offset": 2}, headers=admin)
    ).json()
    assert [item["email"] for item in second["items"]] == ["anton@example.com", "ben@example.com"]

    async def emails(**params: str) -> list[str]:
        response = await api.client.get("/customers", params=params, headers=admin)
        assert response.status_code == 200, response.text
        return [item["email"] for item in response.json()["items"]]

    assert await emails(country="de") == ["a_b@example.com", "anna@example.com"]
    assert await emails(language="de") == ["anna@example.com", "ben@example.com"]
    assert await emails(email_prefix="AN") == ["anna@example.com", "anton@example.com"]
    assert await emails(email_prefix="a_") == ["a_b@example.com"]  # _ is no wildcard
    assert await emails(country="DE", language="en") == ["a_b@example.com"]


@pytest.mark.parametrize(
    "params",
    [{"country": "XX"}, {"limit": "0"}, {"limit": "1000"}, {"offset": "-1"}, {"sort": "email"}],
)
async def test_bad_list_queries_are_422(api, admin, params) -> None:
    response = await api.client.get("/customers", params=params, headers=admin)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_creating_a_taken_email_or_id_is_409(api, admin) -> None:
    first = await api.client.post(
        "/customers", json={"email": "one@example.com", "customer_id": "c-1"}, headers=admin
    )
    assert first.status_code == 201
    assert first.json()["customer_id"] == "c-1"
    same_email = await api.client.post(
        "/customers", json={"email": "ONE@example.com"}, headers=admin
    )
    same_id = await api.client.post(
        "/customers", json={"email": "two@example.com", "customer_id": "c-1"}, headers=admin
    )
    assert same_email.status_code == same_id.status_code == 409
    assert await api.count("customers", "email <> 'zz-admin@example.com'") == 1


@pytest.mark.parametrize(
    "body",
    [
        {"language": "fr"},
        {"language": "xx"},
        {"country": "Germany"},
        {"email": "new@example.com"},
        {"roles": ["admin"]},
    ],
)
async def test_bad_changes_are_422_and_change_nothing(api, body) -> None:
    me = await api.customer_with_tokens("stable@example.com")
    response = await api.client.patch("/customers/stable@example.com", json=body, headers=me)
    assert response.status_code == 422
    assert (
        await api.count(
            "customers", "language IS NULL AND country IS NULL AND roles = '{customer}'"
        )
        == 1
    )


async def test_an_admin_reads_and_changes_anyone(api, admin) -> None:
    await api.signup("managed@example.com")
    assert (
        await api.client.get("/customers/managed@example.com", headers=admin)
    ).status_code == 200
    changed = await api.client.patch(
        "/customers/managed@example.com", json={"language": "en"}, headers=admin
    )
    assert changed.json()["language"] == "en"


async def test_a_service_reads_any_customer_but_changes_none(api, service_caller) -> None:
    await api.signup("patient@example.com")
    read = await api.client.get("/customers/patient@example.com", headers=service_caller)
    assert read.status_code == 200
    change = await api.client.patch(
        "/customers/patient@example.com", json={"language": "en"}, headers=service_caller
    )
    assert change.status_code == 404
    assert (await api.client.get("/customers", headers=service_caller)).status_code == 403


async def test_every_customer_endpoint_needs_a_token(api) -> None:
    await api.signup("anon@example.com")
    for method, path in [
        ("GET", "/customers"),
        ("POST", "/customers"),
        ("GET", "/customers/anon@example.com"),
        ("PATCH", "/customers/anon@example.com"),
        ("DELETE", "/customers/anon@example.com"),
        ("PUT", "/customers/anon@example.com/roles"),
    ]:
        response = await api.client.request(method, path, json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"] == "application/problem+json"


async def test_a_demoted_admins_token_stops_working_at_once(api, admin) -> None:
    await api.signup("watched@example.com")
    assert (await api.client.get("/customers", headers=admin)).status_code == 200
    await api.execute("UPDATE customers.customers SET roles = '{customer}'")

    listing = await api.client.get("/customers", headers=admin)  # the token still says admin
    assert listing.status_code == 403
    assert listing.headers["content-type"] == "application/problem+json"
    grant = await api.client.put(
        "/customers/watched@example.com/roles", json={"roles": ["admin"]}, headers=admin
    )
    assert grant.status_code == 403
    other = await api.client.get("/customers/watched@example.com", headers=admin)
    assert other.status_code == 404  # no longer an admin's to see
    assert await api.count("customers", "roles = '{customer}'") == 2


async def test_a_deleted_admins_token_stops_working_at_once(api, admin) -> None:
    await api.signup("survivor@example.com")
    gone = await api.client.delete("/customers/zz-admin@example.com", headers=admin)
    assert gone.status_code == 204
    for method, path in [
        ("GET", "/customers"),
        ("POST", "/customers"),
        ("PUT", "/customers/survivor@example.com/roles"),
    ]:
        response = await api.client.request(method, path, json={"roles": ["admin"]}, headers=admin)
        assert response.status_code == 403, (method, path)
    deleted = await api.client.delete("/customers/survivor@example.com", headers=admin)
    assert deleted.status_code == 404
    assert await api.count("customers", "roles = '{customer}'") == 1


async def test_a_promoted_customer_is_an_admin_before_the_token_says_so(api) -> None:
    me = await api.customer_with_tokens("rising@example.com")
    assert (await api.client.get("/customers", headers=me)).status_code == 403
    await api.execute("UPDATE customers.customers SET roles = '{admin,customer}'")
    assert (await api.client.get("/customers", headers=me)).status_code == 200


async def test_a_service_client_no_longer_configured_loses_its_access(api, token_factory) -> None:
    await api.signup("patient@example.com")
    retired = token_factory.auth("client:billing", ["service"])
    read = await api.client.get("/customers/patient@example.com", headers=retired)
    assert read.status_code == 404
