"""All SQL about participants, sent straight to the driver (``common.sql``)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from common.sql import Record, Sql, Transaction

_BY_SUBJECT = Sql.of("SELECT id, subject, email, roles FROM participants WHERE subject = :subject")
_BY_EMAIL = Sql.of("SELECT id, subject, email, roles FROM participants WHERE email = :email")
_BY_IDS = Sql.of("SELECT id, subject, email, roles FROM participants WHERE id = ANY(:ids)")
_TAKE_EMAIL = Sql.of(
    "UPDATE participants SET email = NULL, updated_at = now() "
    "WHERE email = :email AND subject <> :subject"
)
_REMEMBER = Sql.of(
    "INSERT INTO participants (subject, email, roles) VALUES (:subject, :email, :roles) "
    "ON CONFLICT (subject) DO UPDATE SET email = excluded.email, roles = excluded.roles, "
    "updated_at = now() RETURNING id, subject, email, roles"
)


@dataclass(frozen=True, slots=True)
class Person:
    """A participant as stored: subject, email (when known) and roles."""

    id: int
    subject: str
    email: str | None
    roles: Sequence[str]

    def display_name(self) -> str:
        """How lists name the person: the email, or the subject id when none is known."""
        return self.email or self.subject


def _person(row: Record) -> Person:
    return Person(row["id"], row["subject"], row["email"], row["roles"])


class ParticipantRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def by_subject(self, subject: str) -> Person | None:
        row = await self.transaction.fetchrow(_BY_SUBJECT, subject=subject)
        return _person(row) if row else None

    async def by_email(self, email: str) -> Person | None:
        row = await self.transaction.fetchrow(_BY_EMAIL, email=email)
        return _person(row) if row else None

    async def by_ids(self, ids: Iterable[int]) -> dict[int, Person]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        rows = await self.transaction.fetch(_BY_IDS, ids=wanted)
        return {row["id"]: _person(row) for row in rows}

    async def remember(self, subject: str, email: str | None, roles: Iterable[str]) -> Person:
        """Insert or update the participant; an email moves to ``subject`` from whoever had it."""
        if email is not None:
            await self.transaction.execute(_TAKE_EMAIL, email=email, subject=subject)
        row = await self.transaction.fetchone(
            _REMEMBER, subject=subject, email=email, roles=sorted(roles)
        )
        return _person(row)
