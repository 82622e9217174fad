"""Matching people against every organization's enrollments; the original's request; reports."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from common.auth import Principal
from common.schemas import field_error
from matching.audit.service import AuditService, Tally
from matching.destinations import DESTINATIONS
from matching.identities import question_identity
from matching.matches.comparison import Identity, swapped
from matching.matches.disclosure import agreement, disclosed_probability, disclosed_weight
from matching.matches.model import FellegiSunterModel
from matching.matches.reports import CohortOutcome, MatchedStay, outcome_report
from matching.matches.repository import BlockingQuestion, CandidateRepository
from matching.matches.schemas import (
    FieldMessage,
    MatchOut,
    OriginalMatch,
    OutcomeReport,
    PersonError,
    PersonQuery,
    PersonResult,
    ReturnUserInfoResponse,
)
from matching.matches.scoring import BlockingValues, Scored, Scorer
from matching.probes.service import ProbeGuard, Refusal
from matching.schemas import DestinationOut
from matching.ssn import SsnHasher, SsnHashes


@dataclass(frozen=True)
class Found:
    """One enrollment found for a question (a candidate row) and its score."""

    row: Any
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
    max_people: int
    report_min_count: int
    report_rounding: int


def record_identity(row: Any) -> Identity:
    """The identity of a candidate enrollment row, SSN hashes as stored."""
    ssn = None
    if row.ssn_last4_hash is not None:
        ssn = SsnHashes(full=row.ssn_hash, last4=row.ssn_last4_hash, masked=row.ssn_masked_hashes)
    return Identity(row.first_key, row.last_key, row.dob, ssn)


def blocking_questions(identities: Sequence[Identity | None]) -> list[BlockingQuestion]:
    """Each question's blocking values, in both name orders when it has a first name (None: a
    question not to search for)."""
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


def person_error(refusal: Refusal) -> PersonError:
    return PersonError(
        title="Too many variants of one person",
        detail="This caller asked about this person with more different identifiers than "
        "allowed within the probe window; the person was not searched for",
        errors=[FieldMessage(field=name, message=message) for name, message in refusal.fields],
    )


def tally(matches: Sequence[PersonMatches]) -> Tally:
    return Tally(
        people=len(matches),
        matched=sum(bool(person.complete or person.partial) for person in matches),
        complete_matches=sum(len(person.complete) for person in matches),
        partial_matches=sum(len(person.partial) for person in matches),
        probes_refused=sum(person.refusal is not None for person in matches),
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
        self.candidates = CandidateRepository(session)
        self.audit = AuditService(session)
        self.hasher = hasher
        self.scorer = Scorer(model)
        self.rules = rules
        self.guard = guard

    async def find(self, people: Sequence[PersonQuery], caller: Principal) -> list[PersonMatches]:
        """Complete and partial matches of each person, in the order given; every question
        passes the probe guard first (a refused one is not searched)."""
        if len(people) > self.rules.max_people:
            raise field_error(
                "people", f"at most {self.rules.max_people} people per request; got {len(people)}"
            )
        identities = [
            question_identity(
                self.hasher,
                first_name=person.first_name,
                last_name=person.last_name,
                dob=person.dob,
                ssn=person.ssn,
            )
            for person in people
        ]
        refusals = await self.guard.screen(caller.subject, identities)
        admitted = [
            identity if number not in refusals else None
            for number, identity in enumerate(identities)
        ]
        rows = await self.candidates.candidates(blocking_questions(admitted))
        # Scoring is CPU work: a thread keeps the event loop answering meanwhile.
        matches = await asyncio.to_thread(self._classify, identities, rows)
        for number, refusal in refusals.items():
            matches[number].refusal = refusal
        return matches

    def _classify(self, identities: Sequence[Identity], rows: Sequence[Any]) -> list[PersonMatches]:
        matches = [PersonMatches() for _ in identities]
        for row in rows:
            scored = self.scorer.score(identities[row.number], record_identity(row))
            if scored.complete:
                matches[row.number].complete.append(Found(row, scored))
            elif scored.match_weight >= self.rules.partial_min_weight:
                matches[row.number].partial.append(Found(row, scored))
        for person in matches:
            person.complete.sort(key=lambda found: (found.row.organization, found.row.entry_date))
            person.partial.sort(key=lambda found: -found.scored.match_weight)
            del person.partial[self.rules.max_partial_matches :]
            person.partial.sort(key=lambda found: -disclosed_weight(found.scored))  # as shown
        return matches

    async def matches(self, people: Sequence[PersonQuery], caller: Principal) -> list[PersonResult]:
        found = await self.find(people, caller)
        await self.audit.record(caller, "matches", tally(found))
        model = self.scorer.model
        return [
            PersonResult(
                complete_matches=[match_out(item, model) for item in person.complete],
                partial_matches=[match_out(item, model) for item in person.partial],
                error=None if person.refusal is None else person_error(person.refusal),
            )
            for person in found
        ]

    async def return_user_info(
        self, last_names: Sequence[str], ssns: Sequence[str], caller: Principal
    ) -> ReturnUserInfoResponse:
        """The original's question (last name and SSN of each person) in the original's shape:
        every person's matches in one complete and one partial list."""
        people = [
            PersonQuery(last_name=last_name, ssn=ssn)
            for last_name, ssn in zip(last_names, ssns, strict=True)
        ]
        found = await self.find(people, caller)
        await self.audit.record(caller, "return_user_info", tally(found))
        return ReturnUserInfoResponse(
            complete_matches=[original_match(item) for p in found for item in p.complete],
            partial_matches=[original_match(item) for p in found for item in p.partial],
            refused=[number for number, person in enumerate(found) if person.refusal],
        )

    async def outcome_report(
        self, people: Sequence[PersonQuery], closed_on: Sequence[Any], caller: Principal
    ) -> OutcomeReport:
        found = await self.find(people, caller)
        await self.audit.record(caller, "outcome_report", tally(found))
        cohort = [
            CohortOutcome(
                closed,
                [
                    MatchedStay(item.row.entry_date, item.row.exit_date, item.row.exit_destination)
                    for item in person.complete + person.partial
                ],
            )
            for person, closed in zip(found, closed_on, strict=True)
            if person.refusal is None
        ]
        return outcome_report(
            cohort,
            self.rules.report_min_count,
            rounding=self.rules.report_rounding,
            refused=len(found) - len(cohort),
        )
