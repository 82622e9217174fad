"""The answers' shapes, made from what matching found: the routes answer them, and a job stores
them as it will answer them (matching/jobs/answers.py)."""

from collections.abc import Sequence
from functools import cache

from matching.destinations import DESTINATIONS
from matching.linkage.service import LinkageModel
from matching.matches.disclosure import agreement, disclosed_probability, disclosed_weight
from matching.matches.questions import Question
from matching.matches.reports import CohortOutcome, MatchedStay, outcome_report
from matching.matches.schemas import (
    CohortMember,
    FieldMessage,
    MatchOut,
    OriginalMatch,
    OutcomeReport,
    PersonError,
    PersonErrorAt,
    PersonResult,
    ReturnUserInfoResponse,
)
from matching.matches.service import Answers, Found, MatchingRules, PersonMatches
from matching.probes.service import Refusal
from matching.schemas import DestinationOut


def match_out(found: Found, linkage: LinkageModel) -> MatchOut:
    row = found.row
    return MatchOut(
        organization=row.organization,
        client_id=row.client_id,
        enrollment_id=row.enrollment_id,
        first_name=row.first_name,
        last_name=row.last_name,
        enroll_date=row.entry_date,
        exit_date=row.exit_date,
        income_at_entry=row.income_at_entry,
        income_at_exit=row.income_at_exit,
        exit_destination=DestinationOut.of(row.exit_destination),
        match_weight=round(disclosed_weight(found.scored), 3),
        probability=disclosed_probability(found.scored, linkage.model),
        agreement=agreement(found.scored),
        model_version=linkage.version,
    )


def original_match(found: Found) -> OriginalMatch:
    row = found.row
    destination = DESTINATIONS.get(row.exit_destination) if row.exit_destination else None
    return OriginalMatch(
        first_name=row.first_name,
        last_name=row.last_name,
        enroll_date=row.entry_date,
        exit_date=row.exit_date,
        income_at_entry=None if row.income_at_entry is None else float(row.income_at_entry),
        income_at_exit=None if row.income_at_exit is None else float(row.income_at_exit),
        exit_destination=destination.label if destination else None,
    )


@cache
def refusal_error(refusal: Refusal) -> PersonError:
    """One error per kind of refusal: a probe's thousands of refusals share it."""
    return PersonError(
        title="Too many variants of one person",
        detail="Asked with more different identifiers than allowed; not searched for",
        errors=[FieldMessage(field=name, message=message) for name, message in refusal.fields],
    )


def person_error(asked: Question, person: PersonMatches) -> PersonError | None:
    """Why a person was not answered: not a person that can be asked about, or refused."""
    if asked.error is not None:
        return asked.error
    return None if person.refusal is None else refusal_error(person.refusal)


def person_errors(answers: Answers) -> list[PersonErrorAt]:
    errors = (
        person_error(asked, person)
        for asked, person in zip(answers.questions, answers.found, strict=True)
    )
    return [
        PersonErrorAt(index=index, error=error)
        for index, error in enumerate(errors)
        if error is not None
    ]


def person_results(answers: Answers) -> list[PersonResult]:
    """Each person's matches, or their own error, in the order asked."""
    return [
        PersonResult(
            complete_matches=[match_out(item, answers.linkage) for item in person.complete],
            partial_matches=[match_out(item, answers.linkage) for item in person.partial],
            warnings=asked.warnings,
            error=person_error(asked, person),
        )
        for asked, person in zip(answers.questions, answers.found, strict=True)
    ]


def original_answer(answers: Answers) -> ReturnUserInfoResponse:
    """The original's shape: every person's matches in one complete and one partial list, and
    the people that could not be asked about."""
    return ReturnUserInfoResponse(
        complete_matches=[original_match(item) for p in answers.found for item in p.complete],
        partial_matches=[original_match(item) for p in answers.found for item in p.partial],
        person_errors=person_errors(answers),
    )


def cohort_members(answers: Answers) -> list[CohortOutcome | PersonError]:
    """Each member's outcome, or why they were not asked about, in cohort order."""
    members: list[CohortOutcome | PersonError] = []
    for person, asked in zip(answers.found, answers.questions, strict=True):
        error = person_error(asked, person)
        if error is not None or not isinstance(asked.person, CohortMember):
            assert error is not None  # a question without a person has its error
            members.append(error)
            continue
        stays = [
            MatchedStay(item.row.entry_date, item.row.exit_date, item.row.exit_destination)
            for item in person.complete + person.partial
        ]
        members.append(CohortOutcome(asked.person.account_closed_on, stays))
    return members


def cohort_report(
    members: Sequence[CohortOutcome | PersonError], rules: MatchingRules
) -> OutcomeReport:
    """The report of a cohort whose members are outcomes or errors, in cohort order; members
    that cannot be asked about count as not matched."""
    outcomes = [member for member in members if isinstance(member, CohortOutcome)]
    errors = [
        PersonErrorAt(index=index, error=member)
        for index, member in enumerate(members)
        if isinstance(member, PersonError)
    ]
    return outcome_report(outcomes, rules.report_min_count, errors, rounding=rules.report_rounding)
