"""Credentials and the tokens hung off a customer; deleting the customer deletes them all."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from customers.models import Table


def _customer_fk(*, primary_key: bool = False) -> Any:
    return Field(
        sa_column=Column(
            Text,
            ForeignKey("customers.customers.customer_id", ondelete="CASCADE"),
            primary_key=primary_key,
            nullable=False,
            index=not primary_key,
        )
    )


def _identity() -> Any:
    return Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))


def _timestamp(*, nullable: bool = False, now: bool = False) -> Any:
    default = func.now() if now else None
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=nullable, server_default=default),
    )


def _sha256_hex(column: str, table: str) -> CheckConstraint:
    return CheckConstraint(f"{column} ~ '^[0-9a-f]{{64}}$'", name=f"{table}_{column}_sha256")


class Credential(Table, table=True):
    """A customer's password, only ever as an argon2id hash (the database refuses anything else)."""

    __tablename__ = "credentials"
    __table_args__ = (
        CheckConstraint(
            "password_hash LIKE '$argon2id$%'", name="credentials_password_hash_argon2id"
        ),
    )

    customer_id: str = _customer_fk(primary_key=True)
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = _timestamp(now=True)


class RefreshToken(Table, table=True):
    """An opaque refresh token, stored as its SHA-256; a login starts a family, each use rotates."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (_sha256_hex("token_hash", "refresh_tokens"),)

    id: int | None = _identity()
    customer_id: str = _customer_fk()
    family_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False, index=True))
    token_hash: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    created_at: datetime = _timestamp(now=True)
    expires_at: datetime = _timestamp()
    used_at: datetime | None = _timestamp(nullable=True)
    revoked_at: datetime | None = _timestamp(nullable=True)


class PasswordResetToken(Table, table=True):
    """A single-use reset token (stored as its SHA-256)."""

    __tablename__ = "password_reset_tokens"
    __table_args__ = (_sha256_hex("token_hash", "password_reset_tokens"),)

    id: int | None = _identity()
    customer_id: str = _customer_fk()
    token_hash: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    created_at: datetime = _timestamp(now=True)
    expires_at: datetime = _timestamp()
    used_at: datetime | None = _timestamp(nullable=True)


class LoginAttempt(Table, table=True):
    """A login attempt in flight or failed, counted by the throttle within its window."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_attempted_at", "email", "attempted_at"),
        Index("ix_login_attempts_client_address_attempted_at", "client_address", "attempted_at"),
        Index("ix_login_attempts_attempted_at", "attempted_at"),
    )

    id: int | None = _identity()
    email: str = Field(sa_column=Column(Text, nullable=False))
    client_address: str = Field(sa_column=Column(Text, nullable=False))
    attempted_at: datetime = _timestamp(now=True)


class OutboxMessage(Table, table=True):
    """A message for a customer, waiting for whatever delivers mail to pick it up."""

    __tablename__ = "outbox"

    id: int | None = _identity()
    customer_id: str = _customer_fk()
    kind: str = Field(sa_column=Column(Text, nullable=False))
    recipient: str = Field(sa_column=Column(Text, nullable=False))
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = _timestamp(now=True)
    sent_at: datetime | None = _timestamp(nullable=True)
