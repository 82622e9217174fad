"""The linkage tables: counting what the enrollments hold, storing and reading a model."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Result, TextClause, text
from sqlmodel.ext.asyncio.session import AsyncSession

from matching.linkage.models import TrainedModel
from matching.matches.comparison import Levels
from matching.ssn import MASKED_HASH_BYTES

# People are (organization, client): a client's many stays count once.
_PEOPLE_SQL = text(
    "SELECT count(*) AS enrollments, count(DISTINCT (organization_id, client_id)) AS people "
    "FROM enrollments"
)
_FREQUENCIES_SQL = text(
    """
    INSERT INTO name_frequencies (model_id, field, key, people)
    SELECT CAST(:model AS bigint), 'first_name', first_key,
           count(DISTINCT (organization_id, client_id))
    FROM enrollments WHERE first_key IS NOT NULL GROUP BY first_key
    UNION ALL
    SELECT CAST(:model AS bigint), 'last_name', last_key,
           count(DISTINCT (organization_id, client_id))
    FROM enrollments WHERE last_key IS NOT NULL GROUP BY last_key
    """
)
_SQUARES_SQL = text(
    """
    SELECT field, sum(people)::float8 AS total, sum(people::float8 * people) AS squares
    FROM name_frequencies WHERE model_id = :model GROUP BY field
    UNION ALL
    SELECT 'dob', sum(people)::float8, sum(people::float8 * people)
    FROM (
        SELECT count(DISTINCT (organization_id, client_id)) AS people
        FROM enrollments WHERE dob IS NOT NULL GROUP BY dob
    ) AS per_dob
    """
)
# People sharing a full SSN, sharing all but its n-th digit (n = 1..9: one masked hash each), and
# sharing its last four, as sums of "pairs of people" per shared hash (c people: c(c-1)/2 pairs).
_SSN_PAIRS_SQL = text(
    """
    WITH people AS (
        SELECT DISTINCT ON (organization_id, client_id) ssn_hash, ssn_last4_hash, ssn_masked_hashes
        FROM enrollments WHERE ssn_last4_hash IS NOT NULL
        ORDER BY organization_id, client_id, entry_date DESC
    ),
    masked AS (
        SELECT substring(ssn_masked_hashes FROM position * :size + 1 FOR :size) AS hash, position
        FROM people CROSS JOIN generate_series(0, 8) AS position
        WHERE ssn_masked_hashes IS NOT NULL
    )
    SELECT
        (SELECT count(*) FROM people WHERE ssn_hash IS NOT NULL)::float8 AS full_people,
        (SELECT count(*) FROM people)::float8 AS last4_people,
        (SELECT coalesce(sum(c * (c - 1) / 2), 0) FROM (
            SELECT count(*)::float8 AS c FROM people WHERE ssn_hash IS NOT NULL GROUP BY ssn_hash
        ) AS g)::float8 AS full_pairs,
        (SELECT coalesce(sum(c * (c - 1) / 2), 0) FROM (
            SELECT count(*)::float8 AS c FROM masked GROUP BY position, hash
        ) AS g)::float8 AS masked_pairs,
        (SELECT coalesce(sum(c * (c - 1) / 2), 0) FROM (
            SELECT count(*)::float8 AS c FROM people GROUP BY ssn_last4_hash
        ) AS g)::float8 AS last4_pairs
    """
)
_LOOKUP_SQL = text(
    "SELECT field, key, people FROM name_frequencies "
    "WHERE model_id = :model AND key = ANY(CAST(:keys AS text[]))"
)


_REMEMBER_SQL = text(
    """
    INSERT INTO comparison_patterns (first_name, last_name, dob, ssn, pairs)
    SELECT * FROM unnest(
        CAST(:first AS smallint[]), CAST(:last AS smallint[]), CAST(:dob AS smallint[]),
        CAST(:ssn AS smallint[]), CAST(:pairs AS bigint[])
    )
    """
)
# One row per combination of levels, of every row this transaction sees (rows appended meanwhile
# stay for the next time).
_COMPACT_SQL = text(
    """
    WITH taken AS (DELETE FROM comparison_patterns RETURNING first_name, last_name, dob, ssn, pairs)
    INSERT INTO comparison_patterns (first_name, last_name, dob, ssn, pairs)
    SELECT first_name, last_name, dob, ssn, sum(pairs) FROM taken
    GROUP BY first_name, last_name, dob, ssn
    """
)
MISSING_LEVEL = -1


@dataclass(frozen=True)
class SsnPairs:
    full_people: float
    """People holding a full SSN (their newest stay's)."""
    last4_people: float
    """People holding at least its last four."""
    full: float
    """Pairs of them with the same full SSN."""
    one_digit: float
    """Pairs whose full SSNs differ in one digit."""
    last4: float
    """Pairs with the same last four."""


class LinkageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _execute(
        self, statement: TextClause, parameters: dict[str, Any] | None = None
    ) -> Result[Any]:
        connection = await self.session.connection()
        return await connection.execute(statement, parameters or {})

    async def counts(self) -> tuple[int, int]:
        """The enrollments and the people (organization and client) held."""
        row = (await self._execute(_PEOPLE_SQL)).one()
        return int(row.enrollments), int(row.people)

    async def add(self, enrollments: int, people: int, parameters: dict[str, Any]) -> TrainedModel:
        model = TrainedModel(enrollments=enrollments, people=people, parameters=parameters)
        self.session.add(model)
        await self.session.flush()
        return model

    async def count_names(self, model_id: int) -> dict[str, tuple[float, float]]:
        """Each name field's (and the date of birth's) people and sum of squared counts."""
        await self._execute(_FREQUENCIES_SQL, {"model": model_id})
        rows = (await self._execute(_SQUARES_SQL, {"model": model_id})).all()
        return {row.field: (row.total or 0.0, row.squares or 0.0) for row in rows}

    async def ssn_pairs(self) -> SsnPairs:
        """How many pairs of people the held SSNs make, and how many agree at each level."""
        row = (await self._execute(_SSN_PAIRS_SQL, {"size": MASKED_HASH_BYTES})).one()
        return SsnPairs(
            full_people=row.full_people,
            last4_people=row.last4_people,
            full=row.full_pairs,
            # A pair with equal SSNs shares all nine masked hashes; one digit apart, one.
            one_digit=max(row.masked_pairs - 9 * row.full_pairs, 0.0),
            last4=row.last4_pairs,
        )

    async def newest(self) -> TrainedModel | None:
        result = await self._execute(text("SELECT * FROM linkage_models ORDER BY id DESC LIMIT 1"))
        row = result.mappings().one_or_none()
        return None if row is None else TrainedModel(**row)

    async def drop_older_than(self, model_id: int) -> None:
        await self._execute(
            text("DELETE FROM linkage_models WHERE id < :model"), {"model": model_id}
        )

    async def frequencies(self, model_id: int, keys: Iterable[str]) -> dict[tuple[str, str], int]:
        """The people holding each of ``keys``, per name field, as model ``model_id`` counted."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        result = await self._execute(_LOOKUP_SQL, {"model": model_id, "keys": wanted})
        return {(row.field, row.key): int(row.people) for row in result}

    async def remember(self, patterns: Mapping[Levels, int]) -> None:
        """Append the pairs compared, counted by their levels (no row of another request is
        touched, so concurrent requests never wait on each other here)."""
        if not patterns:
            return
        columns = list(zip(*(_stored(levels) for levels in patterns), strict=True))
        await self._execute(
            _REMEMBER_SQL,
            {
                "first": list(columns[0]),
                "last": list(columns[1]),
                "dob": list(columns[2]),
                "ssn": list(columns[3]),
                "pairs": list(patterns.values()),
            },
        )

    async def compact_patterns(self) -> None:
        """Add up the rows requests appended into one per combination of levels."""
        await self._execute(_COMPACT_SQL)

    async def patterns(self) -> dict[Levels, int]:
        """Every combination of levels compared so far and how many pairs reached it."""
        await self.compact_patterns()
        result = await self._execute(
            text("SELECT first_name, last_name, dob, ssn, pairs FROM comparison_patterns")
        )
        return {_levels(row[:4]): int(row.pairs) for row in result}


def _stored(levels: Levels) -> tuple[int, ...]:
    return tuple(MISSING_LEVEL if level is None else level for level in levels)


def _levels(stored: Sequence[int]) -> Levels:
    first, last, dob, ssn = (None if level == MISSING_LEVEL else level for level in stored)
    return (first, last, dob, ssn)
