"""All SQL about credentials, tokens, login attempts and the outbox."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Interval, func, type_coerce, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from customers.auth.models import (
    Credential,
    LoginAttempt,
    OutboxMessage,
    PasswordResetToken,
    RefreshToken,
)
from customers.records.models import Customer


class AuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # credentials

    async def account(self, email: str) -> tuple[Customer, str | None] | None:
        """The customer with this email and their password hash (None when they have none)."""
        statement = (
            select(Customer, Credential.password_hash)
            .outerjoin(Credential, col(Credential.customer_id) == col(Customer.customer_id))
            .where(Customer.email == email)
        )
        row = (await self.session.exec(statement)).first()
        return (row[0], row[1]) if row else None

    async def password_hash(self, customer_id: str) -> str | None:
        credential = await self.session.get(Credential, customer_id)
        return credential.password_hash if credential else None

    async def set_password_hash(self, customer_id: str, password_hash: str) -> None:
        statement = insert(Credential).values(customer_id=customer_id, password_hash=password_hash)
        await self.session.exec(
            statement.on_conflict_do_update(
                index_elements=[Credential.customer_id],
                set_={"password_hash": statement.excluded.password_hash, "updated_at": func.now()},
            )
        )

    # refresh tokens

    async def add_refresh_token(
        self, customer_id: str, family_id: uuid.UUID, token_hash: str, ttl: timedelta
    ) -> None:
        await self.session.exec(
            insert(RefreshToken).values(
                customer_id=customer_id,
                family_id=family_id,
                token_hash=token_hash,
                expires_at=func.now() + ttl,
            )
        )

    async def refresh_token_for_update(self, token_hash: str) -> tuple[RefreshToken, bool] | None:
        """The token, locked so concurrent uses queue up, and whether it has expired."""
        statement = select(RefreshToken, RefreshToken.expires_at <= func.now()).where(
            RefreshToken.token_hash == token_hash
        )
        row = (await self.session.exec(statement.with_for_update())).first()
        return (row[0], bool(row[1])) if row else None

    async def mark_refresh_token_used(self, token_id: int) -> None:
        await self.session.exec(
            update(RefreshToken).where(col(RefreshToken.id) == token_id).values(used_at=func.now())
        )

    async def revoke_family(self, family_id: uuid.UUID) -> None:
        await self._revoke(col(RefreshToken.family_id) == family_id)

    async def revoke_sessions(self, customer_id: str) -> None:
        """Revoke every refresh token of the customer: all their sessions end."""
        await self._revoke(col(RefreshToken.customer_id) == customer_id)

    async def _revoke(self, which: ColumnElement[bool]) -> None:
        await self.session.exec(
            update(RefreshToken)
            .where(which, col(RefreshToken.revoked_at).is_(None))
            .values(revoked_at=func.now())
        )

    # password reset tokens

    async def add_reset_token(self, customer_id: str, token_hash: str, ttl: timedelta) -> datetime:
        """Store the token's digest; returns its expiry."""
        statement = (
            insert(PasswordResetToken)
            .values(customer_id=customer_id, token_hash=token_hash, expires_at=func.now() + ttl)
            .returning(col(PasswordResetToken.expires_at))
        )
        expires_at: datetime = (await self.session.exec(statement)).scalar_one()
        return expires_at

    async def reset_requested_within(self, customer_id: str, interval: timedelta) -> bool:
        statement = select(func.count()).where(
            PasswordResetToken.customer_id == customer_id,
            PasswordResetToken.created_at > func.now() - interval,
        )
        return bool((await self.session.exec(statement)).one())

    async def discard_unused_reset_tokens(self, customer_id: str) -> None:
        await self.session.exec(
            delete(PasswordResetToken).where(
                col(PasswordResetToken.customer_id) == customer_id,
                col(PasswordResetToken.used_at).is_(None),
            )
        )

    async def usable_reset_token(
        self, token_hash: str, *, for_update: bool = False
    ) -> PasswordResetToken | None:
        """The token when unused and unexpired (``for_update``: locked against a second use)."""
        statement = select(PasswordResetToken).where(
            PasswordResetToken.token_hash == token_hash,
            col(PasswordResetToken.used_at).is_(None),
            PasswordResetToken.expires_at > func.now(),
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.exec(statement)).first()

    async def mark_reset_token_used(self, token_id: int) -> None:
        await self.session.exec(
            update(PasswordResetToken)
            .where(col(PasswordResetToken.id) == token_id)
            .values(used_at=func.now())
        )

    # login attempts

    async def record_attempt(self, email: str, client_address: str) -> int:
        statement = (
            insert(LoginAttempt)
            .values(email=email, client_address=client_address)
            .returning(col(LoginAttempt.id))
        )
        attempt_id: int = (await self.session.exec(statement)).scalar_one()
        return attempt_id

    async def wait_before_attempt(
        self,
        *,
        email: str,
        client_address: str,
        attempt_id: int,
        limit_per_email: int,
        limit_per_address: int,
        window: timedelta,
    ) -> timedelta | None:
        """How long until both keys' other recent attempts are under their limits (None: now)."""
        waits = [
            await self._wait(col(LoginAttempt.email) == email, attempt_id, limit_per_email, window),
            await self._wait(
                col(LoginAttempt.client_address) == client_address,
                attempt_id,
                limit_per_address,
                window,
            ),
        ]
        blocking = [wait for wait in waits if wait is not None]
        return max(blocking) if blocking else None

    async def _wait(
        self, same_key: ColumnElement[bool], attempt_id: int, limit: int, window: timedelta
    ) -> timedelta | None:
        """When the ``limit``-th most recent other attempt leaves the window, one more may come."""
        statement = (
            select(type_coerce(LoginAttempt.attempted_at + window - func.now(), Interval))
            .where(
                same_key,
                col(LoginAttempt.id) != attempt_id,
                LoginAttempt.attempted_at > func.now() - window,
            )
            .order_by(col(LoginAttempt.attempted_at).desc())
            .offset(limit - 1)
            .limit(1)
        )
        wait: timedelta | None = (await self.session.exec(statement)).first()
        return wait

    async def forget_attempt(self, attempt_id: int) -> None:
        await self.session.exec(delete(LoginAttempt).where(col(LoginAttempt.id) == attempt_id))

    async def forget_failures(self, email: str) -> None:
        """Delete the email's attempts, skipping rows another transaction holds.

        Concurrent successful logins sweep the same rows; waiting for each other's row locks
        would deadlock, and a row another sweep holds is being deleted anyway.
        """
        unlocked = (
            select(LoginAttempt.id)
            .where(LoginAttempt.email == email)
            .with_for_update(skip_locked=True)
        )
        await self.session.exec(
            delete(LoginAttempt).where(col(LoginAttempt.id).in_(unlocked.scalar_subquery()))
        )

    # outbox

    async def add_outbox_message(
        self, customer_id: str, kind: str, recipient: str, payload: dict[str, Any]
    ) -> None:
        await self.session.exec(
            insert(OutboxMessage).values(
                customer_id=customer_id, kind=kind, recipient=recipient, payload=payload
            )
        )

    async def outbox_messages(self, limit: int) -> list[OutboxMessage]:
        statement = select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(limit)
        return list((await self.session.exec(statement)).all())

    # housekeeping

    async def purge_expired(self, login_window: timedelta) -> None:
        """Drop attempts older than the throttle window and tokens past their expiry."""
        await self.session.exec(
            delete(LoginAttempt).where(LoginAttempt.attempted_at < func.now() - login_window)
        )
        for table in (RefreshToken, PasswordResetToken):
            await self.session.exec(delete(table).where(table.expires_at < func.now()))
