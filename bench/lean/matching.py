"""The lean twin of matching: ``POST /matching/matches`` with one person.

It sends what the service sends for one person, in the same two transactions (the probe guard's
work is committed before the search, as ``ProbeGuard.screen`` commits it, so that a caller's
questions count although the request then fails and the caller's lock is not held meanwhile):

1. the guard: the caller's advisory lock; its variants and asks past their windows deleted; its
   asks of the last day read and this one recorded (the hourly and daily budgets); the variants
   known for the question's keys read and the admitted ones recorded; COMMIT;
2. the bulk statement timeout (``allow_bulk_statements``); the candidate search; the newest
   linkage model; the frequencies of the question's names (once a model was learned); the
   comparison patterns remembered; the audit row; COMMIT.

The SQL the service writes as text is imported from its modules (rendered as the service's
driver renders it, so neither can drift); what the ORM renders is written here as the ORM renders
it. The domain work is the service's own, called directly: the question's identity and SSN
hashes (``question_identity``, ``SsnHasher``), the guard's keys and admission (``ProbeGuard``'s
checks, ``_admit``, ``_wait``), the blocking values, the scoring, the partial threshold for the
people held and the split into complete and partial matches (``Scorer``, ``MatchingRules``,
``MatchingService._classify``) and the answer's shape (``match_out``): the twin differs in what
carries the request (no ORM, session, middleware, logging, metrics or threads), not in the
domain's work. Only the happy path: a refused question is answered with its error as the
service answers it, a spent budget is a bare 429.
"""

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import TextClause
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect

from bench.lean import Claims, Pool, lean_app
from matching.config import Settings
from matching.identities import question_identity
from matching.linkage.repository import _LOOKUP_SQL, _REMEMBER_SQL, _stored
from matching.linkage.service import STARTING_VERSION, LinkageModel, starting_model
from matching.matches.comparison import Identity
from matching.matches.fellegi_sunter import FellegiSunterModel
from matching.matches.repository import _CANDIDATES_SQL, MAX_CANDIDATES_PER_KEY
from matching.matches.responses import match_out, refusal_error
from matching.matches.schemas import MatchResults, PersonQuery, PersonResult
from matching.matches.scoring import NameFrequencies, Scorer
from matching.matches.service import MatchingService, blocking_questions, matching_service
from matching.probes.repository import _LOCK_CALLER, _RECORD_VARIANTS, _VARIANTS
from matching.probes.service import HOUR, Refusal, _admit, _wait, utc_now

DAY = timedelta(days=1)
ASKERS = {"utility", "admin"}


@dataclass(frozen=True)
class Statement:
    """A text statement of the service as its driver sends it: ``$n`` placeholders, and the
    names of the parameters in their order."""

    sql: str
    names: tuple[str, ...]

    @classmethod
    def of(cls, clause: TextClause) -> "Statement":
        compiled = clause.compile(dialect=asyncpg_dialect.dialect())
        return cls(compiled.string, tuple(compiled.positiontup or ()))

    def args(self, values: Mapping[str, object]) -> list[object]:
        return [values[name] for name in self.names]


LOCK_CALLER = Statement.of(_LOCK_CALLER)
VARIANTS = Statement.of(_VARIANTS)
RECORD_VARIANTS = Statement.of(_RECORD_VARIANTS)
CANDIDATES = Statement.of(_CANDIDATES_SQL)
LOOKUP = Statement.of(_LOOKUP_SQL)
REMEMBER = Statement.of(_REMEMBER_SQL)
# As the ORM renders them (probes/repository.py, audit/repository.py), and common's and
# linkage/repository.py's statements written inline there.
FORGET_VARIANTS = (
    "DELETE FROM matching.probe_variants WHERE matching.probe_variants.last_asked_at < "
    "$1::TIMESTAMP WITH TIME ZONE AND matching.probe_variants.subject = $2::VARCHAR"
)
FORGET_ASKS = (
    "DELETE FROM matching.probe_asked_people WHERE matching.probe_asked_people.asked_at < "
    "$1::TIMESTAMP WITH TIME ZONE AND matching.probe_asked_people.subject = $2::VARCHAR"
)
ASKED_SINCE = (
    "SELECT matching.probe_asked_people.asked_at, matching.probe_asked_people.people \n"
    "FROM matching.probe_asked_people \n"
    "WHERE matching.probe_asked_people.subject = $1::VARCHAR AND "
    "matching.probe_asked_people.asked_at >= $2::TIMESTAMP WITH TIME ZONE "
    "ORDER BY matching.probe_asked_people.asked_at"
)
RECORD_ASKED = (
    "INSERT INTO matching.probe_asked_people (subject, asked_at, people) VALUES ($1::VARCHAR, "
    "$2::TIMESTAMP WITH TIME ZONE, $3::INTEGER) RETURNING matching.probe_asked_people.id"
)
BULK_TIMEOUT = "SELECT set_config('statement_timeout', $1, true)"
NEWEST_MODEL = "SELECT * FROM linkage_models ORDER BY id DESC LIMIT 1"
AUDIT = (
    "INSERT INTO matching.audit_log (subject, roles, action, people, matched, "
    "complete_matches, partial_matches, probes_refused) VALUES ($1::VARCHAR, $2::VARCHAR, "
    "$3::VARCHAR, $4::INTEGER, $5::INTEGER, $6::INTEGER, $7::INTEGER, $8::INTEGER) "
    "RETURNING matching.audit_log.id, matching.audit_log.at"
)


class Row(asyncpg.Record):
    """A candidate row read by column name, as the service's scoring and answer read it."""

    def __getattr__(self, name: str) -> Any:
        return self[name]


class MatchIn(BaseModel):
    people: list[PersonQuery] = Field(min_length=1, max_length=1)


def _linkage(row: asyncpg.Record | None) -> LinkageModel:
    """The newest model (``LinkageService.current``): the starting one until one was learned."""
    if row is None:
        return starting_model()
    parameters = json.loads(row["parameters"])
    model = FellegiSunterModel.from_json(parameters)
    return LinkageModel(row["id"], model, parameters.get("name_totals", {}), row["people"])


class Matching:
    """The service's domain objects, configured from the same MATCHING_* variables; they never
    touch the session they would hold."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.service: MatchingService = matching_service(None, settings)  # type: ignore[arg-type]
        self.guard = self.service.guard
        self.limits = self.guard.limits

    async def screen(
        self, connection: asyncpg.Connection, subject: str, identity: Identity
    ) -> Refusal | None:
        """``ProbeGuard.screen`` for one question: its refusal, or None when admitted."""
        now = utc_now()
        await connection.execute(LOCK_CALLER.sql, f"matching.probes:{subject}")
        await connection.execute(FORGET_VARIANTS, now - self.limits.window, subject)
        await connection.execute(FORGET_ASKS, now - DAY, subject)
        asked = [
            (row["asked_at"], row["people"])
            for row in await connection.fetch(ASKED_SINCE, subject, now - DAY)
        ]
        budgets = ((HOUR, self.limits.people_per_hour), (DAY, self.limits.people_per_day))
        for window, limit in budgets:
            recent = [item for item in asked if item[0] > now - window]
            if _wait(recent, window, limit, 1) is not None:
                raise HTTPException(429, "The caller's budget is spent")
        await connection.fetchval(RECORD_ASKED, subject, now, 1)
        checks = [self.guard._checks(identity, cache(self.guard.hasher.tag))]
        since = now - self.limits.window
        known: defaultdict[bytes, set[bytes]] = defaultdict(set)
        keys = sorted({check.person_key for check in checks[0]})
        if keys:
            values = {"subject": subject, "person_keys": keys, "since": since}
            for row in await connection.fetch(VARIANTS.sql, *VARIANTS.args(values)):
                known[row["person_key"]].add(row["variant"])
        refusals, admitted = _admit(checks, known)
        if pairs := sorted(set(admitted)):
            values = {
                "subject": subject,
                "person_keys": [key for key, _ in pairs],
                "variants": [variant for _, variant in pairs],
                "at": now,
            }
            await connection.execute(RECORD_VARIANTS.sql, *RECORD_VARIANTS.args(values))
        return refusals.get(0)

    async def search(
        self, connection: asyncpg.Connection, identity: Identity | None
    ) -> tuple[Sequence[Row], LinkageModel, NameFrequencies]:
        """The candidates, the model and the names' frequencies (``MatchingService.find``)."""
        timeout = str(self.settings.db_bulk_statement_timeout_ms)
        await connection.execute(BULK_TIMEOUT, timeout)
        rows: list[Row] = []
        if questions := blocking_questions([identity]):
            values = {
                "numbers": [question.number for question in questions],
                "first_codes": [question.first_code for question in questions],
                "last_codes": [question.last_code for question in questions],
                "dobs": [question.dob for question in questions],
                "last4s": [question.ssn_last4 for question in questions],
                "per_key": MAX_CANDIDATES_PER_KEY,
            }
            rows = await connection.fetch(
                CANDIDATES.sql, *CANDIDATES.args(values), record_class=Row
            )
        linkage = _linkage(await connection.fetchrow(NEWEST_MODEL))
        if linkage.version == STARTING_VERSION:
            return rows, linkage, NameFrequencies()
        counts: dict[tuple[str, str], int] = {}
        asked = (identity.first_key, identity.last_key) if identity else ()
        if names := sorted({key for key in asked if key}):
            values = {"model": linkage.version, "keys": names}
            found = await connection.fetch(LOOKUP.sql, *LOOKUP.args(values))
            counts = {(row["field"], row["key"]): row["people"] for row in found}
        frequencies = NameFrequencies(counts, linkage.name_totals)
        return rows, linkage, frequencies


def _routes(app: FastAPI) -> None:
    matching = Matching(Settings())

    @app.post("/matching/matches")
    async def matches(data: MatchIn, claims: Claims, pool: Pool) -> MatchResults:
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
        async with pool.acquire() as connection:
            async with connection.transaction():
                refusal = await matching.screen(connection, claims["sub"], identity)
            async with connection.transaction():
                admitted = None if refusal else identity
                rows, linkage, frequencies = await matching.search(connection, admitted)
                scorer = Scorer(linkage.model, frequencies)
                threshold = matching.service.rules.partial_threshold(linkage.people)
                [found], compared = matching.service._classify(scorer, threshold, [admitted], rows)
                if compared:
                    columns = list(zip(*(_stored(levels) for levels in compared), strict=True))
                    values = {
                        "first": list(columns[0]),
                        "last": list(columns[1]),
                        "dob": list(columns[2]),
                        "ssn": list(columns[3]),
                        "pairs": list(compared.values()),
                    }
                    await connection.execute(REMEMBER.sql, *REMEMBER.args(values))
                await connection.fetchrow(
                    AUDIT,
                    claims["sub"],
                    ",".join(roles),
                    "matches",
                    1,
                    int(bool(found.complete or found.partial)),
                    len(found.complete),
                    len(found.partial),
                    int(refusal is not None),
                )
        result = PersonResult(
            complete_matches=[match_out(item, linkage) for item in found.complete],
            partial_matches=[match_out(item, linkage) for item in found.partial],
            warnings=[],
            error=None if refusal is None else refusal_error(refusal),
        )
        return MatchResults(results=[result])


def create_app() -> FastAPI:
    return lean_app("matching", _routes)
