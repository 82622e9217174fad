"""Row caps and quotas, the same for JSON and CSV; lists too long refused while they are read."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from .conftest import MARIA, MatchingApi, enrollment

MAX_ROWS = 5
MAX_STORED = 8
MAX_PEOPLE = 4
BULK_TIMEOUT_MS = 1000


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "max_enrollments_per_request": MAX_ROWS,
        "max_enrollments_per_organization": MAX_STORED,
        "max_people_per_request": MAX_PEOPLE,
        "max_people_per_job": MAX_PEOPLE,
        "upsert_batch_size": 2,
        "db_bulk_statement_timeout_ms": BULK_TIMEOUT_MS,
    }


@pytest.fixture
async def shelter(api: MatchingApi) -> int:
    return await api.organization("Shelter One", "provider-1")


def _csv(numbers: range) -> bytes:
    lines = ["PersonalID,EnrollmentID,FirstName,LastName,EntryDate"]
    lines += [f"C{n},E{n},Ann,Lee{n},2023-05-01" for n in numbers]
    return ("\r\n".join(lines) + "\r\n").encode()


async def _upload(api: MatchingApi, media: str, numbers: range, subject: str = "provider-1") -> Any:
    if media == "json":
        return await api.client.post(
            "/matching/enrollments",
            json={"enrollments": [enrollment(n, last_name=f"Lee{n}") for n in numbers]},
            headers=api.provider(subject),
        )
    return await api.client.post(
        "/matching/enrollments/csv",
        content=_csv(numbers),
        headers={**api.provider(subject), "content-type": "text/csv"},
    )


@pytest.mark.parametrize("media", ["json", "csv"])
async def test_uploads_have_the_same_row_cap_whatever_their_format(
    api: MatchingApi, shelter: int, media: str
) -> None:
    response = await _upload(api, media, range(1, MAX_ROWS + 2))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert f"at most {MAX_ROWS} enrollments per request" in response.json()["detail"]
    assert await api.count("enrollments") == 0
    within = await _upload(api, media, range(1, MAX_ROWS + 1))
    assert within.status_code == 200, within.text
    assert await api.count("enrollments") == MAX_ROWS


@pytest.mark.parametrize("media", ["json", "csv"])
async def test_an_organization_cannot_store_more_than_its_quota(
    api: MatchingApi, shelter: int, media: str
) -> None:
    assert (await _upload(api, media, range(1, 6))).status_code == 200
    past = await _upload(api, media, range(6, 10))
    assert past.status_code == 409, past.text
    assert past.headers["content-type"] == "application/problem+json"
    assert f"at most {MAX_STORED} enrollments" in past.json()["detail"]
    assert await api.count("enrollments") == 5
    again = await _upload(api, media, range(1, 6))  # the same rows: nothing new is stored
    assert again.status_code == 200
    assert (await _upload(api, media, range(6, 9))).status_code == 200
    assert await api.count("enrollments") == MAX_STORED
    await api.organization("Shelter Two", "provider-2")
    other = await _upload(api, media, range(1, 6), subject="provider-2")
    assert other.status_code == 200, other.text


async def test_concurrent_uploads_cannot_pass_the_quota_together(
    api: MatchingApi, shelter: int
) -> None:
    responses = await asyncio.gather(
        *(_upload(api, "json", range(start, start + 4)) for start in (1, 11, 21))
    )
    assert sorted(response.status_code for response in responses) == [200, 200, 409]
    assert await api.count("enrollments") == MAX_STORED


async def _body_then_garbage(prefix: str, items: list[Any]) -> AsyncIterator[bytes]:
    """A body whose list is too long and which is not JSON after it: refused for the length,
    the garbage never read."""
    yield (prefix + ", ".join(json.dumps(item) for item in items) + ", ").encode()
    yield b"this is not JSON" * 1000


@pytest.mark.parametrize(
    ("path", "prefix", "item"),
    [
        ("/matching/matches", '{"people": [', MARIA),
        ("/matching/reports/outcomes", '{"cohort": [', {**MARIA, "account_closed_on": "2024-01"}),
        ("/matching/return_user_info", '{"ssn": ["123456789"], "last_name": [', "Lee"),
    ],
    ids=["matches", "report", "original"],
)
async def test_a_list_too_long_is_refused_while_it_is_read(
    api: MatchingApi, path: str, prefix: str, item: Any
) -> None:
    response = await api.client.post(
        path,
        content=_body_then_garbage(prefix, [item] * (MAX_PEOPLE + 1)),
        headers={**api.utility, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert f"at most {MAX_PEOPLE}" in response.json()["detail"]
    assert await api.count("audit_log") == 0


async def test_an_upload_too_long_is_refused_while_it_is_read(
    api: MatchingApi, shelter: int
) -> None:
    response = await api.client.post(
        "/matching/enrollments",
        content=_body_then_garbage('{"enrollments": [', [enrollment(n) for n in range(9)]),
        headers={**api.provider(), "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert f"at most {MAX_ROWS} enrollments" in response.json()["detail"]
    assert await api.count("enrollments") == 0


async def test_a_statement_past_its_timeout_is_a_503_and_stores_nothing(
    api: MatchingApi, shelter: int
) -> None:
    """An upload waits for its organization's lock, held here by another transaction, past the
    bulk statement timeout."""
    async with api.engine.connect() as other:
        await other.execute(
            text("SELECT id FROM matching.organizations WHERE id = :id FOR UPDATE"), {"id": shelter}
        )
        response = await _upload(api, "json", range(1, 3))
        await other.rollback()
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert "took too long" in response.json()["detail"]
    assert await api.count("enrollments") == 0
    assert (await _upload(api, "json", range(1, 3))).status_code == 200
