"""All SQL about credentials, tokens, login attempts and the outbox, sent straight to the driver
(``common.sql``)."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from common.sql import Sql, Transaction
from customers.records.repository import CustomerRow

_ACCOUNT = Sql.of(
    "SELECT c.customer_id, c.email, c.country, c.language, c.roles, c.created_at, c.updated_at, "
    "cr.password_hash FROM customers c "
    "LEFT OUTER JOIN credentials cr ON cr.customer_id = c.customer_id WHERE c.email = :email"
)
_PASSWORD_HASH = Sql.of("SELECT password_hash FROM credentials WHERE customer_id = :customer_id")
_SET_PASSWORD_HASH = Sql.of(
    "INSERT INTO credentials (customer_id, password_hash) VALUES (:customer_id, :password_hash) "
    "ON CONFLICT (customer_id) DO UPDATE "
    "SET password_hash = excluded.password_hash, updated_at = now()"
)
_ADD_REFRESH_TOKEN = Sql.of(
    "INSERT INTO refresh_tokens (customer_id, family_id, token_hash, expires_at) "
    "VALUES (:customer_id, :family_id, :token_hash, now() + CAST(:ttl AS interval))"
)
_REFRESH_TOKEN_FOR_UPDATE = Sql.of(
    "SELECT id, customer_id, family_id, used_at, revoked_at, expires_at <= now() AS expired "
    "FROM refresh_tokens "
    "WHERE token_hash = :token_hash FOR UPDATE"
)
_MARK_REFRESH_TOKEN_USED = Sql.of("UPDATE refresh_tokens SET used_at = now() WHERE id = :id")
_REVOKE = "UPDATE refresh_tokens SET revoked_at = now() WHERE {which} AND revoked_at IS NULL"
_REVOKE_FAMILY = Sql.of(_REVOKE.format(which="family_id = :family_id"))
_REVOKE_SESSIONS = Sql.of(_REVOKE.format(which="customer_id = :customer_id"))
_ADD_RESET_TOKEN = Sql.of(
    "INSERT INTO password_reset_tokens (customer_id, token_hash, expires_at) "
    "VALUES (:customer_id, :token_hash, now() + CAST(:ttl AS interval)) RETURNING expires_at"
)
_RESET_REQUESTED_WITHIN = Sql.of(
    "SELECT count(*) FROM password_reset_tokens "
    "WHERE customer_id = :customer_id AND created_at > now() - CAST(:within AS interval)"
)
_DISCARD_UNUSED_RESET_TOKENS = Sql.of(
    "DELETE FROM password_reset_tokens WHERE customer_id = :customer_id AND used_at IS NULL"
)
_USABLE = (
    "SELECT id, customer_id FROM password_reset_tokens "
    "WHERE token_hash = :token_hash AND used_at IS NULL AND expires_at > now() {lock}"
)
_USABLE_RESET_TOKEN_FOR_READ = Sql.of(_USABLE.format(lock=""))
_USABLE_RESET_TOKEN_FOR_UPDATE = Sql.of(_USABLE.format(lock="FOR UPDATE"))
_MARK_RESET_TOKEN_USED = Sql.of("UPDATE password_reset_tokens SET used_at = now() WHERE id = :id")
_RECORD_ATTEMPT = Sql.of(
    "INSERT INTO login_attempts (email, client_address) VALUES (:email, :client_address) "
    "RETURNING id"
)
# When the ``limit``-th most recent other attempt of the same key leaves the window.
_WAIT = (
    "SELECT attempted_at + CAST(:window AS interval) - now() FROM login_attempts "
    "WHERE {key} = :key AND id != :attempt_id "
    "AND attempted_at > now() - CAST(:window AS interval) "
    "ORDER BY attempted_at DESC LIMIT 1 OFFSET :skipped"
)
_WAIT_FOR_EMAIL = Sql.of(_WAIT.format(key="email"))
_WAIT_FOR_ADDRESS = Sql.of(_WAIT.format(key="client_address"))
_FORGET_ATTEMPT = Sql.of("DELETE FROM login_attempts WHERE id = :attempt_id")
# Skipping rows another transaction holds: see forget_failures.
_FORGET_FAILURES = Sql.of(
    "DELETE FROM login_attempts WHERE id IN ("
    "SELECT id FROM login_attempts WHERE email = :email FOR UPDATE SKIP LOCKED)"
)
_ADD_OUTBOX_MESSAGE = Sql.of(
    "INSERT INTO outbox (customer_id, kind, recipient, payload) "
    "VALUES (:customer_id, :kind, :recipient, :payload)"
)
_OUTBOX_MESSAGES = Sql.of(
    "SELECT id, customer_id, kind, recipient, payload, created_at, sent_at "
    "FROM outbox ORDER BY id DESC LIMIT :limit"
)
_PURGE_ATTEMPTS = Sql.of(
    "DELETE FROM login_attempts WHERE attempted_at < now() - CAST(:window AS interval)"
)
_PURGE_REFRESH_TOKENS = Sql.of("DELETE FROM refresh_tokens WHERE expires_at < now()")
_PURGE_RESET_TOKENS = Sql.of("DELETE FROM password_reset_tokens WHERE expires_at < now()")


@dataclass(frozen=True, slots=True)
class RefreshTokenRow:
    """What a refresh (or logout) reads of a stored refresh token (``models.RefreshToken``)."""

    id: int
    customer_id: str
    family_id: uuid.UUID
    used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class ResetTokenRow:
    """A usable password reset token (``models.PasswordResetToken``)."""

    id: int
    customer_id: str


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A message of the outbox (``models.OutboxMessage``)."""

    id: int
    customer_id: str
    kind: str
    recipient: str
    payload: dict[str, Any]
    created_at: datetime
    sent_at: datetime | None


class AuthRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    # credentials

    async def account(self, email: str) -> tuple[CustomerRow, str | None] | None:
        """The customer with this email and their password hash (None when they have none)."""
        row = await self.transaction.fetchrow(_ACCOUNT, email=email)
        if row is None:
            return None
        values = dict(row)
        password_hash: str | None = values.pop("password_hash")
        return CustomerRow(**values), password_hash

    async def password_hash(self, customer_id: str) -> str | None:
        password_hash: str | None = await self.transaction.fetchval(
            _PASSWORD_HASH, customer_id=customer_id
        )
        return password_hash

    async def set_password_hash(self, customer_id: str, password_hash: str) -> None:
        await self.transaction.execute(
            _SET_PASSWORD_HASH, customer_id=customer_id, password_hash=password_hash
        )

    # refresh tokens

    async def add_refresh_token(
        self, customer_id: str, family_id: uuid.UUID, token_hash: str, ttl: timedelta
    ) -> None:
        await self.transaction.execute(
            _ADD_REFRESH_TOKEN,
            customer_id=customer_id,
            family_id=family_id,
            token_hash=token_hash,
            ttl=ttl,
        )

    async def refresh_token_for_update(
        self, token_hash: str
    ) -> tuple[RefreshTokenRow, bool] | None:
        """The token, locked so concurrent uses queue up, and whether it has expired."""
        row = await self.transaction.fetchrow(_REFRESH_TOKEN_FOR_UPDATE, token_hash=token_hash)
        if row is None:
            return None
        values = dict(row)
        expired = bool(values.pop("expired"))
        return RefreshTokenRow(**values), expired

    async def mark_refresh_token_used(self, token_id: int) -> None:
        await self.transaction.execute(_MARK_REFRESH_TOKEN_USED, id=token_id)

    async def revoke_family(self, family_id: uuid.UUID) -> None:
        await self.transaction.execute(_REVOKE_FAMILY, family_id=family_id)

    async def revoke_sessions(self, customer_id: str) -> None:
        """Revoke every refresh token of the customer: all their sessions end."""
        await self.transaction.execute(_REVOKE_SESSIONS, customer_id=customer_id)

    # password reset tokens

    async def add_reset_token(self, customer_id: str, token_hash: str, ttl: timedelta) -> datetime:
        """Store the token's digest; returns its expiry."""
        expires_at: datetime = await self.transaction.fetchval(
            _ADD_RESET_TOKEN, customer_id=customer_id, token_hash=token_hash, ttl=ttl
        )
        return expires_at

    async def reset_requested_within(self, customer_id: str, interval: timedelta) -> bool:
        count = await self.transaction.fetchval(
            _RESET_REQUESTED_WITHIN, customer_id=customer_id, within=interval
        )
        return bool(count)

    async def discard_unused_reset_tokens(self, customer_id: str) -> None:
        await self.transaction.execute(_DISCARD_UNUSED_RESET_TOKENS, customer_id=customer_id)

    async def usable_reset_token(
        self, token_hash: str, *, for_update: bool = False
    ) -> ResetTokenRow | None:
        """The token when unused and unexpired (``for_update``: locked against a second use)."""
        statement = _USABLE_RESET_TOKEN_FOR_UPDATE if for_update else _USABLE_RESET_TOKEN_FOR_READ
        row = await self.transaction.fetchrow(statement, token_hash=token_hash)
        return ResetTokenRow(**row) if row else None

    async def mark_reset_token_used(self, token_id: int) -> None:
        await self.transaction.execute(_MARK_RESET_TOKEN_USED, id=token_id)

    # login attempts

    async def record_attempt(self, email: str, client_address: str) -> int:
        attempt_id: int = await self.transaction.fetchval(
            _RECORD_ATTEMPT, email=email, client_address=client_address
        )
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
            await self._wait(_WAIT_FOR_EMAIL, email, attempt_id, limit_per_email, window),
            await self._wait(
                _WAIT_FOR_ADDRESS, client_address, attempt_id, limit_per_address, window
            ),
        ]
        blocking = [wait for wait in waits if wait is not None]
        return max(blocking) if blocking else None

    async def _wait(
        self, statement: Sql, key: str, attempt_id: int, limit: int, window: timedelta
    ) -> timedelta | None:
        """When the ``limit``-th most recent other attempt leaves the window, one more may come."""
        wait: timedelta | None = await self.transaction.fetchval(
            statement, key=key, attempt_id=attempt_id, window=window, skipped=limit - 1
        )
        return wait

    async def forget_attempt(self, attempt_id: int) -> None:
        await self.transaction.execute(_FORGET_ATTEMPT, attempt_id=attempt_id)

    async def forget_failures(self, email: str) -> None:
        """Delete the email's attempts, skipping rows another transaction holds.

        Concurrent successful logins sweep the same rows; waiting for each other's row locks
        would deadlock, and a row another sweep holds is being deleted anyway.
        """
        await self.transaction.execute(_FORGET_FAILURES, email=email)

    # outbox

    async def add_outbox_message(
        self, customer_id: str, kind: str, recipient: str, payload: dict[str, Any]
    ) -> None:
        await self.transaction.execute(
            _ADD_OUTBOX_MESSAGE,
            customer_id=customer_id,
            kind=kind,
            recipient=recipient,
            payload=payload,
        )

    async def outbox_messages(self, limit: int) -> list[OutboxRow]:
        rows = await self.transaction.fetch(_OUTBOX_MESSAGES, limit=limit)
        return [OutboxRow(**row) for row in rows]

    # housekeeping

    async def purge_expired(self, login_window: timedelta) -> None:
        """Drop attempts older than the throttle window and tokens past their expiry."""
        await self.transaction.execute(_PURGE_ATTEMPTS, window=login_window)
        for statement in (_PURGE_REFRESH_TOKENS, _PURGE_RESET_TOKENS):
            await self.transaction.execute(statement)
