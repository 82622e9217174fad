"""The model the service learns from its enrollments: term frequencies, versions, the task."""

from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI

from matching.config import DEVELOPMENT_SSN_KEY
from matching.identities import question_identity
from matching.linkage.service import STARTING_VERSION, LinkageModel, LinkageService, ModelCache
from matching.linkage.training import train, train_if_grown
from matching.matches.fellegi_sunter import FellegiSunterModel
from matching.matches.service import MatchingRules
from matching.ssn import SsnHasher

from .conftest import MatchingApi, enrollment

COMMON, RARE = "Garcia", "Quist"


def _person(number: int, last_name: str) -> dict[str, Any]:
    return enrollment(
        number,
        first_name=f"Name{chr(65 + number % 26)}{chr(65 + number // 26)}",
        last_name=last_name,
        dob=f"19{50 + number % 40}-0{1 + number % 9}-1{number % 9}",
        ssn=f"{100 + number}-4{number % 10}-{1000 + number}",
    )


async def _upload_population(api: MatchingApi) -> None:
    """Forty people share the common surname; the rare one is held by one person."""
    await api.organization("Shelter One", "provider-1")
    await api.upload([_person(number, COMMON) for number in range(1, 41)] + [_person(41, RARE)])


def _last_name_weight(result: dict[str, Any]) -> float:
    [match] = result["complete_matches"] + result["partial_matches"]
    weight: float = match["agreement"]["last_name"]["weight"]
    return weight


async def _train(app: FastAPI) -> int:
    return await train(app.state.db)


def _identity(number: int, last_name: str) -> dict[str, Any]:
    person = _person(number, last_name)
    return {
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "dob": date.fromisoformat(person["dob"]),
        "ssn": person["ssn"],
    }


def _asked(number: int, last_name: str) -> dict[str, Any]:
    person = _person(number, last_name)
    return {key: person[key] for key in ("first_name", "last_name", "dob", "ssn")}


async def test_a_rare_surname_weighs_more_than_a_common_one_once_learned(
    api: MatchingApi, app: FastAPI
) -> None:
    await _upload_population(api)
    before = await api.match(_asked(1, COMMON), _asked(41, RARE))
    assert _last_name_weight(before[0]) == _last_name_weight(before[1])  # the starting model
    assert {m["model_version"] for r in before for m in r["complete_matches"]} == {0}

    version = await _train(app)
    after = await api.match(_asked(1, COMMON), _asked(41, RARE))
    assert _last_name_weight(after[1]) > _last_name_weight(after[0])
    assert _last_name_weight(after[0]) < _last_name_weight(before[0])  # 40 of 41 share it
    assert {m["model_version"] for r in after for m in r["complete_matches"]} == {version}
    frequencies = await api.execute(
        "SELECT key, people FROM matching.name_frequencies WHERE field = 'last_name' ORDER BY key"
    )
    assert [tuple(row) for row in frequencies] == [("garcia", 40), ("quist", 1)]


async def test_a_clients_many_stays_count_as_one_person(api: MatchingApi, app: FastAPI) -> None:
    await api.organization("Shelter One", "provider-1")
    stays = [
        enrollment(number, client_id="C1", entry_date=f"202{number}-01-01", exit_date=None)
        for number in range(1, 4)
    ]
    await api.upload([{k: v for k, v in stay.items() if k != "exit_destination"} for stay in stays])
    await _train(app)
    [row] = await api.execute("SELECT enrollments, people FROM matching.linkage_models")
    assert tuple(row) == (3, 1)
    [(people,)] = await api.execute(
        "SELECT people FROM matching.name_frequencies WHERE field = 'last_name'"
    )
    assert people == 1


async def test_the_model_is_learned_again_only_when_the_enrollments_changed(
    api: MatchingApi, app: FastAPI
) -> None:
    await _upload_population(api)
    first = await train_if_grown(app.state.db)
    assert first is not None
    assert await train_if_grown(app.state.db) is None  # nothing changed
    await api.upload([_person(42, RARE)])
    second = await train_if_grown(app.state.db)
    assert second is not None
    assert second > first
    # Only the newest version is kept, with its own frequencies.
    assert await api.count("linkage_models") == 1
    assert await api.count("name_frequencies", "model_id <> :newest", newest=second) == 0
    [result] = await api.match(_asked(41, RARE))
    assert [m["model_version"] for m in result["complete_matches"]] == [second]


async def test_nothing_held_trains_a_model_that_changes_nothing(
    api: MatchingApi, app: FastAPI
) -> None:
    version = await _train(app)
    assert version >= 1
    await api.organization("Shelter One", "provider-1")
    await api.upload([enrollment(1)])
    [result] = await api.match({"first_name": "Maria", "last_name": "Garcia Lopez"})
    assert result["complete_matches"] == result["partial_matches"] == []


async def test_every_pair_compared_is_counted_by_its_levels_only(api: MatchingApi) -> None:
    await _upload_population(api)
    await api.match(_asked(1, COMMON), _asked(41, RARE))
    rows = await api.execute("SELECT * FROM matching.comparison_patterns")
    assert sum(row.pairs for row in rows) >= 2  # each question met at least its own stay
    assert {column for row in rows for column in row._fields} == {
        "id",
        "first_name",
        "last_name",
        "dob",
        "ssn",
        "pairs",
    }
    assert (0, 0, 0, 0) in {tuple(row[1:5]) for row in rows}  # the exact pairs
    await api.match(_asked(1, COMMON))
    again = await api.execute("SELECT sum(pairs) FROM matching.comparison_patterns")
    assert again[0][0] > sum(row.pairs for row in rows)


async def test_m_is_learned_from_the_pairs_compared(api: MatchingApi, app: FastAPI) -> None:
    """Same people whose first names disagree a third of the time: m of 'different' learns it."""
    patterns = {
        (0, 0, 0, 0): 4000,  # the same person, everything agrees
        (3, 0, 0, 0): 2000,  # the same person under another first name
        (3, 4, 0, 2): 3000,  # born the same day, the same last four by chance
        (0, 0, 3, 3): 3000,  # namesakes
        # Found because a name and the date of birth agree: no training rule's pairs, so they
        # must not teach EM that the same person's SSN or surname often differs.
        (3, 0, 0, 3): 20000,
    }
    for (first, last, dob, ssn), pairs in patterns.items():
        await api.execute(
            "INSERT INTO matching.comparison_patterns (first_name, last_name, dob, ssn, pairs) "
            "VALUES (:first, :last, :dob, :ssn, :pairs)",
            first=first,
            last=last,
            dob=dob,
            ssn=ssn,
            pairs=pairs,
        )
    await api.organization("Shelter One", "provider-1")
    await api.upload([enrollment(1)])
    await _train(app)
    [(parameters,)] = await api.execute("SELECT parameters FROM matching.linkage_models")
    starting = FellegiSunterModel.default().fields["first_name"].m
    learned = parameters["fields"]["first_name"]["m"]
    assert learned[3] == pytest.approx(1 / 3, abs=0.05)
    assert learned[3] > 5 * starting[3]
    assert parameters["fields"]["ssn"]["m"][3] < 0.05


async def test_ssns_of_different_people_one_digit_apart_weaken_a_one_digit_agreement(
    api: MatchingApi, app: FastAPI
) -> None:
    """Short ids made SSNs (as FEBRL's) put different people one digit apart far more often
    than SSNs spread over all 10^9: the learned u of that level says so."""
    await api.organization("Shelter One", "provider-1")
    near = [_person(number, COMMON) | {"ssn": f"123-45-{6700 + number}"} for number in range(1, 81)]
    await api.upload(near)
    await _train(app)
    [(parameters,)] = await api.execute("SELECT parameters FROM matching.linkage_models")
    starting = FellegiSunterModel.default().fields["ssn"].u
    learned = parameters["fields"]["ssn"]["u"]
    # Serials 6701 to 6780: hundreds of the 3,160 pairs of people are one digit apart.
    assert learned[1] > 100 * starting[1]
    assert learned[0] == pytest.approx(starting[0], rel=0.5)  # no two share a full SSN
    assert sum(learned) == pytest.approx(1.0)


def test_the_more_people_held_the_more_evidence_a_partial_match_needs() -> None:
    rules = MatchingRules(
        partial_min_weight=18.0,
        partial_min_probability=0.8,
        max_partial_matches=5,
        report_min_count=10,
        report_rounding=5,
    )
    assert rules.partial_threshold(0) == 18.0  # the starting model: the floor
    assert rules.partial_threshold(50_000) == 18.0
    # Odds of 1 to 999,999 raised to 4 to 1 (0.8): log2(999,999 x 4) bits.
    assert rules.partial_threshold(1_000_000) == pytest.approx(21.93, abs=0.01)


async def test_requests_append_their_counts_and_training_adds_them_up(
    api: MatchingApi, app: FastAPI
) -> None:
    await _upload_population(api)
    for _ in range(3):
        await api.match(_asked(1, COMMON))
    appended = await api.execute(
        "SELECT first_name, last_name, dob, ssn, sum(pairs) AS pairs, count(*) AS rows "
        "FROM matching.comparison_patterns GROUP BY 1, 2, 3, 4"
    )
    assert max(row.rows for row in appended) == 3  # one row per request, none updated
    await train_if_grown(app.state.db)
    assert await train_if_grown(app.state.db) is None  # unchanged: only adds the rows up
    compacted = await api.execute(
        "SELECT first_name, last_name, dob, ssn, sum(pairs) AS pairs, count(*) AS rows "
        "FROM matching.comparison_patterns GROUP BY 1, 2, 3, 4"
    )
    assert {row.rows for row in compacted} == {1}
    assert {tuple(row[:5]) for row in compacted} == {tuple(row[:5]) for row in appended}


async def test_a_process_holds_the_model_until_a_newer_one_is_trained(
    api: MatchingApi, app: FastAPI
) -> None:
    """Each process (here: each ModelCache) parses a version once, and every request asks
    whether the newest model is still the one it holds: one trained by any process, or a new
    one under a version number that came back, is read at the next request."""
    database = app.state.db
    asked = [question_identity(SsnHasher(DEVELOPMENT_SSN_KEY.encode()), **_identity(41, RARE))]

    async def current(cache: ModelCache) -> LinkageModel:
        async with database.driver.transaction() as transaction:
            model, _ = await LinkageService(transaction, cache).current(asked)
        return model

    one, two = ModelCache(), ModelCache()
    assert (await current(one)).version == STARTING_VERSION
    await _upload_population(api)
    first = await _train(app)
    held = await current(one)
    assert held.version == first
    assert held is await current(one)  # parsed once, then held
    assert (await current(two)).version == first
    await api.upload([_person(42, RARE)])
    second = await train(database)
    assert (await current(one)).version == second
    # Emptied with its identities restarted, and trained from other people: version 1 again.
    await api.execute("TRUNCATE matching.linkage_models RESTART IDENTITY CASCADE")
    await api.execute("DELETE FROM matching.enrollments WHERE last_name = :name", name=COMMON)
    assert await _train(app) == first
    fresh = await current(ModelCache())
    assert fresh.model != held.model
    assert (await current(two)).model == fresh.model  # two held version 1's old model
