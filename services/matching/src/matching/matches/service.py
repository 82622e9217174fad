"""Matching people against every organization's enrollments; the original's request; reports."""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

from sqlmodel.ext.asyncio.session import AsyncSession

from common.auth import Principal
from common.database import allow_bulk_statements
from matching.audit.service import AuditService, Tally
from matching.config import Settings
from matching.destinations import DESTINATIONS
from matching.identities import question_identity
from matching.matches.comparison import Identity, swapped
from matching.matches.disclosure import agreement, disclosed_probability, disclosed_weight
from matching.matches.fellegi_sunter import FellegiSunterModel
from matching.matches.questions import Question, question
from matching.matches.reports import CohortOutcome, MatchedStay, outcome_report
from matching.matches.repository import BlockingQuestion, CandidateRepository, CandidateRow
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
from matching.matches.scoring import BlockingValues, Scored, Scorer
from matching.probes.service import ProbeGuard, ProbeLimits, Refusal, utc_now
from matching.schemas import DestinationOut
from matching.ssn import SsnHasher, SsnHashes


@dataclass(frozen=True)
class Found:
    """One enrollment found for a question (a candidate row) and its score."""

    row: CandidateRow
    scored: Scored


@dataclass
class PersonMatches:
    complete: list[Found] = field(default_factory=list)
    partial: list[Found] = field(default_factory=list)
    refusal: Refusal | None = None
    """Set when the probe guard refused the question: then nothing was searched for it."""


@dataclass(frozen=True)
class MatchingRules:
    partial_min_weight: float
    max_partial_matches: int
    report_min_count: int
    report_rounding: int


def record_identity(row: CandidateRow) -> Identity:
    """The identity of a candidate enrollment row, SSN hashes as stored."""
    ssn = None
    if row.ssn_last4_hash is not None:
        ssn = SsnHashes(full=row.ssn_hash, last4=row.ssn_last4_hash, masked=row.ssn_masked_hashes)
    return Identity(row.first_key, row.last_key, row.dob, ssn)


def blocking_questions(identities: Sequence[Identity | None]) -> list[BlockingQuestion]:
    """Each question's blocking values, in both name orders when it has a first name (None:
    a person that cannot be asked about)."""
    questions = []
    for number, identity in enumerate(identities):
        if identity is None:
            continue
        forms = (identity, swapped(identity)) if identity.first_key else (identity,)
        for form in forms:
            values = BlockingValues.of(form)
            questions.append(
                BlockingQuestion(
                    number, values.first_code, values.last_code, values.dob, values.ssn_last4
                )
            )
    return questions


def match_out(found: Found, model: FellegiSunterModel) -> MatchOut:
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
        probability=disclosed_probability(found.scored, model),
        agreement=agreement(found.scored),
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


def stay_order(found: Found) -> tuple[str, date, str]:
    """Organization, then entry date, then enrollment id: one order whatever the rows' order."""
    row = found.row
    return (row.organization, row.entry_date, row.enrollment_id)


def tally(matches: Sequence[PersonMatches]) -> Tally:
    return Tally(
        people=len(matches),
        matched=sum(bool(person.complete or person.partial) for person in matches),
        complete_matches=sum(len(person.complete) for person in matches),
        partial_matches=sum(len(person.partial) for person in matches),
        probes_refused=sum(person.refusal is not None for person in matches),
    )


@cache
def refusal_error(refusal: Refusal) -> PersonError:
    """One error per kind of refusal: a probe's thousands of refusals share it."""
    return PersonError(
        title="Too many variants of one person",
        detail="Asked with more different identifiers than allowed; not searched for",
        errors=[FieldMessage(field=name, message=message) for name, message in refusal.fields],
    )


class MatchingService:
    def __init__(
        self,
        session: AsyncSession,
        hasher: SsnHasher,
        model: FellegiSunterModel,
        rules: MatchingRules,
        guard: ProbeGuard,
    ) -> None:
        self.session = session
        self.candidates = CandidateRepository(session)
        self.audit = AuditService(session)
        self.hasher = hasher
        self.scorer = Scorer(model)
        self.rules = rules
        self.guard = guard

    def _identity(self, asked: Question) -> Identity | None:
        person = asked.person
        if person is None:
            return None
        return question_identity(
            self.hasher,
            first_name=person.first_name,
            last_name=person.last_name,
            dob=person.dob,
            ssn=person.ssn,
        )

    async def find(self, questions: Sequence[Question], caller: Principal) -> list[PersonMatches]:
        """Complete and partial matches of each person, in the order given (none for a person
        that cannot be asked about). Every question passes the probe guard first, here and
        only here, so whatever asks (a request, a job) is counted alike; a refused question is
        not searched for."""
        # Hashing and scoring are CPU work: a thread keeps the event loop answering meanwhile.
        identities = await asyncio.to_thread(lambda: [self._identity(q) for q in questions])
        refusals = await self.guard.screen(caller.subject, identities)
        admitted = [None if number in refusals else q for number, q in enumerate(identities)]
        await allow_bulk_statements(self.session)
        rows = await self.candidates.candidates(blocking_questions(admitted))
        matches = await asyncio.to_thread(self._classify, admitted, rows)
        for number, refusal in refusals.items():
            matches[number].refusal = refusal
        return matches

    def _classify(
        self, identities: Sequence[Identity | None], rows: Sequence[CandidateRow]
    ) -> list[PersonMatches]:
        matches = [PersonMatches() for _ in identities]
        for row in rows:
            identity = identities[row.number]
            assert identity is not None
            scored = self.scorer.score(identity, record_identity(row))
            if scored.complete:
                matches[row.number].complete.append(Found(row, scored))
            elif scored.match_weight >= self.rules.partial_min_weight:
                matches[row.number].partial.append(Found(row, scored))
        for person in matches:
            person.complete.sort(key=stay_order)
            # The stays' order first, so that equal weights keep it whatever the rows' order.
            person.partial.sort(key=stay_order)
            person.partial.sort(key=lambda found: -found.scored.match_weight)
            del person.partial[self.rules.max_partial_matches :]
            person.partial.sort(key=lambda found: -disclosed_weight(found.scored))  # as shown
        return matches

    async def results(
        self, people: Sequence[object], caller: Principal
    ) -> tuple[list[PersonResult], Tally]:
        """Each person's matches, or their own error, and the counts, without an audit row (a
        job records one when it is done)."""
        questions = await asyncio.to_thread(lambda: [question(raw) for raw in people])
        found = await self.find(questions, caller)
        model = self.scorer.model
        return await asyncio.to_thread(person_results, questions, found, model), tally(found)

    async def matches(self, people: Sequence[object], caller: Principal) -> list[PersonResult]:
        """Each person's matches, or their own error; every other person is answered."""
        results, counts = await self.results(people, caller)
        await self.audit.record(caller, "matches", counts)
        return results

    async def return_user_info(
        self, last_names: Sequence[object], ssns: Sequence[object], caller: Principal
    ) -> ReturnUserInfoResponse:
        """The original's question (last name and SSN of each person) in the original's shape:
        every person's matches in one complete and one partial list, and the people that could
        not be asked about."""
        pairs = zip(last_names, ssns, strict=True)
        people = [
            {key: value for key, value in (("last_name", last), ("ssn", ssn)) if value is not None}
            for last, ssn in pairs
        ]
        questions = await asyncio.to_thread(lambda: [question(raw) for raw in people])
        found = await self.find(questions, caller)
        await self.audit.record(caller, "return_user_info", tally(found))
        return ReturnUserInfoResponse(
            complete_matches=[original_match(item) for p in found for item in p.complete],
            partial_matches=[original_match(item) for p in found for item in p.partial],
            person_errors=person_errors(questions, found),
        )

    async def cohort_outcomes(
        self, cohort: Sequence[object], caller: Principal
    ) -> tuple[list[CohortOutcome | PersonError], Tally]:
        """Each member's outcome, or why they were not asked about, and the counts, without an
        audit row (a job records one when it is done)."""
        questions = await asyncio.to_thread(lambda: [question(raw, CohortMember) for raw in cohort])
        found = await self.find(questions, caller)
        members: list[CohortOutcome | PersonError] = []
        for person, asked in zip(found, questions, strict=True):
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
        return members, tally(found)

    async def outcome_report(self, cohort: Sequence[object], caller: Principal) -> OutcomeReport:
        """What became of a cohort; members that cannot be asked about count as not matched."""
        members, counts = await self.cohort_outcomes(cohort, caller)
        await self.audit.record(caller, "outcome_report", counts)
        return cohort_report(members, self.rules)


def cohort_report(
    members: Sequence[CohortOutcome | PersonError], rules: MatchingRules
) -> OutcomeReport:
    """The report of a cohort whose members are outcomes or errors, in cohort order."""
    outcomes = [member for member in members if isinstance(member, CohortOutcome)]
    errors = [
        PersonErrorAt(index=index, error=member)
        for index, member in enumerate(members)
        if isinstance(member, PersonError)
    ]
    return outcome_report(outcomes, rules.report_min_count, errors, rounding=rules.report_rounding)


def person_error(asked: Question, person: PersonMatches) -> PersonError | None:
    """Why a person was not answered: not a person that can be asked about, or refused."""
    if asked.error is not None:
        return asked.error
    return None if person.refusal is None else refusal_error(person.refusal)


def person_errors(
    questions: Sequence[Question], found: Sequence[PersonMatches]
) -> list[PersonErrorAt]:
    errors = (person_error(asked, person) for asked, person in zip(questions, found, strict=True))
    return [
        PersonErrorAt(index=index, error=error)
        for index, error in enumerate(errors)
        if error is not None
    ]


def person_results(
    questions: Sequence[Question], found: Sequence[PersonMatches], model: FellegiSunterModel
) -> list[PersonResult]:
    return [
        PersonResult(
            complete_matches=[match_out(item, model) for item in person.complete],
            partial_matches=[match_out(item, model) for item in person.partial],
            warnings=asked.warnings,
            error=person_error(asked, person),
        )
        for asked, person in zip(questions, found, strict=True)
    ]


@cache
def _default_model() -> FellegiSunterModel:
    return FellegiSunterModel.default()


def matching_service(
    session: AsyncSession,
    settings: Settings,
    *,
    now: Callable[[], datetime] = utc_now,
    guard: type[ProbeGuard] = ProbeGuard,
) -> MatchingService:
    """The matching service of a unit of work: a request's, or a job's step (``guard``
    ``JobStepGuard``)."""
    rules = MatchingRules(
        partial_min_weight=settings.partial_min_weight,
        max_partial_matches=settings.max_partial_matches,
        report_min_count=settings.report_min_count,
        report_rounding=settings.report_rounding,
    )
    hasher = SsnHasher(settings.ssn_key_bytes())
    probes = guard(session, hasher, ProbeLimits.of(settings), now)
    return MatchingService(session, hasher, _default_model(), rules, probes)
