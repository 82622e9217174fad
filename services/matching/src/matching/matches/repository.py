"""The candidate search: enrollments sharing a blocking key with a question, in one query (sent
straight to the driver, ``common.sql``)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from common.sql import Record, Sql, Transaction


@dataclass(frozen=True)
class BlockingQuestion:
    """The keys of one question (or of its swapped-name form) for the candidate search."""

    number: int
    first_code: str | None
    last_code: str | None
    dob: date | None
    ssn_last4: bytes | None


class CandidateRow(NamedTuple):
    """One row of the candidate search: an enrollment, its organization's name, and the number
    of the question it was found for (the search's columns, in this order)."""

    number: int
    organization: str
    client_id: str
    enrollment_id: str
    first_name: str | None
    last_name: str
    first_key: str | None
    last_key: str
    dob: date | None
    ssn_hash: bytes | None
    ssn_last4_hash: bytes | None
    ssn_masked_hashes: bytes | None
    entry_date: date
    exit_date: date | None
    income_at_entry: Decimal | None
    income_at_exit: Decimal | None
    exit_destination: int | None


MAX_CANDIDATES_PER_KEY = 1000
"""A bound on one key's candidates (a very common name), its most recent stays: the other keys
still find the person."""

# One branch per blocking key of matches/scoring.py (record_blocking_keys), each an index scan
# of the enrollments/models.py index of the same name per question: LATERAL with LIMIT keeps
# PostgreSQL from sorting or hashing the whole table for thousands of questions. A key's most
# recent stays first, in the order of its index after the key (entry date, id): only that index
# gives it, read backwards and stopped at the limit, and any other plan must read and sort every
# row of the key. Without the order, once one key was shared by most rows PostgreSQL guessed
# every key it cannot see at half the table and planned a sequential scan (or the primary key
# with a filter) that the limit would stop early: for a rare key it read the whole table. The
# last name alone only for questions that give nothing else.
_RECENT_FIRST = "e.entry_date DESC, e.id DESC"
_BRANCHES = (
    ("e.last_code = q.last_code AND e.first_code = q.first_code", _RECENT_FIRST),
    ("e.dob = q.dob AND e.ssn_last4_hash = q.last4", _RECENT_FIRST),
    ("e.dob = q.dob AND e.last_code = q.last_code", _RECENT_FIRST),
    ("e.dob = q.dob AND e.first_code = q.first_code", _RECENT_FIRST),
    ("e.ssn_last4_hash = q.last4 AND e.last_code = q.last_code", _RECENT_FIRST),
    ("e.ssn_last4_hash = q.last4 AND e.first_code = q.first_code", _RECENT_FIRST),
    (
        "e.last_code = q.last_code AND q.first_code IS NULL AND q.dob IS NULL AND q.last4 IS NULL",
        f"e.first_code DESC, {_RECENT_FIRST}",
    ),
)
_PAIRS = "\n        UNION ".join(
    "SELECT q.number, found.id FROM q CROSS JOIN LATERAL "  # noqa: S608 (constants only)
    f"(SELECT e.id FROM enrollments e WHERE {condition} ORDER BY {order} LIMIT :per_key) AS found"
    for condition, order in _BRANCHES
)
_COLUMNS = ", ".join(
    {"number": "pairs.number", "organization": "o.name AS organization"}.get(name, f"e.{name}")
    for name in CandidateRow._fields
)
_CANDIDATES_SQL = Sql.of(
    f"""
    WITH q AS MATERIALIZED (
        SELECT * FROM unnest(
            CAST(:numbers AS int[]), CAST(:first_codes AS text[]), CAST(:last_codes AS text[]),
            CAST(:dobs AS date[]), CAST(:last4s AS bytea[])
        ) AS q(number, first_code, last_code, dob, last4)
    ),
    pairs AS MATERIALIZED ({_PAIRS})
    SELECT {_COLUMNS}
    FROM pairs
    CROSS JOIN LATERAL (SELECT * FROM enrollments WHERE id = pairs.id OFFSET 0) AS e
    JOIN organizations o ON o.id = e.organization_id
    """  # noqa: S608 (the branches are the constants above; values are bound parameters)
)


def search_parameters(questions: Sequence[BlockingQuestion]) -> dict[str, Any]:
    """The parameters of ``_CANDIDATES_SQL`` for ``questions``: one array per column."""
    return {
        "numbers": [question.number for question in questions],
        "first_codes": [question.first_code for question in questions],
        "last_codes": [question.last_code for question in questions],
        "dobs": [question.dob for question in questions],
        "last4s": [question.ssn_last4 for question in questions],
        "per_key": MAX_CANDIDATES_PER_KEY,
    }


def candidate_rows(rows: Sequence[Record]) -> list[CandidateRow]:
    """The search's rows, read by name (a tuple each: the columns come in CandidateRow's order)."""
    return [CandidateRow._make(row) for row in rows]


class CandidateRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def candidates(self, questions: Sequence[BlockingQuestion]) -> list[CandidateRow]:
        """Every enrollment sharing a blocking key with a question, with the question's number
        (one row per question number and enrollment)."""
        if not questions:
            return []
        rows = await self.transaction.fetch(_CANDIDATES_SQL, **search_parameters(questions))
        return candidate_rows(rows)
