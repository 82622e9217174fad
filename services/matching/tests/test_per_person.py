"""A batch answers per person: missing and unusable fields in questions, per-person errors."""

from itertools import combinations
from typing import Any

import pytest

from .conftest import MARIA, MatchingApi, enrollment

IDENTIFIERS = ("first_name", "last_name", "dob", "ssn")
IMPOSSIBLE_SSNS = ("123-45-0000", "000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567")


@pytest.fixture
async def maria_enrolled(api: MatchingApi) -> None:
    await api.organization("Shelter One", "provider-1")
    await api.upload(
        [
            enrollment(1),
            enrollment(2, first_name="Tom", last_name="Baker", dob="1970-01-01", ssn="234-56-7890"),
        ]
    )


def _found(result: dict[str, Any]) -> list[str]:
    return sorted(
        match["enrollment_id"] for match in result["complete_matches"] + result["partial_matches"]
    )


def _only(*fields: str) -> dict[str, Any]:
    return {name: MARIA[name] for name in fields}


@pytest.mark.usefixtures("maria_enrolled")
async def test_any_one_identifier_may_be_missing(api: MatchingApi) -> None:
    people = [_only(*(name for name in IDENTIFIERS if name != missing)) for missing in IDENTIFIERS]
    results = await api.match(*people)
    for missing, result in zip(IDENTIFIERS, results, strict=True):
        assert result["error"] is None, missing
        assert result["warnings"] == [], missing
        assert "E1" in _found(result), missing


@pytest.mark.usefixtures("maria_enrolled")
async def test_any_two_identifiers_are_asked_about(api: MatchingApi) -> None:
    pairs = list(combinations(IDENTIFIERS, 2))
    results = await api.match(*(_only(*pair) for pair in pairs))
    for pair, result in zip(pairs, results, strict=True):
        assert result["error"] is None, pair
        if pair in (("last_name", "ssn"), ("dob", "ssn")):
            assert "E1" in _found(result), pair


@pytest.mark.usefixtures("maria_enrolled")
async def test_fewer_than_two_identifiers_is_that_persons_error(api: MatchingApi) -> None:
    people: list[dict[str, Any]] = [{}, *(_only(name) for name in IDENTIFIERS), MARIA]
    results = await api.match(*people)
    for person, result in zip(people[:-1], results[:-1], strict=True):
        error = result["error"]
        assert error["title"] == "Not enough identifiers", person
        assert "at least 2 usable identifiers" in error["detail"]
        missing = {item["field"] for item in error["errors"] if item["message"] == "missing"}
        assert missing == set(IDENTIFIERS) - set(person)
        assert result["complete_matches"] == result["partial_matches"] == []
    assert _found(results[-1]) == ["E1"]
    assert results[-1]["error"] is None


@pytest.mark.usefixtures("maria_enrolled")
@pytest.mark.parametrize("ssn", IMPOSSIBLE_SSNS)
async def test_an_impossible_ssn_is_left_out_with_a_warning(api: MatchingApi, ssn: str) -> None:
    response = await api.client.post(
        "/matching/matches", json={"people": [{**MARIA, "ssn": ssn}]}, headers=api.utility
    )
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["error"] is None
    assert [warning["field"] for warning in result["warnings"]] == ["ssn"]
    assert "E1" in _found(result)
    assert ssn not in response.text
    assert ssn.replace("-", "") not in response.text


@pytest.mark.usefixtures("maria_enrolled")
async def test_one_bad_person_does_not_fail_the_batch(api: MatchingApi) -> None:
    people: list[Any] = [
        MARIA,
        {**MARIA, "dob": "07/03/1985"},
        {**MARIA, "dob": "2999-01-01", "ssn": "123-45-67"},
        {"last_name": "García-López", "ssn": "000-00-0000"},
        {**MARIA, "nickname": "Mari"},
        {**MARIA, "123-45-6789": "x"},
        "María García",
        None,
        {**MARIA, "first_name": "\x00"},
        {**MARIA, "last_name": "x" * 101},
        {"first_name": "Tom", "last_name": "Baker", "dob": "1985-03-07"},
    ]
    response = await api.client.post(
        "/matching/matches", json={"people": people}, headers=api.utility
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(people)
    assert "123-45-67" not in response.text
    assert "07/03/1985" not in response.text

    def warned(index: int) -> list[str]:
        return [warning["field"] for warning in results[index]["warnings"]]

    assert _found(results[0]) == ["E1"]
    assert results[0]["warnings"] == []
    assert warned(1) == ["dob"]
    assert "E1" in _found(results[1])
    assert sorted(warned(2)) == ["dob", "ssn"]
    assert results[3]["error"]["title"] == "Not enough identifiers"
    assert {"field": "ssn", "message": "an SSN is never one digit repeated"} in results[3]["error"][
        "errors"
    ]
    assert warned(4) == ["nickname"]
    assert "E1" in _found(results[4])
    assert warned(5) == ["(unknown field)"]
    for index in (6, 7):
        assert results[index]["error"]["errors"] == [
            {"field": "person", "message": "must be a JSON object"}
        ]
    assert warned(8) == ["first_name"]
    assert warned(9) == ["last_name"]
    assert all(results[i]["error"] is None for i in (0, 1, 2, 4, 5, 8, 9, 10))
    entry = (await api.client.get("/matching/audit", headers=api.admin)).json()["items"][0]
    assert entry["people"] == len(people)


@pytest.mark.usefixtures("maria_enrolled")
async def test_the_outcome_report_counts_members_it_cannot_ask_about(api: MatchingApi) -> None:
    closed = {"account_closed_on": "2023-04-01"}
    cohort: list[Any] = [
        {**MARIA, **closed},
        {**MARIA, "account_closed_on": "not a date"},
        {"last_name": "Nobody", **closed},
        {**MARIA, "ssn": "123-45-0000", **closed},
    ]
    response = await api.client.post(
        "/matching/reports/outcomes", json={"cohort": cohort}, headers=api.utility
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["cohort_size"] == 4
    errors = {item["index"]: item["error"] for item in report["person_errors"]}
    assert sorted(errors) == [1, 2]
    assert errors[1]["errors"][0]["field"] == "account_closed_on"
    assert errors[2]["title"] == "Not enough identifiers"
