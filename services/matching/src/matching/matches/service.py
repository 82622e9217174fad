"""Matching people against every organization's enrollments; the original's request; reports."""

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from common.auth import Principal
from common.sql import Transaction
from matching.audit.service import AuditService, Tally
from matching.config import Settings
from matching.identities import question_identity
from matching.linkage.service import LinkageModel, LinkageService
from matching.matches.comparison import Identity, Levels, swapped
from matching.matches.disclosure import disclosed_weight
from matching.matches.questions import Question, question
from matching.matches.repository import BlockingQuestion, CandidateRepository, CandidateRow
from matching.matches.schemas import CohortMember, PersonQuery
from matching.matches.scoring import BlockingValues, Scored, Scorer
from matching.offload import INLINE_PEOPLE, INLINE_ROWS, off_the_loop
from matching.probes.service import ProbeGuard, ProbeLimits, Refusal, UnitsOfWork, utc_now
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
class Answers:
    """What a batch asked and what was found: each person as asked, and their matches, in the
    order asked; ``linkage`` weighed them."""

    questions: list[Question]
    found: list[PersonMatches]
    linkage: LinkageModel

    def tally(self) -> Tally:
        found = self.found
        return Tally(
            people=len(found),
            matched=sum(bool(person.complete or person.partial) for person in found),
            complete_matches=sum(len(person.complete) for person in found),
            partial_matches=sum(len(person.partial) for person in found),
            probes_refused=sum(person.refusal is not None for person in found),
        )


@dataclass(frozen=True)
class MatchingRules:
    partial_min_weight: float
    partial_min_probability: float
    max_partial_matches: int
    report_min_count: int
    report_rounding: int

    def partial_threshold(self, people: int) -> float:
        """The least weight of a partial match among ``people``: a question is about one of
        them, so its evidence must overcome prior odds of 1 to people - 1 up to
        ``partial_min_probability``, and never fall under ``partial_min_weight``."""
        odds = self.partial_min_probability / (1 - self.partial_min_probability)
        needed = math.log2(max(people - 1, 1) * odds)
        return max(self.partial_min_weight, needed)


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


def stay_order(found: Found) -> tuple[str, date, str]:
    """Organization, then entry date, then enrollment id: one order whatever the rows' order."""
    row = found.row
    return (row.organization, row.entry_date, row.enrollment_id)


BULK_PEOPLE = 1
"""More people than this in one search is bulk work: the bulk statement timeout."""


class MatchingService:
    def __init__(
        self,
        transaction: Transaction,
        hasher: SsnHasher,
        rules: MatchingRules,
        guard: ProbeGuard,
    ) -> None:
        self.transaction = transaction
        self.candidates = CandidateRepository(transaction)
        self.audit = AuditService(transaction)
        self.linkage = LinkageService(transaction)
        self.hasher = hasher
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

    async def find(
        self, questions: Sequence[Question], caller: Principal
    ) -> tuple[list[PersonMatches], LinkageModel]:
        """Complete and partial matches of each person, in the order given (none for a person
        that cannot be asked about), and the model that weighed them. Every question passes the
        probe guard first, here and only here, so whatever asks (a request, a job) is counted
        alike; a refused question is not searched for."""
        # Hashing and scoring are CPU work: a batch's go to a thread (offload.py).
        identities = await off_the_loop(
            lambda: [self._identity(q) for q in questions], len(questions), INLINE_PEOPLE
        )
        refusals = await self.guard.screen(caller.subject, identities)
        admitted = [None if number in refusals else q for number, q in enumerate(identities)]
        if len(questions) > BULK_PEOPLE:
            await self.transaction.allow_bulk_statements()
        rows = await self.candidates.candidates(blocking_questions(admitted))
        linkage, frequencies = await self.linkage.current(admitted)
        scorer = Scorer(linkage.model, frequencies)
        threshold = self.rules.partial_threshold(linkage.people)
        matches, compared = await off_the_loop(
            lambda: self._classify(scorer, threshold, admitted, rows), len(rows), INLINE_ROWS
        )
        await self.linkage.remember(compared)
        for number, refusal in refusals.items():
            matches[number].refusal = refusal
        return matches, linkage

    def _classify(
        self,
        scorer: Scorer,
        threshold: float,
        identities: Sequence[Identity | None],
        rows: Sequence[CandidateRow],
    ) -> tuple[list[PersonMatches], Counter[Levels]]:
        """Each person's matches, and the pairs compared counted by their levels (what the
        model learns m from)."""
        matches = [PersonMatches() for _ in identities]
        compared: Counter[Levels] = Counter()
        for row in rows:
            identity = identities[row.number]
            assert identity is not None
            scored = scorer.score(identity, record_identity(row))
            compared[scored.levels] += 1
            if scored.complete:
                matches[row.number].complete.append(Found(row, scored))
            elif scored.match_weight >= threshold:
                matches[row.number].partial.append(Found(row, scored))
        for person in matches:
            person.complete.sort(key=stay_order)
            # The stays' order first, so that equal weights keep it whatever the rows' order.
            person.partial.sort(key=stay_order)
            person.partial.sort(key=lambda found: -found.scored.match_weight)
            del person.partial[self.rules.max_partial_matches :]
            person.partial.sort(key=lambda found: -disclosed_weight(found.scored))  # as shown
        return matches, compared

    async def answers(
        self, people: Sequence[object], caller: Principal, asked: type[PersonQuery] = PersonQuery
    ) -> Answers:
        """Each person as asked (an ``asked`` each) and their matches, without an audit row (a
        job records one when it is done)."""
        questions = await off_the_loop(
            lambda: [question(raw, asked) for raw in people], len(people), INLINE_PEOPLE
        )
        found, linkage = await self.find(questions, caller)
        return Answers(questions, found, linkage)

    async def matches(self, people: Sequence[object], caller: Principal) -> Answers:
        """Each person's matches, or why they were not asked about; every other person is
        answered."""
        answers = await self.answers(people, caller)
        await self.audit.record(caller, "matches", answers.tally())
        return answers

    async def return_user_info(
        self, last_names: Sequence[object], ssns: Sequence[object], caller: Principal
    ) -> Answers:
        """The original's question: the last name and SSN of each person."""
        pairs = zip(last_names, ssns, strict=True)
        people = [
            {key: value for key, value in (("last_name", last), ("ssn", ssn)) if value is not None}
            for last, ssn in pairs
        ]
        answers = await self.answers(people, caller)
        await self.audit.record(caller, "return_user_info", answers.tally())
        return answers

    async def outcome_report(self, cohort: Sequence[object], caller: Principal) -> Answers:
        """The cohort's members (account closure dates) and their matches, for its report."""
        answers = await self.answers(cohort, caller, CohortMember)
        await self.audit.record(caller, "outcome_report", answers.tally())
        return answers


def matching_service(
    transaction: Transaction,
    settings: Settings,
    *,
    now: Callable[[], datetime] = utc_now,
    guard: type[ProbeGuard] = ProbeGuard,
    committed: UnitsOfWork | None = None,
) -> MatchingService:
    """The matching service of a unit of work: a request's (its guard's screening
    ``committed`` at once), or a job's step (``guard`` ``JobStepGuard``, in the step's)."""
    rules = MatchingRules(
        partial_min_weight=settings.partial_min_weight,
        partial_min_probability=settings.partial_min_probability,
        max_partial_matches=settings.max_partial_matches,
        report_min_count=settings.report_min_count,
        report_rounding=settings.report_rounding,
    )
    hasher = SsnHasher(settings.ssn_key_bytes())
    probes = guard(transaction, hasher, ProbeLimits.of(settings), now, committed=committed)
    return MatchingService(transaction, hasher, rules, probes)
