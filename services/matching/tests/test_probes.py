"""The probe guard against the real service: a caller cannot recover an identifier it did not
hold by asking about one person with many variants, in one batch, over many requests or over
time, and cannot ask about more people than its budgets allow."""

import asyncio
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from common.testing.checks import assert_problem
from matching.dependencies import clock
from matching.names import name_key, phonetic_code

from .conftest import MatchingApi, enrollment

GARCIA = {"first_name": "Maria", "last_name": "Garcia", "dob": "1985-03-07", "ssn": "123-45-6789"}
LAST_FOURS = [f"{n:04d}" for n in range(10, 10_000)]  # 9,990 possible last fours
WINDOW = timedelta(days=30)


class Clock:
    """The time the service counts by, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def advance(self, by: timedelta) -> None:
        self.now += by


@pytest.fixture
def moved_clock(app: FastAPI) -> Iterator[Clock]:
    moving = Clock()

    async def moved() -> Any:
        return lambda: moving.now

    app.dependency_overrides[clock] = moved
    yield moving
    app.dependency_overrides.pop(clock)


@pytest.fixture
async def garcia_enrolled(api: MatchingApi) -> None:
    await api.organization("Shelter One", "provider-1")
    await api.upload([enrollment(1, **GARCIA)])


async def ask(api: MatchingApi, people: list[dict[str, Any]], subject: str = "utility-1") -> Any:
    response = await api.client.post(
        "/matching/matches",
        json={"people": people},
        headers=api.tokens.auth(subject, ["utility"]),
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


def answered(results: list[dict[str, Any]]) -> list[int]:
    return [number for number, result in enumerate(results) if result["error"] is None]


def complete(results: list[dict[str, Any]]) -> list[int]:
    return [number for number, result in enumerate(results) if result["complete_matches"]]


@pytest.mark.usefixtures("garcia_enrolled")
async def test_the_issue_probe_in_one_batch_answers_three_and_refuses_the_rest(
    api: MatchingApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    people = [{"first_name": "Maria", "last_name": "Garcia", "ssn": ssn} for ssn in LAST_FOURS]
    results = await ask(api, people)

    assert len(results) == 9_990
    assert answered(results) == [0, 1, 2]  # 0010, 0011, 0012: three SSNs for one person
    assert complete(results) == []  # 6789 is among the refused: nothing reveals it
    refused = results[LAST_FOURS.index("6789")]
    assert refused["complete_matches"] == refused["partial_matches"] == []
    assert refused["error"]["title"] == "Too many variants of one person"
    assert [error["field"] for error in refused["error"]["errors"]] == ["ssn"]
    assert "6789" not in json.dumps(results)

    (entry,) = (await api.client.get("/matching/audit", headers=api.admin)).json()["items"]
    assert (entry["people"], entry["probes_refused"], entry["matched"]) == (9_990, 9_987, 0)
    alerts = [
        record for record in caplog.records if getattr(record, "event", "") == "matching_probe"
    ]
    assert len(alerts) == 1
    assert alerts[0].levelno == logging.WARNING
    assert (alerts[0].refused, alerts[0].fields) == (9_987, ["ssn"])  # type: ignore[attr-defined]
    alert = json.dumps({key: getattr(alerts[0], key) for key in ("msg", "refused", "fields")})
    for identifier in ("Maria", "Garcia", "maria", "garcia", "MAR", "GARC", "0010", "6789"):
        assert identifier not in caplog.text
        assert identifier not in alert
    # Only keyed hashes are kept (hex text: no name can hide in it) and no plaintext column.
    stored = "".join(
        [await api.table_text(table) for table in ("probe_variants", "probe_asked_people")]
    )
    for name in ("maria", "garcia", "MAR", "GARC", "Maria", "Garcia"):
        assert name not in stored
        assert name not in await api.table_text("audit_log")


@pytest.mark.usefixtures("garcia_enrolled")
async def test_the_right_ssn_among_the_first_three_is_a_complete_match(api: MatchingApi) -> None:
    people = [{"first_name": "Maria", "last_name": "Garcia", "ssn": ssn} for ssn in LAST_FOURS]
    people.insert(1, people.pop(LAST_FOURS.index("6789")))
    results = await ask(api, people)
    assert answered(results) == [0, 1, 2]
    assert complete(results) == [1]  # the question held all it confirms


@pytest.mark.usefixtures("garcia_enrolled")
async def test_the_probe_spread_over_requests_is_refused_until_the_window_passes(
    api: MatchingApi, moved_clock: Clock
) -> None:
    people = [{"first_name": "Maria", "last_name": "Garcia", "ssn": ssn} for ssn in LAST_FOURS]
    answers = []
    for start in range(0, 200, 10):
        moved_clock.advance(timedelta(hours=1))
        answers += await ask(api, people[start : start + 10])
    assert answered(answers) == [0, 1, 2]  # asked 20 hours ago

    moved_clock.advance(WINDOW - timedelta(hours=20))  # they are 1 hour inside the window still
    assert answered(await ask(api, people[200:205])) == []
    moved_clock.advance(timedelta(hours=2))
    assert answered(await ask(api, people[200:205])) == [0, 1, 2]  # the window moved past them
    assert answered(await ask(api, [people[0]])) == []  # and 0010 is now a fourth variant


@pytest.mark.usefixtures("garcia_enrolled")
async def test_another_caller_has_its_own_history(api: MatchingApi) -> None:
    people = [{"first_name": "Maria", "last_name": "Garcia", "ssn": ssn} for ssn in LAST_FOURS[:5]]
    assert answered(await ask(api, people)) == [0, 1, 2]
    assert answered(await ask(api, people)) == [0, 1, 2]  # asking again as admitted is free
    assert answered(await ask(api, people, subject="utility-2")) == [0, 1, 2]


@pytest.mark.usefixtures("garcia_enrolled")
async def test_name_order_accents_and_spelling_do_not_make_another_person(
    api: MatchingApi,
) -> None:
    spellings = [
        {"first_name": "Maria", "last_name": "Garcia"},
        {"first_name": "GARCÍA", "last_name": "maría"},
        {"first_name": "Mariah", "last_name": "Garcia"},
        {"first_name": " maria ", "last_name": "García"},
    ]
    people = [
        {**name, "dob": "1985-03-07", "ssn": f"123-45-{1000 + n}"}
        for n, name in enumerate(spellings)
    ]
    assert answered(await ask(api, people)) == [0, 1, 2]


@pytest.mark.usefixtures("garcia_enrolled")
async def test_a_dob_probe_is_refused_after_three_dates(api: MatchingApi) -> None:
    days = [datetime(1985, 1, 1) + timedelta(days=n) for n in range(365)]
    people = [
        {"first_name": "Maria", "last_name": "Garcia", "dob": f"{day:%Y-%m-%d}"} for day in days
    ]
    results = await ask(api, people)
    assert answered(results) == [0, 1, 2]
    assert complete(results) == []  # 1985-03-07 is the 66th: refused
    assert [error["field"] for error in results[65]["error"]["errors"]] == ["dob"]


@pytest.mark.usefixtures("garcia_enrolled")
async def test_a_probe_varying_both_identifiers_meets_the_limit_per_name(
    api: MatchingApi,
) -> None:
    """A new SSN with every date of birth escapes the limits per person; not the one per name."""
    days = [datetime(1985, 1, 1) + timedelta(days=n) for n in range(100)]
    people = [
        {
            "first_name": "Maria",
            "last_name": "Garcia",
            "dob": f"{day:%Y-%m-%d}",
            "ssn": f"{n + 1000:04d}",
        }
        for n, day in enumerate(days)
    ]
    results = await ask(api, people)
    assert answered(results) == list(range(20))  # MATCHING_MAX_VARIANTS_PER_NAME
    assert complete(results) == []
    assert all(not result["partial_matches"] for result in results[20:])
    fields = {error["field"] for error in results[20]["error"]["errors"]}
    assert fields == {"ssn", "dob"}


async def test_different_people_sharing_a_name_are_answered(api: MatchingApi) -> None:
    await api.organization("Shelter One", "provider-1")
    namesakes = [
        {**GARCIA, "dob": f"19{60 + n}-0{1 + n % 9}-1{n}", "ssn": f"{300 + n}-45-{2000 + n}"}
        for n in range(10)
    ]
    await api.upload([enrollment(n, **person) for n, person in enumerate(namesakes)])
    results = await ask(api, namesakes)
    assert answered(results) == list(range(10))
    assert complete(results) == list(range(10))


@pytest.mark.usefixtures("garcia_enrolled")
async def test_parallel_probes_of_one_caller_admit_three_variants_in_all(api: MatchingApi) -> None:
    people = [{"first_name": "Maria", "last_name": "Garcia", "ssn": ssn} for ssn in LAST_FOURS[:12]]
    batches = await asyncio.gather(*(ask(api, [person]) for person in people))
    assert sum(len(answered(batch)) for batch in batches) == 3


@pytest.mark.usefixtures("garcia_enrolled")
async def test_the_original_request_and_reports_pass_the_same_guard(api: MatchingApi) -> None:
    response = await api.client.post(
        "/matching/return_user_info",
        json={"last_name": ["Garcia"] * 100, "ssn": LAST_FOURS[:100]},
        headers=api.utility,
    )
    assert response.status_code == 200, response.text
    refused = response.json()["person_errors"]
    assert [error["index"] for error in refused] == list(range(3, 100))
    assert refused[0]["error"]["title"] == "Too many variants of one person"
    cohort = [
        {
            "first_name": "Maria",
            "last_name": "Garcia",
            "ssn": ssn,
            "account_closed_on": "2024-01-01",
        }
        for ssn in LAST_FOURS[6700:6800]
    ]
    report = await api.client.post(
        "/matching/reports/outcomes", json={"cohort": cohort}, headers=api.utility
    )
    assert report.status_code == 200, report.text
    assert report.json()["cohort_size"] == 100  # the refused count as not matched
    assert len(report.json()["person_errors"]) == 97
    actions = (await api.client.get("/matching/audit", headers=api.admin)).json()["items"]
    assert [(item["action"], item["probes_refused"]) for item in actions] == [
        ("outcome_report", 97),
        ("return_user_info", 97),
    ]


def _strangers(count: int, offset: int = 0) -> list[dict[str, Any]]:
    """Different people, each asked once: only the budgets limit them."""
    return [
        {"last_name": f"Stranger{chr(97 + n // 26)}{chr(97 + n % 26)}", "ssn": f"{n + 1000:04d}"}
        for n in range(offset, offset + count)
    ]


@pytest.mark.parametrize("settings_overrides", [{"people_per_hour": 30, "people_per_day": 50}])
async def test_over_budget_is_429_with_retry_after_and_changes_nothing(
    api: MatchingApi, moved_clock: Clock
) -> None:
    assert len(await ask(api, _strangers(20))) == 20
    moved_clock.advance(timedelta(minutes=10))
    over = await api.client.post(
        "/matching/matches", json={"people": _strangers(20, 20)}, headers=api.utility
    )
    assert_problem(over, 429)
    assert over.headers["retry-after"] == str(50 * 60)  # when the first 20 leave the hour
    assert await api.count("audit_log") == 1
    assert await api.count("probe_asked_people") == 1

    moved_clock.advance(timedelta(minutes=50))
    assert len(await ask(api, _strangers(20, 20))) == 20  # a new hour
    moved_clock.advance(timedelta(hours=2))
    day = await api.client.post(
        "/matching/matches", json={"people": _strangers(20, 40)}, headers=api.utility
    )
    assert_problem(day, 429)
    assert "per day" in day.json()["detail"]
    assert day.headers["retry-after"] == str(21 * 3600)  # when the first request is a day old

    too_many = await api.client.post(
        "/matching/matches", json={"people": _strangers(31)}, headers=api.utility
    )
    assert_problem(too_many, 422)  # could never fit: not a matter of waiting


@pytest.mark.parametrize("settings_overrides", [{"people_per_day": 50}])
async def test_the_budget_counts_what_housekeeping_left_and_nothing_older(
    api: MatchingApi, moved_clock: Clock
) -> None:
    """Each request keeps the caller's running total: the people within a window are the
    newest total less the total before the window's oldest request, whatever was dropped."""
    assert len(await ask(api, _strangers(20))) == 20
    moved_clock.advance(timedelta(hours=23))
    assert len(await ask(api, _strangers(20, 20))) == 20
    moved_clock.advance(timedelta(hours=2))  # the first request is more than a day old
    # As housekeeping drops it (by its own clock, the real one: here by hand).
    await api.execute(
        "DELETE FROM matching.probe_asked_people WHERE asked_at < :before",
        before=moved_clock.now - timedelta(days=1),
    )
    assert await api.count("probe_asked_people") == 1
    assert len(await ask(api, _strangers(25, 40))) == 25  # 20 + 25 within the day
    over = await api.client.post(
        "/matching/matches", json={"people": _strangers(10, 65)}, headers=api.utility
    )
    assert_problem(over, 429)
    assert over.headers["retry-after"] == str(22 * 3600)  # when the second request is a day old
    moved_clock.advance(timedelta(hours=22, seconds=1))
    assert len(await ask(api, _strangers(10, 65))) == 10  # 25 + 10 within the day


@pytest.mark.parametrize("settings_overrides", [{"people_per_hour": 100}])
async def test_parallel_requests_cannot_overrun_the_budget(api: MatchingApi) -> None:
    async def one(number: int) -> int:
        response = await api.client.post(
            "/matching/matches",
            json={"people": _strangers(20, 20 * number)},
            headers=api.utility,
        )
        return response.status_code

    statuses = await asyncio.gather(*(one(number) for number in range(10)))
    assert sorted(statuses) == [200] * 5 + [429] * 5
    assert await api.count("audit_log") == 5


async def test_malformed_budget_settings_are_refused() -> None:
    from pydantic import ValidationError

    from matching.config import Settings

    for name in ("people_per_hour", "max_ssn_variants", "probe_window_seconds"):
        with pytest.raises(ValidationError):
            Settings(**{name: 0})


@pytest.mark.parametrize("settings_overrides", [{"probe_housekeeping_interval_seconds": 0.1}])
@pytest.mark.usefixtures("garcia_enrolled")
async def test_housekeeping_drops_every_callers_questions_past_their_window(
    api: MatchingApi, moved_clock: Clock
) -> None:
    moved_clock.now = datetime(2020, 1, 1, tzinfo=UTC)  # years before the housekeeping's now
    people = [{"first_name": "Maria", "last_name": "Garcia", "ssn": ssn} for ssn in LAST_FOURS[:5]]
    for subject in ("utility-1", "utility-2"):
        assert answered(await ask(api, people, subject=subject)) == [0, 1, 2]
    deadline = asyncio.get_running_loop().time() + 20
    while await api.count("probe_variants") or await api.count("probe_asked_people"):
        assert asyncio.get_running_loop().time() < deadline, "housekeeping did not run"
        await asyncio.sleep(0.05)


def _letters(n: int) -> str:
    return chr(97 + n // 26 % 26) + chr(97 + n % 26)


@pytest.mark.usefixtures("garcia_enrolled")
async def test_misspelt_first_names_are_one_family_of_names(api: MatchingApi) -> None:
    """Each spelling is a new person for the limit of 3, but "Garcia" with a first name in M
    is one family: 50 SSNs in all (MATCHING_MAX_VARIANTS_PER_NAME_FAMILY)."""
    spellings = {
        phonetic_code(name_key(f"Ma{_letters(n)}ia")): f"Ma{_letters(n)}ia" for n in range(99)
    }
    people = [
        {"first_name": first, "last_name": "Garcia", "ssn": f"{1000 + 3 * n + k}"}
        for n, first in enumerate(list(spellings.values())[:40])
        for k in range(3)
    ]
    results = await ask(api, people)
    assert answered(results) == list(range(50))
    assert results[50]["error"]["errors"][0]["message"].startswith("more than 50 different SSNs")


@pytest.mark.usefixtures("garcia_enrolled")
async def test_a_known_date_of_birth_with_any_other_name_is_one_family(api: MatchingApi) -> None:
    """The date of birth and the last four outweigh the names, so a prober could make up the
    last name of every question: the date of birth with an initial (and here the first name
    with the made-up names' initial) still counts them."""
    lasts = {phonetic_code(name_key(f"Q{_letters(n)}x")): f"Q{_letters(n)}x" for n in range(676)}
    people = [
        {"first_name": "Maria", "last_name": last, "dob": "1985-03-07", "ssn": ssn}
        for last, ssn in zip(list(lasts.values())[:80], LAST_FOURS, strict=False)
    ]
    assert len(people) == 80
    assert answered(await ask(api, people)) == list(range(50))


@pytest.mark.usefixtures("garcia_enrolled")
async def test_a_known_ssn_allows_three_dates_of_birth_whatever_the_names(
    api: MatchingApi,
) -> None:
    days = [datetime(1985, 1, 1) + timedelta(days=n) for n in range(100)]
    people = [
        {"first_name": f"Z{_letters(n)}", "last_name": f"Q{_letters(n)}x", "dob": f"{day:%Y-%m-%d}"}
        | {"ssn": GARCIA["ssn"]}
        for n, day in enumerate(days)
    ]
    results = await ask(api, people)
    assert answered(results) == [0, 1, 2]
    assert complete(results) == []
