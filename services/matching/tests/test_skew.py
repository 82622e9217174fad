"""The candidate search stays bounded when most of the table shares one person's keys: 500,000
enrollments with one name, date of birth and SSN (issue 15's upload had 772,078 of one name and
date of birth; PostgreSQL then scanned the whole table for every question)."""

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from matching.matches.repository import MAX_CANDIDATES_PER_KEY

from .conftest import MARIA, Capturing, MatchingApi, enrollment

SKEWED = 500_000
TWIN = {**MARIA, "ssn": "987-65-4321"}
"""Maria's name and date of birth with another SSN: the identity of every skewed row."""
BLOCKING_INDEXES = {
    "ix_enrollments_names",
    "ix_enrollments_dob_ssn4",
    "ix_enrollments_dob_last",
    "ix_enrollments_dob_first",
    "ix_enrollments_ssn4_last",
    "ix_enrollments_ssn4_first",
}


@pytest.fixture(scope="module")
def database_url(module_database_url: str) -> str:
    """A database of this module's own: the skewed rows' statistics must not steer the plans of
    the session's other tests."""
    return module_database_url


@pytest.fixture(scope="module")
async def admin_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    yield engine
    await engine.dispose()


@pytest.fixture
async def skewed(api: MatchingApi) -> None:
    """Maria (E1, a stay older than any other) and her twin (E2) uploaded, then SKEWED copies
    of the twin with entry dates over ten years, and the table analyzed."""
    await api.organization("Shelter One", "provider-1")
    await api.upload([enrollment(1, entry_date="2010-01-04"), enrollment(2, **TWIN)])
    await api.execute(
        """
        INSERT INTO matching.enrollments (organization_id, client_id, enrollment_id, first_name,
            last_name, first_key, last_key, first_code, last_code, dob, ssn_hash, ssn_last4_hash,
            ssn_masked_hashes, entry_date)
        SELECT t.organization_id, 'S' || n, 'S' || n, t.first_name, t.last_name, t.first_key,
            t.last_key, t.first_code, t.last_code, t.dob, t.ssn_hash, t.ssn_last4_hash,
            t.ssn_masked_hashes, t.entry_date - n % 3650
        FROM matching.enrollments t, generate_series(1, :rows) AS n
        WHERE t.enrollment_id = 'E2'
        """,
        rows=SKEWED,
    )
    await api.execute("ANALYZE matching.enrollments")


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.usefixtures("skewed")
async def test_a_key_shared_by_most_rows_is_read_by_its_index_and_capped(
    api: MatchingApi, app: FastAPI, sent: Capturing
) -> None:
    assert await api.count("enrollments") == SKEWED + 2
    with sent() as statements:
        maria, twin = await api.match(MARIA, TWIN)
    # Maria's name and date of birth are the skewed rows' keys, each capped at its most recent
    # stays; her oldest stay is found by her date of birth and last four, which no skewed row has.
    assert [match["enrollment_id"] for match in maria["complete_matches"]] == ["E1"]
    assert twin["complete_matches"]

    [search] = [statement for statement in statements if "CROSS JOIN LATERAL" in statement.query]
    pool = await app.state.db.driver.pool()
    async with pool.acquire() as connection:
        explained = await connection.fetchval(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {search.query}", *search.args
        )
        nodes = list(_nodes(explained[0]["Plan"]))
        found = await connection.fetch(search.query, *search.args)
        per_question = Counter(row["number"] for row in found)

    forms = 4  # two questions, each in both name orders
    bound = forms * 7 * MAX_CANDIDATES_PER_KEY
    scans = [node for node in nodes if node.get("Relation Name") == "enrollments"]
    read = [(node["Node Type"], node.get("Index Name"), node.get("Filter")) for node in scans]
    assert {node["Node Type"] for node in scans} <= {"Index Scan", "Index Only Scan"}, read
    assert not [node for node in scans if "Filter" in node], read  # every key in its index
    assert {node["Index Name"] for node in scans} == {*BLOCKING_INDEXES, "enrollments_pkey"}
    assert len(scans) == 8  # seven branches (names serves two) and the rows read by id
    assert all(node["Actual Rows"] <= MAX_CANDIDATES_PER_KEY for node in scans)
    # Nothing reads, sorts or hashes the table: no node handles more rows than the bound.
    assert max(node["Actual Rows"] * node["Actual Loops"] for node in nodes) <= bound
    assert set(per_question) == {0, 1}
    # Each question reached the cap (its keys are the skewed ones) and no more than its keys'.
    assert all(
        MAX_CANDIDATES_PER_KEY <= count <= 7 * MAX_CANDIDATES_PER_KEY
        for count in per_question.values()
    ), per_question
