"""The outcome report of a cohort, with every small count suppressed."""

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from matching.destinations import DESTINATIONS, DestinationCategory
from matching.matches.schemas import DaysToEnrollment, OutcomeReport, PersonErrorAt


@dataclass(frozen=True)
class MatchedStay:
    entry_date: date
    exit_date: date | None
    exit_destination: int | None


@dataclass(frozen=True)
class CohortOutcome:
    """One cohort member: when the account closed, and the enrollments matched to them."""

    closed_on: date
    stays: Sequence[MatchedStay]


class Suppressor:
    """Counts from 1 to ``min_count - 1`` become None, so no small group can be singled out."""

    def __init__(self, min_count: int) -> None:
        self.min_count = min_count

    def count(self, value: int) -> int | None:
        return value if value == 0 or value >= self.min_count else None


def _latest_exit_category(stays: Sequence[MatchedStay]) -> DestinationCategory | None:
    exits = [stay for stay in stays if stay.exit_date and stay.exit_destination is not None]
    if not exits:
        return None
    latest = max(exits, key=lambda stay: (stay.exit_date, stay.entry_date))
    assert latest.exit_destination is not None
    return DESTINATIONS[latest.exit_destination].category


def _days_to_first_enrollment(
    matched: Sequence[CohortOutcome], suppress: Suppressor
) -> DaysToEnrollment:
    days = [
        min((stay.entry_date - person.closed_on).days for stay in after)
        for person in matched
        if (after := [stay for stay in person.stays if stay.entry_date >= person.closed_on])
    ]
    if suppress.count(len(days)) is None or len(days) < 2:
        return DaysToEnrollment(
            people=suppress.count(len(days)), median=None, first_quartile=None, third_quartile=None
        )
    first, median, third = statistics.quantiles(days, n=4, method="inclusive")
    return DaysToEnrollment(
        people=len(days), median=median, first_quartile=first, third_quartile=third
    )


def outcome_report(
    cohort: Sequence[CohortOutcome], min_count: int, person_errors: Sequence[PersonErrorAt] = ()
) -> OutcomeReport:
    """The report of the members that could be asked about; ``person_errors`` are the others,
    counted in the cohort and as not matched."""
    suppress = Suppressor(min_count)
    size = len(cohort) + len(person_errors)
    matched = [person for person in cohort if person.stays]
    unmatched = size - len(matched)
    # A small unmatched group is as telling as a small matched one.
    matched_count = suppress.count(len(matched)) if suppress.count(unmatched) is not None else None
    before = sum(
        any(stay.entry_date < person.closed_on for stay in person.stays) for person in matched
    )
    after = sum(
        any(stay.entry_date >= person.closed_on for stay in person.stays) for person in matched
    )
    categories = Counter(_latest_exit_category(person.stays) for person in matched)
    return OutcomeReport(
        cohort_size=size,
        suppression_threshold=min_count,
        matched=matched_count,
        matched_share=None if matched_count is None else matched_count / size,
        days_to_first_enrollment=_days_to_first_enrollment(matched, suppress),
        entered_before_closure=suppress.count(before),
        entered_after_closure=suppress.count(after),
        exit_destinations={
            category.value: suppress.count(categories[category]) for category in DestinationCategory
        },
        person_errors=list(person_errors),
    )
