"""The lean twin of matching: ``POST /matching/matches`` with one person.

It sends what the service sends for one person, in the same two transactions (the probe guard's
work is committed before the search, as ``ProbeGuard.screen`` commits it, so that a caller's
questions count although the request then fails and the caller's lock is not held meanwhile):

1. the guard: the caller's advisory lock; its budgets checked and this request recorded in one
   statement (``_CHARGE``: the running totals of its newest request and of the oldest within
   the hour and the day); the variants known for the question's keys read and the admitted
   ones recorded; COMMIT;
2. the candidate search; the newest linkage model (its parameters only when it is not the one
   held already) with the frequencies of the question's names; the comparison patterns
   remembered; the audit row; COMMIT.

Every statement is the service's own ``Sql`` constant, imported from its repositories and sent
as the service's driver sends it (``Sql.text`` and ``Sql.arguments``), so neither can drift;
``services/matching/tests/test_lean_twin.py`` checks that both send the same statements and
give the same answers. The domain work is the service's own, called directly: the question's
identity and SSN hashes (``question_identity``, ``SsnHasher``), the guard's keys and admission
(``ProbeGuard``'s checks, ``_admit``), the statements' parameters (``search_parameters``,
``current_parameters``, ``remembered``, ``audit_row``), the rows read (``candidate_rows``,
``newest_model``), the model held between requests (``ModelCache``), the scoring, the partial
threshold for the people held and the split into complete and partial matches (``Scorer``,
``MatchingRules``, ``MatchingService._classify``) and the answer's shape and rendering
(``person_results``, ``model_dump_json``): the twin differs in what carries the request (no ORM,
unit of work, middleware, logging, metrics or streamed body), not in the domain's work. Only the
happy path: a refused question is answered with its error as the service answers it, a spent
budget is a bare 429.
"""

from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, Field

from bench.lean import Claims, Pool, lean_app
from common.auth import Principal
from common.sql import Sql, _decode_json
from matching.audit.repository import _ADD as AUDIT
from matching.audit.service import audit_row
from matching.config import Settings
from matching.identities import question_identity
from matching.linkage.repository import (
    _CURRENT_SQL,
    _REMEMBER_SQL,
    current_parameters,
    newest_model,
    remembered,
)
from matching.linkage.service import LinkageModel, ModelCache, name_keys, starting_model
from matching.matches.comparison import Identity
from matching.matches.questions import Question
from matching.matches.repository import (
    _CANDIDATES_SQL,
    CandidateRow,
    candidate_rows,
    search_parameters,
)
from matching.matches.responses import person_results
from matching.matches.schemas import MatchResults, PersonQuery
from matching.matches.scoring import NameFrequencies, Scorer
from matching.matches.service import Answers, MatchingService, blocking_questions, matching_service
from matching.probes.repository import _CHARGE, _LOCK_CALLER, _RECORD_VARIANTS, _VARIANTS
from matching.probes.service import DAY, HOUR, Refusal, _admit, utc_now

ASKERS = {"utility", "admin"}


async def _send(connection: asyncpg.Connection, method: str, statement: Sql, **values: Any) -> Any:
    """``statement`` as the service's driver sends it (``common.sql.Transaction``)."""
    return await getattr(connection, method)(statement.text, *statement.arguments(values))


class MatchIn(BaseModel):
    people: list[PersonQuery] = Field(min_length=1, max_length=1)


class Matching:
    """The service's domain objects, configured from the same MATCHING_* variables; they never
    touch the transaction they would hold."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.service: MatchingService = matching_service(None, settings)  # type: ignore[arg-type]
        self.guard = self.service.guard
        self.limits = self.guard.limits
        self.models = ModelCache()

    async def screen(
        self, connection: asyncpg.Connection, subject: str, identity: Identity
    ) -> Refusal | None:
        """``ProbeGuard.screen`` for one question: its refusal, or None when admitted."""
        await _send(connection, "execute", _LOCK_CALLER, name=f"matching.probes:{subject}")
        now = utc_now()
        charged = await _send(
            connection,
            "fetchrow",
            _CHARGE,
            subject=subject,
            people=1,
            at=now,
            hour_since=now - HOUR,
            day_since=now - DAY,
            per_hour=self.limits.people_per_hour,
            per_day=self.limits.people_per_day,
        )
        if not charged["recorded"]:
            raise HTTPException(429, "The caller's budget is spent")
        checks = [self.guard._checks(identity, cache(self.guard.hasher.tag))]
        known: defaultdict[bytes, set[bytes]] = defaultdict(set)
        if keys := sorted({check.person_key for check in checks[0]}):
            since = now - self.limits.window
            found = await _send(
                connection, "fetch", _VARIANTS, subject=subject, person_keys=keys, since=since
            )
            for row in found:
                known[row["person_key"]].add(row["variant"])
        refusals, admitted = _admit(checks, known)
        if pairs := sorted(set(admitted)):
            await _send(
                connection,
                "execute",
                _RECORD_VARIANTS,
                subject=subject,
                person_keys=[key for key, _ in pairs],
                variants=[variant for _, variant in pairs],
                at=now,
            )
        return refusals.get(0)

    async def search(
        self, connection: asyncpg.Connection, identity: Identity | None
    ) -> tuple[Sequence[CandidateRow], LinkageModel, NameFrequencies]:
        """The candidates, the model and the names' frequencies (``MatchingService.find``)."""
        rows: list[CandidateRow] = []
        if questions := blocking_questions([identity]):
            found = await _send(
                connection, "fetch", _CANDIDATES_SQL, **search_parameters(questions)
            )
            rows = candidate_rows(found)
        held = self.models.held
        known = None if held is None else held.key
        found = await _send(
            connection, "fetch", _CURRENT_SQL, **current_parameters(known, name_keys([identity]))
        )
        newest = newest_model(found)
        if newest is None:
            return rows, starting_model(), NameFrequencies()
        linkage = self.models.newest(newest, held)
        return rows, linkage, NameFrequencies(newest.holders, linkage.name_totals)


def _routes(app: FastAPI) -> None:
    matching = Matching(Settings())

    @app.post("/matching/matches")
    async def matches(data: MatchIn, claims: Claims, pool: Pool) -> Response:
        roles = sorted(set(claims.get("roles", [])))
        if not ASKERS & set(roles):
            raise HTTPException(403, "Utilities and admins only")
        [person] = data.people
        identity = question_identity(
            matching.service.hasher,
            first_name=person.first_name,
            last_name=person.last_name,
            dob=person.dob,
            ssn=person.ssn,
        )
        caller = Principal(subject=claims["sub"], roles=frozenset(roles))
        async with pool.acquire() as connection:
            async with connection.transaction():
                refusal = await matching.screen(connection, caller.subject, identity)
            async with connection.transaction():
                admitted = None if refusal else identity
                rows, linkage, frequencies = await matching.search(connection, admitted)
                scorer = Scorer(linkage.model, frequencies)
                threshold = matching.service.rules.partial_threshold(linkage.people)
                [found], compared = matching.service._classify(scorer, threshold, [admitted], rows)
                found.refusal = refusal
                if compared:
                    await _send(connection, "execute", _REMEMBER_SQL, **remembered(compared))
                answers = Answers([Question(person, [], None)], [found], linkage)
                row = audit_row(caller, "matches", answers.tally())
                await _send(connection, "execute", AUDIT, **row)
        body = MatchResults(results=person_results(answers)).model_dump_json()
        return Response(body, media_type="application/json")


def create_app() -> FastAPI:
    # json and jsonb decoded as the service's driver pool decodes them (the model's parameters).
    return lean_app("matching", _routes, init=_decode_json)
