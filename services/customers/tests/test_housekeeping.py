"""Expired login attempts and tokens are dropped while the service runs."""

from typing import Any

import pytest

PURGEABLE = {
    "login_attempts": "attempted_at < now() - interval '900 seconds'",
    "refresh_tokens": "expires_at < now()",
    "password_reset_tokens": "expires_at < now()",
}


@pytest.fixture
def settings_overrides(fast_settings: dict[str, Any]) -> dict[str, Any]:
    return {**fast_settings, "housekeeping_interval_seconds": 0.05}


async def test_the_background_task_drops_only_what_expired(api, eventually) -> None:
    await api.signup("old@example.com")
    await api.login("old@example.com")
    await api.request_reset("old@example.com")
    await api.client.post("/auth/login", json={"email": "old@example.com", "password": "wrong-one"})
    await api.execute(
        "UPDATE customers.login_attempts SET attempted_at = now() - interval '1 hour'"
    )
    for table in ("refresh_tokens", "password_reset_tokens"):
        await api.execute(f"UPDATE customers.{table} SET expires_at = now() - interval '1 second'")
    await api.login("old@example.com")  # fresh rows that must stay
    await api.client.post("/auth/login", json={"email": "old@example.com", "password": "wrong-two"})

    async def purged() -> bool:
        return all([await api.count(table, expired) == 0 for table, expired in PURGEABLE.items()])

    await eventually(purged)
    assert await api.count("refresh_tokens") == 1
    assert await api.count("login_attempts") == 1
