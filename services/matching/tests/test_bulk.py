"""Bulk requests: 10,000 rows or people in one request, beyond the platform's 1 MiB limit."""

import asyncio
import json
from typing import Any

from matching.generator import Generator

from .conftest import MatchingApi

ONE_MIB = 1024 * 1024


async def test_ten_thousand_enrollments_and_people_in_one_request_each(api: MatchingApi) -> None:
    data = Generator(7).dataset(clients=7000, cohort=13_000, linked_share=0.3)
    rows = data.enrollments[:10_500]
    await api.organization("Shelter One", "provider-1")
    body = json.dumps({"enrollments": rows})
    assert len(body) > ONE_MIB
    response = await api.client.post(
        "/matching/enrollments",
        content=body,
        headers={**api.provider(), "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text[:500]
    assert response.json()["created"] == len(rows)

    people = [
        {key: value for key, value in person.items() if key != "account_closed_on"}
        for person in data.cohort
    ]
    body = json.dumps({"people": people})
    assert len(body) > ONE_MIB
    batch = asyncio.create_task(
        api.client.post(
            "/matching/matches",
            content=body,
            headers={**api.utility, "content-type": "application/json"},
        )
    )
    # While the batch is read, scored and rendered, the event loop keeps answering others
    # (in-process, a request that never waits would not let the batch run: hence the pause).
    answered_meanwhile = 0
    while not batch.done():
        await asyncio.sleep(0.01)
        health = await api.client.get("/matching/healthz")
        assert health.status_code == 200
        answered_meanwhile += not batch.done()
    assert answered_meanwhile >= 5
    response = batch.result()
    assert response.status_code == 200, response.text[:500]
    results: list[dict[str, Any]] = response.json()["results"]
    assert len(results) == len(people)
    matched = sum(bool(r["complete_matches"] or r["partial_matches"]) for r in results)
    assert matched > 0.25 * len(people)


async def test_other_routes_keep_the_one_mib_limit(api: MatchingApi) -> None:
    body = json.dumps({"name": "x" * (ONE_MIB + 10)})
    response = await api.client.post(
        "/matching/organizations",
        content=body,
        headers={**api.admin, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert await api.count("organizations") == 0


async def test_more_people_than_one_request_answers_run_as_a_job(api: MatchingApi) -> None:
    people = [{"last_name": "Smith"}] * 20_001
    response = await api.client.post(
        "/matching/matches", json={"people": people}, headers=api.utility
    )
    assert response.status_code == 202, response.text[:500]
    assert response.headers["location"] == f"/matching/jobs/{response.json()['id']}"
    assert response.json()["total"] == 20_001
    assert await api.count("audit_log") == 0  # written when the job is done
