"""Uploads (JSON and CSV), upserts, visibility per organization and deletion, on real PostgreSQL."""

import asyncio
from typing import Any

import pytest

from .conftest import MARIA, MatchingApi, enrollment


@pytest.fixture
async def shelter(api: MatchingApi) -> int:
    return await api.organization("Shelter One", "provider-1")


async def test_a_provider_uploads_and_reads_its_enrollments_without_ssns(
    api: MatchingApi, shelter: int
) -> None:
    last4_only = enrollment(2, ssn="6789", exit_destination=None, exit_date=None)
    report = await api.upload([enrollment(1), last4_only])
    assert report == {
        "received": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": [],
        "warnings": [],
    }

    response = await api.client.get("/matching/enrollments", headers=api.provider())
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 2
    first, second = page["items"]
    assert first["organization"] == "Shelter One"
    assert first["ssn_recorded"] == "full"
    assert second["ssn_recorded"] == "last4"
    assert first["ssn_data_quality"] == 1
    assert second["ssn_data_quality"] == 2
    assert first["exit_destination"] == {
        "code": 410,
        "label": "Rental by client, no ongoing housing subsidy",
        "category": "permanent",
    }
    assert "ssn" not in first
    assert "6789" not in response.text


async def test_uploading_the_same_rows_again_changes_nothing_and_a_change_updates(
    api: MatchingApi, shelter: int
) -> None:
    rows = [enrollment(number) for number in range(1, 4)]
    await api.upload(rows)
    again = await api.upload(rows)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)

    changed = await api.upload([enrollment(2, exit_destination=116)])
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 0)
    assert await api.count("enrollments") == 3
    assert await api.count("enrollments", "exit_destination = 116") == 1


async def test_a_row_that_cannot_be_stored_rejects_the_whole_upload_naming_the_row(
    api: MatchingApi, shelter: int
) -> None:
    rows = [
        enrollment(1),
        enrollment(2, exit_date="2023-01-01"),
        {"client_id": "C3", "enrollment_id": "E3", "entry_date": "2023-01-01"},
        enrollment(4, enrollment_id="E 4"),
    ]
    response = await api.client.post(
        "/matching/enrollments", json={"enrollments": rows}, headers=api.provider()
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    rejected = response.json()["rejected"]
    assert [item["row"] for item in rejected] == [2, 3, 4]
    assert "exit_date" in rejected[0]["reason"]
    assert rejected[1]["reason"].startswith("a record needs at least 2 identifiers")
    assert rejected[2]["reason"].startswith("enrollment_id:")
    assert await api.count("enrollments") == 0


async def test_skip_row_stores_the_valid_rows_and_lists_the_others(
    api: MatchingApi, shelter: int
) -> None:
    rows: list[Any] = [
        enrollment(1),
        enrollment(2, exit_date="2023-01-01"),  # before its entry
        "not an object",
        enrollment(1, first_name="Repeated"),
        enrollment(4, exit_destination=12345),
        enrollment(5, surprise="field"),
        enrollment(6, last_name="'; DROP TABLE matching.enrollments; --"),
    ]
    report = await api.upload(rows, on_error="skip_row")
    assert (report["received"], report["created"]) == (7, 3)
    reasons = {item["row"]: item["reason"] for item in report["rejected"]}
    assert sorted(reasons) == [2, 3, 4, 6]
    assert "repeats the enrollment_id of row 1" in reasons[4]
    assert "surprise" in reasons[6]
    assert [(w["row"], w["field"]) for w in report["warnings"]] == [(5, "exit_destination")]
    assert await api.count("enrollments", "exit_destination IS NULL") == 1
    assert await api.count("enrollments", "last_name LIKE '%DROP TABLE%'") == 1


@pytest.mark.parametrize(
    "body",
    [{"enrollments": []}, {"enrollments": [enrollment(1)], "extra": 1}, {"rows": []}, []],
    ids=["empty", "unknown-field", "wrong-key", "not-an-object"],
)
async def test_a_malformed_upload_is_refused_and_stores_nothing(
    api: MatchingApi, shelter: int, body: Any
) -> None:
    response = await api.client.post("/matching/enrollments", json=body, headers=api.provider())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert await api.count("enrollments") == 0


async def test_a_provider_in_no_organization_is_told_so(api: MatchingApi) -> None:
    response = await api.client.post(
        "/matching/enrollments", json={"enrollments": [enrollment(1)]}, headers=api.provider()
    )
    assert response.status_code == 403
    assert "no organization" in response.json()["detail"]


async def test_only_providers_upload(api: MatchingApi, shelter: int) -> None:
    for headers in (api.utility, api.admin, {}):
        response = await api.client.post(
            "/matching/enrollments", json={"enrollments": [enrollment(1)]}, headers=headers
        )
        assert response.status_code in (401, 403)
    assert await api.count("enrollments") == 0


async def test_a_provider_never_sees_another_organizations_rows(
    api: MatchingApi, shelter: int
) -> None:
    await api.organization("Shelter Two", "provider-2")
    await api.upload([enrollment(1)], subject="provider-1")
    await api.upload([enrollment(2)], subject="provider-2")

    listed = await api.client.get("/matching/enrollments", headers=api.provider("provider-2"))
    assert [item["enrollment_id"] for item in listed.json()["items"]] == ["E2"]
    foreign = await api.client.get("/matching/enrollments/E1", headers=api.provider("provider-2"))
    assert foreign.status_code == 404
    deleted = await api.client.delete(
        "/matching/enrollments/E1", headers=api.provider("provider-2")
    )
    assert deleted.status_code == 404
    own = await api.client.get("/matching/enrollments/E1", headers=api.provider("provider-1"))
    assert own.status_code == 200
    assert await api.count("enrollments") == 2


async def test_deleting_an_enrollment_or_a_client_removes_the_rows(
    api: MatchingApi, shelter: int
) -> None:
    await api.upload([enrollment(1), enrollment(2, client_id="C1"), enrollment(3)])
    response = await api.client.delete("/matching/enrollments/E3", headers=api.provider())
    assert response.status_code == 204
    response = await api.client.delete("/matching/clients/C1", headers=api.provider())
    assert response.status_code == 200
    assert response.json() == {"deleted": 2}
    assert await api.count("enrollments") == 0
    again = await api.client.delete("/matching/clients/C1", headers=api.provider())
    assert again.status_code == 404


async def test_concurrent_uploads_of_the_same_rows_leave_one_row_each(
    api: MatchingApi, shelter: int
) -> None:
    rows = [enrollment(number) for number in range(1, 201)]
    reports = await asyncio.gather(*(api.upload(rows) for _ in range(4)))
    assert sum(report["created"] for report in reports) == 200
    assert await api.count("enrollments") == 200


CSV_HEADER = (
    "PersonalID,EnrollmentID,FirstName,LastName,DOB,SSN,EntryDate,ExitDate,IncomeAtEntry,"
    "IncomeAtExit,Destination\r\n"
)


async def _csv_chunks(text: str, size: int = 7) -> Any:
    data = text.encode()
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_a_csv_upload_is_read_as_it_streams_in(api: MatchingApi, shelter: int) -> None:
    body = CSV_HEADER + (
        'C1,E1,María,"García-López, Jr",1985-03-07,123456789,2023-05-01,2023-09-30,0,850,410\r\n'
        'C2,E2,"Multi\r\nLine",Smith,,,2023-05-01,,,,\r\n'
        "C3,E3,Ann,Lee,1985-13-01,,2023-05-01,,,,\r\n"
        "C4,E4,too,few\r\n"
    )
    response = await api.client.post(
        "/matching/enrollments/csv",
        content=_csv_chunks(body),
        params={"on_error": "skip_row"},
        headers={**api.provider(), "content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["received"], report["created"]) == (4, 3)
    assert [(item["row"], item["reason"][:4]) for item in report["rejected"]] == [(6, "4 fi")]
    assert [(item["row"], item["field"]) for item in report["warnings"]] == [(5, "dob")]
    assert await api.count("enrollments", "last_name = 'García-López, Jr'") == 1


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ("", 422, "empty"),
        ("PersonalID,EnrollmentID,LastName,EntryDate,Favourite\r\n", 422, "unknown columns"),
        ("PersonalID,LastName,EntryDate\r\n", 422, "missing columns"),
        (CSV_HEADER + "C1,E1,A,B,,,2023-05-01,,,,\r\n" * 2, 422, "rows are not valid"),
    ],
    ids=["empty", "unknown-column", "missing-column", "duplicate-row"],
)
async def test_a_bad_csv_is_refused_and_stores_nothing(
    api: MatchingApi, shelter: int, body: str, status: int, detail: str
) -> None:
    response = await api.client.post(
        "/matching/enrollments/csv",
        content=body.encode(),
        headers={**api.provider(), "content-type": "text/csv"},
    )
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]
    assert await api.count("enrollments") == 0


async def test_a_csv_upload_needs_the_csv_media_type(api: MatchingApi, shelter: int) -> None:
    response = await api.client.post(
        "/matching/enrollments/csv", content=CSV_HEADER.encode(), headers=api.provider()
    )
    assert response.status_code == 415
    assert MARIA["ssn"] not in response.text
