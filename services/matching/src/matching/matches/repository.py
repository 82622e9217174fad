"""The candidate search: enrollments sharing a blocking key with a question, in one query."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession


@dataclass(frozen=True)
class BlockingQuestion:
    """The keys of one question (or of its swapped-name form) for the candidate search."""

    number: int
    first_code: str | None
    last_code: str | None
    dob: date | None
    ssn_last4: bytes | None


# One branch per blocking key of matches/scoring.py (record_blocking_keys), each served by the
# index of enrollments/models.py with the same name; the last name alone only for questions
# that give nothing else.
_CANDIDATES_SQL = text(
    """
    WITH q AS (
        SELECT * FROM unnest(
            CAST(:numbers AS int[]), CAST(:first_codes AS text[]), CAST(:last_codes AS text[]),
            CAST(:dobs AS date[]), CAST(:last4s AS bytea[])
        ) AS q(number, first_code, last_code, dob, last4)
    ),
    pairs AS (
        SELECT q.number, e.id FROM q JOIN enrollments e
            ON e.last_code = q.last_code AND e.first_code = q.first_code
        UNION SELECT q.number, e.id FROM q JOIN enrollments e
            ON e.dob = q.dob AND e.ssn_last4_hash = q.last4
        UNION SELECT q.number, e.id FROM q JOIN enrollments e
            ON e.dob = q.dob AND e.last_code = q.last_code
        UNION SELECT q.number, e.id FROM q JOIN enrollments e
            ON e.dob = q.dob AND e.first_code = q.first_code
        UNION SELECT q.number, e.id FROM q JOIN enrollments e
            ON e.ssn_last4_hash = q.last4 AND e.last_code = q.last_code
        UNION SELECT q.number, e.id FROM q JOIN enrollments e
            ON e.last_code = q.last_code
            WHERE q.first_code IS NULL AND q.dob IS NULL AND q.last4 IS NULL
    )
    SELECT pairs.number, o.name AS organization, e.client_id, e.enrollment_id, e.first_name,
           e.last_name, e.first_key, e.last_key, e.dob, e.ssn_hash, e.ssn_last4_hash,
           e.ssn_masked_hashes, e.entry_date, e.exit_date, e.income_at_entry, e.income_at_exit,
           e.exit_destination
    FROM pairs
    JOIN enrollments e ON e.id = pairs.id
    JOIN organizations o ON o.id = e.organization_id
    """
)


class CandidateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def candidates(self, questions: Sequence[BlockingQuestion]) -> list[Any]:
        """Every enrollment sharing a blocking key with a question, with the question's number
        (one row per question number and enrollment)."""
        if not questions:
            return []
        connection = await self.session.connection()
        result = await connection.execute(
            _CANDIDATES_SQL,
            {
                "numbers": [question.number for question in questions],
                "first_codes": [question.first_code for question in questions],
                "last_codes": [question.last_code for question in questions],
                "dobs": [question.dob for question in questions],
                "last4s": [question.ssn_last4 for question in questions],
            },
        )
        return list(result.all())
