"""Failed logins are throttled per email and per client address, in PostgreSQL."""

import asyncio
import ipaddress
from typing import Any

import httpx
import pytest

from common.testing.plugin import ServiceUnderTest
from customers.config import Settings

LIMITS = {
    "login_max_failures_per_email": 3,
    "login_max_failures_per_address": 5,
    "login_throttle_window_seconds": 600,
}


@pytest.fixture
def settings_overrides(fast_settings: dict[str, Any]) -> dict[str, Any]:
    return {**fast_settings, **LIMITS}


async def fail(client: httpx.AsyncClient, email: str, **headers: str) -> httpx.Response:
    return await client.post(
        "/auth/login", json={"email": email, "password": "wrong-password"}, headers=headers
    )


async def test_failures_per_email_end_in_429_even_for_the_right_password(api) -> None:
    await api.signup("victim@example.com")
    for _ in range(3):
        assert (await fail(api.client, "victim@example.com")).status_code == 401
    refused = await api.client.post(
        "/auth/login", json={"email": "victim@example.com", "password": api.password}
    )
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 590 <= int(refused.headers["retry-after"]) <= 600


async def test_throttled_attempts_do_not_extend_the_wait(api) -> None:
    for _ in range(3):
        await fail(api.client, "someone@example.com")
    await api.execute(
        "UPDATE customers.login_attempts SET attempted_at = attempted_at - interval '300 seconds'"
    )
    for _ in range(3):
        refused = await fail(api.client, "someone@example.com")
        assert refused.status_code == 429
        assert 290 <= int(refused.headers["retry-after"]) <= 300


async def test_failures_leaving_the_window_let_logins_through_again(api) -> None:
    await api.signup("patient@example.com")
    for _ in range(3):
        await fail(api.client, "patient@example.com")
    await api.execute(
        "UPDATE customers.login_attempts SET attempted_at = attempted_at - interval '601 seconds'"
    )
    await api.login("patient@example.com")


async def test_a_success_forgets_the_email_failures(api) -> None:
    await api.signup("forgetful@example.com")
    for _ in range(2):
        await fail(api.client, "forgetful@example.com")
    await api.login("forgetful@example.com")
    for _ in range(2):
        assert (await fail(api.client, "forgetful@example.com")).status_code == 401
    await api.login("forgetful@example.com")
    assert await api.count("login_attempts") == 0


async def test_failures_per_address_across_many_emails_end_in_429(api) -> None:
    for number in range(5):
        assert (await fail(api.client, f"guess{number}@example.com")).status_code == 401
    refused = await fail(api.client, "guess-next@example.com")
    assert refused.status_code == 429


async def test_x_forwarded_for_is_ignored_from_an_untrusted_peer(api) -> None:
    for number in range(5):
        await fail(
            api.client, f"spoof{number}@example.com", **{"X-Forwarded-For": f"10.0.0.{number}"}
        )
    refused = await fail(api.client, "spoof@example.com", **{"X-Forwarded-For": "10.0.0.99"})
    assert refused.status_code == 429


async def test_x_forwarded_for_names_the_client_behind_a_trusted_proxy(
    service: ServiceUnderTest, settings: Settings
) -> None:
    trusted = settings.model_copy(update={"trusted_proxies": [ipaddress.ip_network("127.0.0.1")]})
    app = service.create_app(trusted)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)  # the socket peer is 127.0.0.1
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for number in range(5):
                await fail(
                    client, f"shared{number}@example.com", **{"X-Forwarded-For": "203.0.113.7"}
                )
            refused = await fail(client, "shared@example.com", **{"X-Forwarded-For": "203.0.113.7"})
            other_client = await fail(
                client, "shared@example.com", **{"X-Forwarded-For": "203.0.113.8"}
            )
    assert refused.status_code == 429
    assert other_client.status_code == 401


async def test_parallel_guesses_cannot_slip_past_the_limit(api) -> None:
    answers = await asyncio.gather(*(fail(api.client, "burst@example.com") for _ in range(10)))
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(401) <= 3
    assert statuses.count(429) >= 7


async def test_the_count_is_shared_by_every_process(
    api, service: ServiceUnderTest, settings: Settings
) -> None:
    """A second app (its own engine and pool, like a second replica) sees the first's failures."""
    for _ in range(3):
        await fail(api.client, "replicas@example.com")
    replica = service.create_app(settings)
    async with replica.router.lifespan_context(replica):
        transport = httpx.ASGITransport(app=replica)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await fail(client, "replicas@example.com")).status_code == 429
