"""The matching journey through the real nginx: an admin (made with the customers CLI) sets roles
and an organization up, a provider uploads 10,000 enrollments (past the 1 MiB platform limit),
a utility gets matches and an outcome report, and the admin reads the audit log."""

import json
import time
import uuid
from typing import Any

import httpx
import pytest

from gateway.stack import Stack
from matching.generator import Generator
from tests.conftest import create_admin

pytestmark = pytest.mark.e2e

PASSWORD = "violet-harbor-quilt-1987"
ONE_MIB = 1024 * 1024


def _login(http: httpx.Client, email: str) -> dict[str, str]:
    response = http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _account_with_role(http: httpx.Client, admin: dict[str, str], email: str, role: str) -> str:
    """Sign up, get ``role`` from the admin, log in; the customer id."""
    signed_up = http.post("/auth/signup", json={"email": email, "password": PASSWORD})
    assert signed_up.status_code == 201, signed_up.text
    roles = http.put(f"/customers/{email}/roles", json={"roles": [role]}, headers=admin)
    assert roles.status_code == 200, roles.text
    customer_id: str = signed_up.json()["customer_id"]
    return customer_id


@pytest.fixture(scope="module")
def http(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.url, timeout=120)


def test_a_utility_learns_which_ex_customers_entered_homeless_services(
    stack: Stack, http: httpx.Client
) -> None:
    run = uuid.uuid4().hex[:8]
    admin_email = f"admin-{run}@example.com"
    create_admin(stack, admin_email, PASSWORD)
    admin = _login(http, admin_email)
    provider_id = _account_with_role(http, admin, f"provider-{run}@example.com", "provider")
    _account_with_role(http, admin, f"utility-{run}@example.com", "utility")
    provider = _login(http, f"provider-{run}@example.com")
    utility = _login(http, f"utility-{run}@example.com")

    # A provider in no organization is told so, through the gateway too.
    refused = http.get("/matching/organizations/mine", headers=provider)
    assert refused.status_code == 403
    assert "no organization" in refused.json()["detail"]

    created = http.post("/matching/organizations", json={"name": f"Shelter {run}"}, headers=admin)
    assert created.status_code == 201, created.text
    organization_id = created.json()["id"]
    member = http.post(
        f"/matching/organizations/{organization_id}/members",
        json={"subject": provider_id},
        headers=admin,
    )
    assert member.status_code == 201, member.text

    data = Generator(11).dataset(clients=6500, cohort=11_000, linked_share=0.3)
    rows = data.enrollments[:10_000]
    body = json.dumps({"enrollments": rows})
    assert len(body) > ONE_MIB
    uploaded = http.post(
        "/matching/enrollments",
        content=body,
        headers={**provider, "content-type": "application/json"},
    )
    assert uploaded.status_code == 200, uploaded.text[:500]
    assert uploaded.json()["created"] == 10_000

    csv_upload = http.post(
        "/matching/enrollments/csv",
        content=(
            "PersonalID,EnrollmentID,FirstName,LastName,DOB,SSN,EntryDate\r\n"
            f"X{run},X{run},Ana,Lee,1990-02-03,234-56-7891,2024-01-01\r\n"
        ).encode(),
        headers={**provider, "content-type": "text/csv"},
    )
    assert csv_upload.status_code == 200, csv_upload.text
    assert csv_upload.json()["created"] == 1

    _missing_fields_journey(http, provider, utility, run)

    linked = {row["enrollment_id"] for row in rows}
    cohort = data.cohort
    people = [{k: v for k, v in member.items() if k != "account_closed_on"} for member in cohort]
    matched = http.post(
        "/matching/matches",
        content=json.dumps({"people": people}),
        headers={**utility, "content-type": "application/json"},
    )
    assert matched.status_code == 200, matched.text[:500]
    results: list[dict[str, Any]] = matched.json()["results"]
    assert len(results) == len(people)
    found = [
        {m["enrollment_id"] for m in r["complete_matches"] + r["partial_matches"]} for r in results
    ]
    true_positive = sum(
        bool(ids & (links & linked)) for ids, links in zip(found, data.links, strict=True)
    )
    expected = sum(bool(links & linked) for links in data.links)
    assert true_positive >= 0.95 * expected

    report = http.post(
        "/matching/reports/outcomes",
        content=json.dumps({"cohort": cohort[:2000]}),
        headers={**utility, "content-type": "application/json"},
    )
    assert report.status_code == 200, report.text[:500]
    assert report.json()["cohort_size"] == 2000
    assert report.json()["matched"] > 0

    forbidden = http.post("/matching/enrollments", json={"enrollments": rows[:1]}, headers=utility)
    assert forbidden.status_code == 403

    audit = http.get("/matching/audit", headers=admin)
    assert audit.status_code == 200
    actions = [entry["action"] for entry in audit.json()["items"][:2]]
    assert actions == ["outcome_report", "matches"]


def _missing_fields_journey(
    http: httpx.Client, provider: dict[str, str], utility: dict[str, str], run: str
) -> None:
    """A record without a last name and with an impossible SSN is stored without the SSN (a
    warning names the row and field, never the value) and found by a question without a last
    name; in the same batch a person with one identifier gets their own error."""
    stored = http.post(
        "/matching/enrollments/csv",
        content=(
            "PersonalID,EnrollmentID,FirstName,LastName,DOB,SSN,EntryDate\r\n"
            f"Z{run},Z{run},Zelinda,,1991-04-05,123-45-0000,2024-02-01\r\n"
        ).encode(),
        headers={**provider, "content-type": "text/csv"},
    )
    assert stored.status_code == 200, stored.text
    assert stored.json()["created"] == 1
    assert [(w["row"], w["field"]) for w in stored.json()["warnings"]] == [(2, "ssn")]
    assert "123-45-0000" not in stored.text
    asked = http.post(
        "/matching/matches",
        json={
            "people": [
                {"first_name": "Zelinda", "dob": "1991-04-05", "ssn": "000-12-3456"},
                {"last_name": "Lee"},
            ]
        },
        headers=utility,
    )
    assert asked.status_code == 200, asked.text
    zelinda, alone = asked.json()["results"]
    assert zelinda["error"] is None
    assert [w["field"] for w in zelinda["warnings"]] == ["ssn"]
    found = zelinda["complete_matches"] + zelinda["partial_matches"]
    assert f"Z{run}" in [match["enrollment_id"] for match in found]
    assert alone["error"]["title"] == "Not enough identifiers"
    assert alone["complete_matches"] == alone["partial_matches"] == []


def test_the_bulk_limit_is_the_bulk_routes_own(stack: Stack, http: httpx.Client) -> None:
    large = json.dumps({"name": "x" * (ONE_MIB + 10)})
    refused = http.post(
        "/matching/organizations", content=large, headers={"content-type": "application/json"}
    )
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"
    # Past nginx's default limit, the bulk route reaches the service (401: no token).
    bulk = http.post(
        "/matching/matches",
        content=json.dumps({"people": [{"last_name": "x" * 100}] * 12_000}),
        headers={"content-type": "application/json"},
    )
    assert bulk.status_code == 401


def _name(number: int) -> str:
    """A name of letters only, different for every number (nobody enrolled has it)."""
    letters = ""
    while True:
        number, digit = divmod(number, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
        if not number:
            return "Zq" + letters


def test_a_cohort_larger_than_one_request_runs_as_a_job(stack: Stack, http: httpx.Client) -> None:
    run = uuid.uuid4().hex[:8]
    admin_email = f"admin-jobs-{run}@example.com"
    create_admin(stack, admin_email, PASSWORD)
    admin = _login(http, admin_email)
    _account_with_role(http, admin, f"utility-jobs-{run}@example.com", "utility")
    _account_with_role(http, admin, f"utility-other-{run}@example.com", "utility")
    utility = _login(http, f"utility-jobs-{run}@example.com")
    other = _login(http, f"utility-other-{run}@example.com")

    people = 20_001  # one more than a request answers at once (MATCHING_MAX_PEOPLE_PER_REQUEST)
    lines = ["first_name,last_name"] + [f"Ann,{_name(n)}" for n in range(people)]
    body = ("\r\n".join(lines) + "\r\n").encode()
    submitted = http.post(
        "/matching/matches", content=body, headers={**utility, "content-type": "text/csv"}
    )
    assert submitted.status_code == 202, submitted.text[:500]
    location = submitted.headers["location"]
    assert submitted.json()["total"] == people

    assert http.get(location, headers=other).status_code == 404  # the same role, not the owner
    deadline = time.monotonic() + 300
    while (job := http.get(location, headers=utility).json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
    assert (job["status"], job["done"]) == ("done", people), job

    last = http.get(f"{location}/results", params={"offset": 20_000}, headers=utility)
    assert last.status_code == 200, last.text
    assert last.json()["total"] == people
    assert [item["index"] for item in last.json()["items"]] == [20_000]
    download = http.get(f"{location}/results.csv", headers=utility)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert len(download.text.splitlines()) == people + 1  # the header and nobody matched
    assert http.get(f"{location}/results.csv", headers=other).status_code == 404

    assert http.delete(location, headers=other).status_code == 404
    assert http.delete(location, headers=utility).status_code == 204
    assert http.get(location, headers=utility).status_code == 404
