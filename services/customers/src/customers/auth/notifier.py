"""How messages reach customers: an interface, and the built-in transactional outbox."""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from common.sql import Transaction
from customers.auth.repository import AuthRepository

logger = logging.getLogger(__name__)
VISIBLE_TOKEN_CHARS = 4


@dataclass(frozen=True)
class PasswordResetMessage:
    customer_id: str
    email: str
    token: str
    expires_at: datetime


class Notifier(Protocol):
    async def password_reset(self, transaction: Transaction, message: PasswordResetMessage) -> None:
        """Send (or queue, in ``transaction``) the reset token to the customer."""
        ...


def masked(token: str) -> str:
    return token[:VISIBLE_TOKEN_CHARS] + "*" * (len(token) - VISIBLE_TOKEN_CHARS)


class OutboxNotifier:
    """Writes each message to the ``outbox`` table, in the same transaction as the token.

    A mail relay delivers from there. In development, where no relay runs, the token is logged
    whole at INFO (what the dev server shows) and ``customers outbox`` lists it; elsewhere the
    log shows it masked, at DEBUG.
    """

    def __init__(self, *, reveal_tokens: bool) -> None:
        self.reveal_tokens = reveal_tokens

    async def password_reset(self, transaction: Transaction, message: PasswordResetMessage) -> None:
        payload = {"token": message.token, "expires_at": message.expires_at.isoformat()}
        await AuthRepository(transaction).add_outbox_message(
            message.customer_id, "password_reset", message.email, payload
        )
        logger.log(
            logging.INFO if self.reveal_tokens else logging.DEBUG,
            "password reset token queued",
            extra={
                "customer_id": message.customer_id,
                "token": message.token if self.reveal_tokens else masked(message.token),
                "expires_at": message.expires_at.isoformat(),
            },
        )
