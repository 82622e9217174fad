"""The matching rules without HTTP: normalization, SSN hashes, comparison levels, scoring, the
model's estimation, suppression, and the CSV reader."""

from collections.abc import AsyncIterator
from datetime import date

import pytest

from matching.cli import identity_of
from matching.enrollments.csv_rows import CsvProblem, MalformedRecord, csv_rows
from matching.generator import Generator
from matching.matches.comparison import Identity, compare, compare_dob, compare_last_name
from matching.matches.estimation import candidate_pairs, estimate_model
from matching.matches.model import FellegiSunterModel
from matching.matches.reports import CohortOutcome, MatchedStay, outcome_report
from matching.matches.scoring import Scorer
from matching.names import name_key, phonetic_code
from matching.ssn import ImpossibleSsn, SsnHasher, clean_ssn

HASHER = SsnHasher(b"k" * 32)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("García-López", "garcia lopez"),
        ("O'Brien", "OBRIEN"),
        ("  Zoë ", "zoe"),
        ("D'Angelo", "d angelo"),
    ],
)
def test_names_compare_without_case_accents_spacing_or_punctuation(one: str, other: str) -> None:
    assert name_key(one) == name_key(other)
    assert phonetic_code(name_key(one)) == phonetic_code(name_key(other))


@pytest.mark.parametrize(
    "ssn",
    [
        "000000000",
        "111111111",
        "000-12-3456",
        "666-12-3456",
        "912-34-5678",
        "123-00-4567",
        "123-45-0000",
        "12345678",
        "12345678a",
        "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19",  # fullwidth digits
        "00-0000",
    ],
)
def test_impossible_ssns_are_refused_without_echoing_them(ssn: str) -> None:
    with pytest.raises(ImpossibleSsn) as refused:
        clean_ssn(ssn)
    assert ssn not in str(refused.value)


def test_ssns_agree_on_one_digit_or_a_swap_without_plaintext() -> None:
    record = Identity("maria", "garcia", None, HASHER.hashes("123456789"))

    def level(ssn: str) -> int | None:
        question = Identity("maria", "garcia", None, HASHER.hashes(ssn, with_transpositions=True))
        return compare(question, record)[3]

    assert level("123456789") == 0
    assert level("123456788") == 1  # one digit wrong
    assert level("123456798") == 1  # two adjacent digits swapped
    assert level("6789") == 2  # last four only
    assert level("123456700") == 3
    assert level("987654321") == 3


def test_dates_and_compound_names_have_their_levels() -> None:
    assert compare_dob(date(1985, 3, 7), date(1985, 7, 3)) == 1
    assert compare_dob(date(1985, 3, 7), date(1986, 3, 7)) == 2
    assert compare_dob(date(1985, 3, 7), date(1990, 12, 25)) == 3
    assert compare_last_name("garcia", "garcialopez") == 1
    assert compare_last_name("garcialopes", "garcialopez") == 2
    assert compare_last_name("smith", "garcialopez") == 4


def test_a_complete_match_needs_every_given_identifier_to_agree() -> None:
    scorer = Scorer(FellegiSunterModel.default())
    record = Identity("maria", "garcialopez", date(1985, 3, 7), HASHER.hashes("123456789"))
    same = Identity("maria", "garcialopez", date(1985, 3, 7), HASHER.hashes("123456789"))
    no_dob = Identity(None, "garcialopez", None, HASHER.hashes("6789"))
    swapped = Identity("garcialopez", "maria", date(1985, 3, 7), HASHER.hashes("123456789"))
    typo = Identity("maria", "garcialopes", date(1985, 3, 7), HASHER.hashes("123456789"))
    assert scorer.score(same, record).complete
    names_only = Identity("maria", "garcialopez", None, None)
    assert not scorer.score(names_only, record).complete  # many people share a name
    assert scorer.score(no_dob, record).complete
    turned = scorer.score(swapped, record)
    assert not turned.complete
    assert turned.names_swapped
    assert not scorer.score(typo, record).complete
    assert scorer.score(typo, record).match_weight > 12


def test_expectation_maximisation_learns_what_agreement_means() -> None:
    data = Generator(3).dataset(clients=3000, cohort=600)
    records = [identity_of(HASHER, row) for row in data.enrollments]
    questions = [identity_of(HASHER, row) for row in data.cohort]
    model = estimate_model(questions, records, random_pairs=20_000)
    for name in ("first_name", "last_name", "dob"):
        parameters = model.fields[name]
        assert parameters.m[0] > 0.6, name  # the same person mostly agrees exactly
        assert parameters.u[0] < 0.05, name  # unrelated people rarely do
        assert parameters.weight(0) > 4 > parameters.weight(len(parameters.m) - 1), name
    assert 0 < model.prior < 1


def test_blocking_finds_nearly_every_true_link_with_few_pairs() -> None:
    data = Generator(4).dataset(clients=3000, cohort=600)
    records = [identity_of(HASHER, row) for row in data.enrollments]
    questions = [identity_of(HASHER, row) for row in data.cohort]
    pairs = candidate_pairs(questions, records)
    found = {(q, data.enrollments[r]["enrollment_id"]) for q, r in pairs}
    links = {(q, e) for q, ids in enumerate(data.links) for e in ids}
    assert len(found & links) / len(links) > 0.98
    assert len(pairs) < 5 * len(questions)


def _stay(entry: str, exit_: str | None = None, destination: int | None = None) -> MatchedStay:
    return MatchedStay(date.fromisoformat(entry), exit_ and date.fromisoformat(exit_), destination)


def test_reports_suppress_small_counts_zeros_and_small_complements() -> None:
    closed = date(2023, 1, 1)
    after = [CohortOutcome(closed, [_stay("2023-01-11", "2023-02-01", 116)]) for _ in range(15)]
    before = [CohortOutcome(closed, [_stay("2022-06-01")]) for _ in range(12)]
    unmatched = [CohortOutcome(closed, []) for _ in range(20)]
    report = outcome_report(after + before + unmatched, 11)
    assert report.matched == 27
    assert report.entered_before_closure == 12
    assert report.entered_after_closure == 15
    assert report.days_to_first_enrollment.median == 10
    assert report.exit_destinations["homeless"] == 15  # the other 12 have no exit: hidden
    assert report.exit_destinations["permanent"] is None  # a zero is a small count
    only_after = outcome_report(after + unmatched, 11)
    assert only_after.matched == 15
    assert only_after.entered_after_closure is None  # its complement (0 of 15) is small
    assert only_after.entered_before_closure is None  # 0
    assert only_after.exit_destinations["homeless"] is None  # all 15: the complement is 0
    nearly_all = outcome_report(after + unmatched[:4], 11)
    assert nearly_all.matched is None  # only 4 did not match
    assert nearly_all.entered_after_closure is None  # 15 would bound the hidden group
    assert nearly_all.days_to_first_enrollment.people is None


def test_a_one_person_report_shows_no_count_at_all() -> None:
    closed = date(2023, 1, 1)
    for person in (
        CohortOutcome(closed, [_stay("2022-06-01", "2022-07-01", 410)]),
        CohortOutcome(closed, []),
    ):
        report = outcome_report([person], 11)
        counts = [
            report.matched,
            report.matched_share,
            report.entered_before_closure,
            report.entered_after_closure,
            *report.days_to_first_enrollment.model_dump().values(),
            *report.exit_destinations.values(),
        ]
        assert counts == [None] * len(counts)  # a 0 beside nulls would say which one it was


def test_a_partition_hides_more_until_its_hidden_rest_is_not_small() -> None:
    closed = date(2023, 1, 1)
    permanent = [CohortOutcome(closed, [_stay("2023-02-01", "2023-03-01", 410)])] * 15
    temporary = [CohortOutcome(closed, [_stay("2023-02-01", "2023-03-01", 302)])] * 12
    unmatched = [CohortOutcome(closed, [])] * 30
    report = outcome_report(permanent + temporary + unmatched, 11)
    destinations = report.exit_destinations
    # Both pass the complement rule, but showing both would say the other three are zeros.
    assert destinations["permanent"] == 15
    assert destinations["temporary"] is None
    assert set(destinations.values()) == {15, None}


def test_shown_counts_are_rounded_so_one_person_more_rarely_shows() -> None:
    closed = date(2023, 1, 1)
    matched = [CohortOutcome(closed, [_stay("2023-02-01")])] * 21
    unmatched = [CohortOutcome(closed, [])] * 30
    report = outcome_report(matched + unmatched, 11, rounding=5)
    one_more = outcome_report([*matched, matched[0], *unmatched], 11, rounding=5)
    assert report.matched == one_more.matched == 20
    assert report.rounding == 5


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("size", [1, 3, 1000])
async def test_the_csv_reader_keeps_records_whole_across_chunks(size: int) -> None:
    text = (
        "PersonalID,LastName,EnrollmentID,EntryDate\n"
        'C1,"Line\nbreak, ""quoted""",E1,2023-01-01\n'
        "C2,Lée,E2\n"
    )
    rows = [row async for row in csv_rows(_chunks(text.encode(), size))]
    assert rows[0] == (
        2,
        {
            "client_id": "C1",
            "last_name": 'Line\nbreak, "quoted"',
            "enrollment_id": "E1",
            "entry_date": "2023-01-01",
        },
    )
    assert rows[1][0] == 4
    assert isinstance(rows[1][1], MalformedRecord)


async def test_the_csv_reader_refuses_what_is_not_utf8() -> None:
    with pytest.raises(CsvProblem, match="UTF-8"):
        _ = [
            row
            async for row in csv_rows(
                _chunks(b"PersonalID,EnrollmentID,LastName,EntryDate\nC1,E1,Jos\xe9,x\n", 4)
            )
        ]
