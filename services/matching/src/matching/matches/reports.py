"""The outcome report of a cohort, with every small count suppressed."""

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from matching.destinations import DESTINATIONS, DestinationCategory
from matching.matches.schemas import DaysToEnrollment, OutcomeReport, PersonErrorAt

K = TypeVar("K")


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
    """Small-cell suppression that does not leak through zeros, complements or sums.

    A count is shown only when it and its complement in its group (the group's total minus
    the count) are both at least ``min_count``: a zero is a small count like any other, and
    "all but two" singles out as much as "two". A count inside a hidden group is hidden (it
    would bound the group). Shown counts are rounded to a multiple of ``rounding``, so two
    reports whose cohorts differ by one person mostly answer the same figures.
    """

    def __init__(self, min_count: int, rounding: int = 1) -> None:
        self.min_count = min_count
        self.rounding = rounding

    def shows(self, value: int, group: int | None) -> bool:
        """Whether ``value`` of a group of ``group`` people may be shown (None: group hidden)."""
        return group is not None and min(value, group - value) >= self.min_count

    def count(self, value: int, group: int | None) -> int | None:
        return self.rounded(value) if self.shows(value, group) else None

    def rounded(self, value: int) -> int:
        """To the nearest multiple of ``rounding``, halves up."""
        return (value + self.rounding // 2) // self.rounding * self.rounding

    def partition(self, counts: Mapping[K, int], group: int | None) -> dict[K, int | None]:
        """Counts that split a group (the group may have more people than they sum to): each
        one as ``count`` says, then more hidden, smallest first, until what is hidden in all
        (the group minus the shown counts) is none or at least ``min_count``: otherwise the
        shown ones and the group's size would give a small hidden remainder away."""
        shown = {key: value for key, value in counts.items() if self.shows(value, group)}
        while shown and group is not None:
            hidden = group - sum(shown.values())
            if hidden >= self.min_count or (hidden == 0 and len(shown) == len(counts)):
                break
            del shown[min(shown, key=lambda key: shown[key])]
        return {key: self.rounded(shown[key]) if key in shown else None for key in counts}


def _latest_exit_category(stays: Sequence[MatchedStay]) -> DestinationCategory | None:
    exits = [stay for stay in stays if stay.exit_date and stay.exit_destination is not None]
    if not exits:
        return None
    latest = max(exits, key=lambda stay: (stay.exit_date, stay.entry_date))
    assert latest.exit_destination is not None
    return DESTINATIONS[latest.exit_destination].category


def _days_to_first_enrollment(
    matched: Sequence[CohortOutcome], people: int | None
) -> DaysToEnrollment:
    """Quartiles of the days to the first entry after closure, for ``people`` (shown or None)."""
    days = [
        min((stay.entry_date - person.closed_on).days for stay in after)
        for person in matched
        if (after := [stay for stay in person.stays if stay.entry_date >= person.closed_on])
    ]
    if people is None or len(days) < 2:
        return DaysToEnrollment(
            people=people, median=None, first_quartile=None, third_quartile=None
        )
    first, median, third = statistics.quantiles(days, n=4, method="inclusive")
    return DaysToEnrollment(
        people=people, median=median, first_quartile=first, third_quartile=third
    )


def outcome_report(
    cohort: Sequence[CohortOutcome],
    min_count: int,
    person_errors: Sequence[PersonErrorAt] = (),
    *,
    rounding: int = 1,
) -> OutcomeReport:
    """The report of the members that could be asked about; ``person_errors`` are the others
    (unreadable, or refused as probes), counted in the cohort and as not matched."""
    suppress = Suppressor(min_count, rounding)
    size = len(cohort) + len(person_errors)
    matched = [person for person in cohort if person.stays]
    matched_count = suppress.count(len(matched), size)
    group = len(matched) if matched_count is not None else None
    before = sum(
        any(stay.entry_date < person.closed_on for stay in person.stays) for person in matched
    )
    after = sum(
        any(stay.entry_date >= person.closed_on for stay in person.stays) for person in matched
    )
    after_count = suppress.count(after, group)
    categories = Counter(_latest_exit_category(person.stays) for person in matched)
    destinations = suppress.partition(
        {category: categories[category] for category in DestinationCategory}, group
    )
    return OutcomeReport(
        cohort_size=size,
        suppression_threshold=min_count,
        rounding=rounding,
        matched=matched_count,
        matched_share=None if matched_count is None else matched_count / size,
        days_to_first_enrollment=_days_to_first_enrollment(matched, after_count),
        entered_before_closure=suppress.count(before, group),
        entered_after_closure=after_count,
        exit_destinations={category.value: destinations[category] for category in destinations},
        person_errors=list(person_errors),
    )
