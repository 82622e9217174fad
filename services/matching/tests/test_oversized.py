"""Bodies past the bulk routes' own limit are refused before anything happens."""

from typing import Any

import pytest

from .conftest import MARIA, MatchingApi, enrollment

BULK_LIMIT = 20_000


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"bulk_body_bytes": BULK_LIMIT}


async def test_a_body_past_the_bulk_limit_is_413_and_changes_nothing(api: MatchingApi) -> None:
    await api.organization("Shelter One", "provider-1")
    upload = await api.client.post(
        "/matching/enrollments",
        json={"enrollments": [enrollment(n) for n in range(200)]},
        headers=api.provider(),
    )
    assert upload.status_code == 413
    assert upload.headers["content-type"] == "application/problem+json"
    matches = await api.client.post(
        "/matching/matches", json={"people": [MARIA] * 300}, headers=api.utility
    )
    assert matches.status_code == 413
    assert await api.count("enrollments") == 0
    assert await api.count("audit_log") == 0
    within = await api.client.post(
        "/matching/matches", json={"people": [MARIA] * 100}, headers=api.utility
    )
    assert within.status_code == 200
