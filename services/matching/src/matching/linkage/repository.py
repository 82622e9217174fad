"""The linkage tables: counting what the enrollments hold, storing and reading a model (all
sent straight to the driver, ``common.sql``)."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.sql import Record, Sql, Transaction
from matching.matches.comparison import Levels
from matching.ssn import MASKED_HASH_BYTES

# People are (organization, client): a client's many stays count once.
_PEOPLE_SQL = Sql.of(
    "SELECT count(*) AS enrollments, count(DISTINCT (organization_id, client_id)) AS people "
    "FROM enrollments"
)
_FREQUENCIES_SQL = Sql.of(
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
_SQUARES_SQL = Sql.of(
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
_SSN_PAIRS_SQL = Sql.of(
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
# The newest model (its parameters only when it is not the one the caller holds already: they
# change only when a model is trained) and, from the same snapshot, the people holding each of
# the names asked as that model counted them. No row: nothing was learned yet.
_CURRENT_SQL = Sql.of(
    """
    SELECT newest.id, newest.trained_at, newest.people,
           CASE WHEN newest.id = :known_id AND newest.trained_at = :known_at THEN NULL
                ELSE newest.parameters END AS parameters,
           f.field, f.key, f.people AS holders
    FROM (SELECT * FROM linkage_models ORDER BY id DESC LIMIT 1) AS newest
    LEFT JOIN name_frequencies f
      ON f.model_id = newest.id AND f.field IN ('first_name', 'last_name')
     AND f.key = ANY(CAST(:keys AS text[]))
    """
)
_ADD_SQL = Sql.of(
    "INSERT INTO linkage_models (enrollments, people, parameters) "
    "VALUES (:enrollments, :people, :parameters) RETURNING id"
)
_SET_PARAMETERS_SQL = Sql.of("UPDATE linkage_models SET parameters = :parameters WHERE id = :model")
_NEWEST_SQL = Sql.of("SELECT id, enrollments FROM linkage_models ORDER BY id DESC LIMIT 1")
_DROP_OLDER_SQL = Sql.of("DELETE FROM linkage_models WHERE id < :model")
_PATTERNS_SQL = Sql.of("SELECT first_name, last_name, dob, ssn, pairs FROM comparison_patterns")


_REMEMBER_SQL = Sql.of(
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
_COMPACT_SQL = Sql.of(
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


@dataclass(frozen=True)
class NewestModel:
    """The newest model's row as ``current`` reads it: ``parameters`` None when it is the model
    the caller said it holds."""

    id: int
    trained_at: datetime
    people: int
    parameters: dict[str, Any] | None
    holders: dict[tuple[str, str], int]
    """The people holding each name asked (field, key), as this model counted them."""


class LinkageRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def counts(self) -> tuple[int, int]:
        """The enrollments and the people (organization and client) held."""
        row = await self.transaction.fetchone(_PEOPLE_SQL)
        return int(row["enrollments"]), int(row["people"])

    async def add(self, enrollments: int, people: int, parameters: dict[str, Any]) -> int:
        """A new model's row; its id (its version)."""
        model_id: int = await self.transaction.fetchval(
            _ADD_SQL, enrollments=enrollments, people=people, parameters=parameters
        )
        return model_id

    async def set_parameters(self, model_id: int, parameters: dict[str, Any]) -> None:
        await self.transaction.execute(_SET_PARAMETERS_SQL, model=model_id, parameters=parameters)

    async def count_names(self, model_id: int) -> dict[str, tuple[float, float]]:
        """Each name field's (and the date of birth's) people and sum of squared counts."""
        await self.transaction.execute(_FREQUENCIES_SQL, model=model_id)
        rows = await self.transaction.fetch(_SQUARES_SQL, model=model_id)
        return {row["field"]: (row["total"] or 0.0, row["squares"] or 0.0) for row in rows}

    async def ssn_pairs(self) -> SsnPairs:
        """How many pairs of people the held SSNs make, and how many agree at each level."""
        row = await self.transaction.fetchone(_SSN_PAIRS_SQL, size=MASKED_HASH_BYTES)
        return SsnPairs(
            full_people=row["full_people"],
            last4_people=row["last4_people"],
            full=row["full_pairs"],
            # A pair with equal SSNs shares all nine masked hashes; one digit apart, one.
            one_digit=max(row["masked_pairs"] - 9 * row["full_pairs"], 0.0),
            last4=row["last4_pairs"],
        )

    async def newest_enrollments(self) -> int | None:
        """The enrollments the newest model was trained from (None: none was)."""
        row = await self.transaction.fetchrow(_NEWEST_SQL)
        return None if row is None else int(row["enrollments"])

    async def current(
        self, known: tuple[int, datetime] | None, keys: Iterable[str]
    ) -> NewestModel | None:
        """The newest model (its parameters left out when it is ``known``: (id, trained_at))
        and the people holding each of ``keys`` as it counted them; None when there is none."""
        rows = await self.transaction.fetch(_CURRENT_SQL, **current_parameters(known, keys))
        return newest_model(rows)

    async def drop_older_than(self, model_id: int) -> None:
        await self.transaction.execute(_DROP_OLDER_SQL, model=model_id)

    async def remember(self, patterns: Mapping[Levels, int]) -> None:
        """Append the pairs compared, counted by their levels (no row of another request is
        touched, so concurrent requests never wait on each other here)."""
        if not patterns:
            return
        await self.transaction.execute(_REMEMBER_SQL, **remembered(patterns))

    async def compact_patterns(self) -> None:
        """Add up the rows requests appended into one per combination of levels."""
        await self.transaction.execute(_COMPACT_SQL)

    async def patterns(self) -> dict[Levels, int]:
        """Every combination of levels compared so far and how many pairs reached it."""
        await self.compact_patterns()
        rows = await self.transaction.fetch(_PATTERNS_SQL)
        return {_levels(tuple(row)[:4]): int(row["pairs"]) for row in rows}


def current_parameters(known: tuple[int, datetime] | None, keys: Iterable[str]) -> dict[str, Any]:
    """The parameters of ``_CURRENT_SQL``: the model held (id, trained_at), the names asked."""
    known_id, known_at = known or (None, None)
    return {"known_id": known_id, "known_at": known_at, "keys": sorted(set(keys))}


def newest_model(rows: Sequence[Record]) -> NewestModel | None:
    """The newest model's row from ``_CURRENT_SQL``'s rows (one per name found, at least one)."""
    if not rows:
        return None
    first = rows[0]
    holders = {(row["field"], row["key"]): int(row["holders"]) for row in rows if row["field"]}
    return NewestModel(
        first["id"], first["trained_at"], first["people"], first["parameters"], holders
    )


def remembered(patterns: Mapping[Levels, int]) -> dict[str, list[int]]:
    """The parameters of ``_REMEMBER_SQL`` for ``patterns``: one array per column."""
    columns = list(zip(*(_stored(levels) for levels in patterns), strict=True))
    return {
        "first": list(columns[0]),
        "last": list(columns[1]),
        "dob": list(columns[2]),
        "ssn": list(columns[3]),
        "pairs": list(patterns.values()),
    }


def _stored(levels: Levels) -> tuple[int, ...]:
    return tuple(MISSING_LEVEL if level is None else level for level in levels)


def _levels(stored: Sequence[int]) -> Levels:
    first, last, dob, ssn = (None if level == MISSING_LEVEL else level for level in stored)
    return (first, last, dob, ssn)
