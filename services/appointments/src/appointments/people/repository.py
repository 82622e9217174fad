"""All SQL about participants."""

from collections.abc import Iterable

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from appointments.people.models import Participant


class ParticipantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_subject(self, subject: str) -> Participant | None:
        statement = select(Participant).where(Participant.subject == subject)
        return (await self.session.exec(statement)).first()

    async def by_email(self, email: str) -> Participant | None:
        statement = select(Participant).where(Participant.email == email)
        return (await self.session.exec(statement)).first()

    async def by_ids(self, ids: Iterable[int]) -> dict[int, Participant]:
        wanted = set(ids)
        if not wanted:
            return {}
        statement = select(Participant).where(col(Participant.id).in_(wanted))
        return {person.id: person for person in await self.session.exec(statement) if person.id}

    async def remember(self, subject: str, email: str | None, roles: Iterable[str]) -> Participant:
        """Insert or update the participant; an email moves to ``subject`` from whoever had it."""
        if email is not None:
            await self.session.exec(
                update(Participant)
                .where(col(Participant.email) == email, col(Participant.subject) != subject)
                .values(email=None, updated_at=func.now())
            )
        new = insert(Participant).values(subject=subject, email=email, roles=sorted(roles))
        statement = new.on_conflict_do_update(
            index_elements=[Participant.subject],
            set_={
                "email": new.excluded.email,
                "roles": new.excluded.roles,
                "updated_at": func.now(),
            },
        ).returning(Participant)
        # populate_existing: the session may hold this participant from before the update
        statement = statement.execution_options(populate_existing=True)
        participant: Participant = (await self.session.exec(statement)).scalars().one()
        return participant
