"""Uploads with missing and unusable identifiers: stored without them, warned, never refused."""

import logging
from itertools import combinations
from typing import Any

import pytest

from .conftest import MARIA, MatchingApi, enrollment

IDENTIFIERS = ("first_name", "last_name", "dob", "ssn")
CSV_COLUMNS = {"first_name": "FirstName", "last_name": "LastName", "dob": "DOB", "ssn": "SSN"}


@pytest.fixture
async def shelter(api: MatchingApi) -> int:
    return await api.organization("Shelter One", "provider-1")


def _keeping(number: int, kept: tuple[str, ...]) -> dict[str, Any]:
    row = enrollment(number)
    for name in IDENTIFIERS:
        if name not in kept:
            del row[name]
    return row


def _csv(rows: list[dict[str, Any]]) -> bytes:
    header = ["PersonalID", "EnrollmentID", *CSV_COLUMNS.values(), "EntryDate"]
    lines = [",".join(header)]
    for row in rows:
        values = [row["client_id"], row["enrollment_id"]]
        values += [str(row.get(name, "")) for name in CSV_COLUMNS]
        lines.append(",".join([*values, row["entry_date"]]))
    return ("\r\n".join(lines) + "\r\n").encode()


KEPT = [
    *combinations(IDENTIFIERS, 3),
    *combinations(IDENTIFIERS, 2),
    *combinations(IDENTIFIERS, 1),
    (),
]


@pytest.mark.parametrize("media", ["json", "csv"])
async def test_any_two_identifiers_are_enough_to_store_a_row(
    api: MatchingApi, shelter: int, media: str
) -> None:
    rows = [_keeping(number, kept) for number, kept in enumerate(KEPT, start=1)]
    if media == "json":
        report = await api.upload(rows, on_error="skip_row")
    else:
        response = await api.client.post(
            "/matching/enrollments/csv",
            content=_csv(rows),
            params={"on_error": "skip_row"},
            headers={**api.provider(), "content-type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        report = response.json()
    storable = [kept for kept in KEPT if len(kept) >= 2]
    assert report["created"] == len(storable) == 10
    first_refused = 2 if media == "csv" else 1  # a CSV's rows are its lines, after the header
    refused = {item["row"] - first_refused + 1: item["reason"] for item in report["rejected"]}
    assert sorted(refused) == list(range(len(storable) + 1, len(KEPT) + 1))
    for reason in refused.values():
        assert reason.startswith("a record needs at least 2 identifiers")
    assert await api.count("enrollments", "last_name IS NULL") == 4
    assert await api.count("enrollments", "ssn_last4_hash IS NULL") == 4


async def test_reject_request_still_refuses_a_row_with_too_few_identifiers(
    api: MatchingApi, shelter: int
) -> None:
    response = await api.client.post(
        "/matching/enrollments",
        json={"enrollments": [enrollment(1), _keeping(2, ("ssn",))]},
        headers=api.provider(),
    )
    assert response.status_code == 422
    assert "at least 2 identifiers" in response.json()["rejected"][0]["reason"]
    assert await api.count("enrollments") == 0


@pytest.mark.parametrize(
    "ssn", ["123-45-0000", "000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "12345"]
)
async def test_an_impossible_ssn_is_not_stored_but_the_row_is(
    api: MatchingApi, shelter: int, ssn: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await api.client.post(
        "/matching/enrollments",
        json={"enrollments": [enrollment(1, ssn=ssn, ssn_data_quality=1)]},
        headers=api.provider(),
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 1
    assert [(w["row"], w["field"]) for w in report["warnings"]] == [(1, "ssn")]
    assert await api.count("enrollments", "ssn_last4_hash IS NULL AND ssn_data_quality = 99") == 1
    digits = ssn.replace("-", "")
    for text in (response.text, caplog.text):
        assert ssn not in text
        assert digits not in text


@pytest.mark.parametrize("dob", ["1985-02-30", "2999-01-01", "1800-01-01", "07/03/1985", 19850307])
async def test_an_impossible_date_of_birth_is_not_stored_but_the_row_is(
    api: MatchingApi, shelter: int, dob: Any
) -> None:
    report = await api.upload([enrollment(1, dob=dob)])
    assert [(w["row"], w["field"]) for w in report["warnings"]] == [(1, "dob")]
    assert str(dob) not in str(report)
    assert await api.count("enrollments", "dob IS NULL AND dob_data_quality = 99") == 1


async def test_data_quality_codes_follow_what_is_stored(api: MatchingApi, shelter: int) -> None:
    rows = [
        enrollment(1),
        enrollment(2, first_name=None, ssn="6789"),
        enrollment(3, ssn=None, ssn_data_quality=9, dob=None, dob_data_quality=8),
        enrollment(4, ssn="000-00-0000", ssn_data_quality=1, first_name="1234"),
        enrollment(5, name_data_quality=2, dob_data_quality=77),
    ]
    report = await api.upload([{k: v for k, v in row.items() if v is not None} for row in rows])
    assert [(w["row"], w["field"]) for w in report["warnings"]] == [
        (4, "first_name"),
        (4, "ssn"),
        (5, "dob_data_quality"),
    ]
    page = (await api.client.get("/matching/enrollments", headers=api.provider())).json()
    codes = [
        (item["name_data_quality"], item["ssn_data_quality"], item["dob_data_quality"])
        for item in page["items"]
    ]
    assert codes == [(1, 1, 1), (2, 2, 1), (1, 9, 8), (2, 99, 1), (2, 1, 1)]


async def test_a_record_without_a_last_name_is_found(api: MatchingApi, shelter: int) -> None:
    await api.upload([_keeping(1, ("first_name", "dob", "ssn"))])
    [result] = await api.match(MARIA)
    assert [m["enrollment_id"] for m in result["complete_matches"] + result["partial_matches"]] == [
        "E1"
    ]
    match = (result["complete_matches"] + result["partial_matches"])[0]
    assert match["last_name"] is None
    assert match["agreement"]["last_name"] == {"level": "missing", "weight": 0.0}


@pytest.mark.parametrize("field", ["first_name", "last_name", "dob", "ssn"])
async def test_a_field_the_question_lacks_is_explained_as_missing(
    api: MatchingApi, shelter: int, field: str
) -> None:
    await api.upload([enrollment(1)])
    [result] = await api.match({key: value for key, value in MARIA.items() if key != field})
    [match] = result["complete_matches"] + result["partial_matches"]
    assert match["agreement"][field] == {"level": "missing", "weight": 0.0}
    others = [name for name in ("first_name", "last_name", "dob", "ssn") if name != field]
    assert all(match["agreement"][name]["level"] != "missing" for name in others)
