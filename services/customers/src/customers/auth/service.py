"""Rules of identity: signup, login with throttling, token rotation, password reset and change."""

import logging
import math
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta

from common.auth import Principal
from common.errors import BadRequest, Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized
from common.sql import DriverPool, Transaction
from customers.auth.notifier import Notifier, OutboxNotifier, PasswordResetMessage
from customers.auth.repository import AuthRepository, OutboxRow
from customers.auth.schemas import SignupRequest
from customers.auth.tokens import AccessToken, TokenIssuer, digest, new_opaque_token
from customers.config import Settings
from customers.keys import load_keyring
from customers.passwords import PasswordHasher, PasswordPolicy
from customers.records.repository import CustomerRepository, CustomerRow
from customers.records.service import new_customer_id, require_offered_language

SERVICE_SUBJECT_PREFIX = "client:"  # ':' never occurs in a customer id, so subjects cannot clash
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuthComponents:
    """What every request's AuthService shares, built once per app (or per command)."""

    settings: Settings
    hasher: PasswordHasher
    policy: PasswordPolicy
    tokens: TokenIssuer
    notifier: Notifier

    @classmethod
    def from_settings(
        cls, settings: Settings, notifier: Notifier | None = None
    ) -> "AuthComponents":
        return cls(
            settings=settings,
            hasher=PasswordHasher.from_settings(settings),
            policy=PasswordPolicy(settings.password_min_score),
            tokens=TokenIssuer(
                load_keyring(settings),
                issuer=settings.auth_issuer,
                audience=settings.auth_audience,
                ttl_seconds=settings.access_token_ttl_seconds,
            ),
            notifier=notifier or OutboxNotifier(reveal_tokens=settings.env == "development"),
        )


class PasswordNotReplaced(Conflict):
    """The account exists with another password, and replacing it was not asked for."""


@dataclass(frozen=True)
class TokenPair:
    access: AccessToken
    refresh_token: str


def personal_words(email: str) -> list[str]:
    """What a password must not be built from: the email and the words of its local part."""
    local_part = email.split("@", 1)[0]
    return [email, local_part, *re.split(r"[._+-]+", local_part)]


@dataclass(frozen=True)
class _Step:
    """The repositories of a step committed on its own (``AuthService._step``)."""

    auth: AuthRepository
    customers: CustomerRepository


class AuthService:
    """``transaction``: the unit of work of the request (or command), committed when it ends.

    A use case that must keep a change although it then fails (a login attempt, a revoked
    family), or must not hold a pooled connection while a password hashes, runs the statements
    before that point as steps of their own (``_step``, a transaction on ``driver`` committed
    when its block ends) and the rest in ``transaction``, begun only then.
    """

    def __init__(
        self, transaction: Transaction, components: AuthComponents, driver: DriverPool
    ) -> None:
        self.transaction = transaction
        self.driver = driver
        self.components = components
        self.settings = components.settings
        self.auth = AuthRepository(transaction)
        self.customers = CustomerRepository(transaction)

    async def signup(self, data: SignupRequest) -> CustomerRow:
        require_offered_language(data.language, self.settings.allowed_languages)
        async with self._step() as step:  # ended before the password hashes
            taken = await step.customers.by_email(data.email)
        if taken:
            raise _email_taken()
        await self.components.policy.check(
            data.password, personal=personal_words(data.email), field="password"
        )
        password_hash = await self.components.hasher.hash(data.password)
        # a concurrent signup that won the race: customers_email_key refuses this one (409)
        customer = await self.customers.insert(
            customer_id=new_customer_id(),
            email=data.email,
            country=data.country,
            language=data.language,
        )
        await self.auth.set_password_hash(customer.customer_id, password_hash)
        return customer

    async def login(self, email: str, password: str, client_address: str) -> TokenPair:
        """Tokens for a right password; the same 401, in the same time, for any wrong pair."""
        await self._admit_attempt(email, client_address)
        async with self._step() as step:  # ended before the password hashes
            account = await step.auth.account(email)
        customer, password_hash = account or (None, None)
        matches = await self.components.hasher.verify(password, password_hash)
        if customer is None or password_hash is None or not matches:
            raise Unauthorized("The email or password is wrong")
        if self.components.hasher.needs_rehash(password_hash):  # the parameters were raised
            new_hash = await self.components.hasher.hash(password)
            await self.auth.set_password_hash(customer.customer_id, new_hash)
        await self.auth.forget_failures(email)  # this attempt's row included
        return await self._issue(customer, family_id=uuid.uuid4())

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the token is spent and a new one returned; a spent token revokes its family."""
        found = await self.auth.refresh_token_for_update(digest(refresh_token))
        if found is None:
            raise _invalid_refresh_token()
        stored, expired = found
        if stored.used_at is not None:
            await self.auth.revoke_family(stored.family_id)
            # The revocation stays although the request fails: its unit of work is committed
            # and ended here (common refuses any statement after this).
            await self.transaction.end(commit=True)
            logger.warning("refresh token reused", extra={"customer_id": stored.customer_id})
            raise _invalid_refresh_token()
        if stored.revoked_at is not None or expired:
            raise _invalid_refresh_token()
        customer = await self.customers.by_id(stored.customer_id)
        assert customer is not None  # the foreign key guarantees it
        await self.auth.mark_refresh_token_used(stored.id)
        return await self._issue(customer, family_id=stored.family_id)

    async def logout(self, refresh_token: str) -> None:
        """End the session the token belongs to; unknown tokens are ignored."""
        found = await self.auth.refresh_token_for_update(digest(refresh_token))
        if found:
            await self.auth.revoke_family(found[0].family_id)

    async def with_current_roles(self, caller: Principal) -> Principal:
        """``caller`` with the roles their account holds now: none once it is deleted.

        A service client keeps the token's roles while it is still configured.
        """
        if caller.subject.startswith(SERVICE_SUBJECT_PREFIX):
            client_id = caller.subject.removeprefix(SERVICE_SUBJECT_PREFIX)
            configured = client_id in self.settings.service_clients
            return caller if configured else replace(caller, roles=frozenset())
        customer = await self.customers.by_id(caller.subject)
        return replace(caller, roles=frozenset(customer.roles if customer else ()))

    async def me(self, caller: Principal) -> CustomerRow:
        return _the_callers(await self.customers.by_id(caller.subject))

    async def request_password_reset(self, email: str) -> None:
        """Send a reset token when the email is known (the caller cannot tell whether it was)."""
        customer = await self.customers.by_email(email)
        if customer is None:
            return
        min_interval = timedelta(seconds=self.settings.password_reset_min_interval_seconds)
        if await self.auth.reset_requested_within(customer.customer_id, min_interval):
            return
        await self.auth.discard_unused_reset_tokens(customer.customer_id)
        token = new_opaque_token()
        ttl = timedelta(seconds=self.settings.password_reset_ttl_seconds)
        expires_at = await self.auth.add_reset_token(customer.customer_id, digest(token), ttl)
        message = PasswordResetMessage(customer.customer_id, customer.email, token, expires_at)
        await self.components.notifier.password_reset(self.transaction, message)

    async def confirm_password_reset(self, token: str, new_password: str) -> None:
        """Set the password, spend the token and end every session of the account."""
        async with self._step() as step:  # ended before the password hashes
            stored = await step.auth.usable_reset_token(digest(token))
            customer = await step.customers.by_id(stored.customer_id) if stored else None
        if customer is None:
            raise _invalid_reset_token()
        await self.components.policy.check(
            new_password, personal=personal_words(customer.email), field="new_password"
        )
        new_hash = await self.components.hasher.hash(new_password)
        stored = await self.auth.usable_reset_token(digest(token), for_update=True)
        if stored is None:  # spent by a concurrent confirmation meanwhile
            raise _invalid_reset_token()
        await self._set_password(customer, new_hash)
        await self.auth.mark_reset_token_used(stored.id)
        await self.auth.forget_failures(customer.email)

    async def change_password(
        self, caller: Principal, current_password: str, new_password: str, client_address: str
    ) -> None:
        """Like a login (throttled), then set the new password and end every session."""
        async with self._step() as step:
            customer = _the_callers(await step.customers.by_id(caller.subject))
        await self.components.policy.check(
            new_password, personal=personal_words(customer.email), field="new_password"
        )
        await self._admit_attempt(customer.email, client_address)
        async with self._step() as step:  # ended before the password hashes
            current_hash = await step.auth.password_hash(customer.customer_id)
        if not await self.components.hasher.verify(current_password, current_hash):
            raise Forbidden("The current password is wrong")
        new_hash = await self.components.hasher.hash(new_password)
        await self.auth.forget_failures(customer.email)
        await self._set_password(customer, new_hash)

    async def client_credentials(self, client_id: str, client_secret: str) -> AccessToken:
        """A ``service`` token for a configured client whose secret matches its hash."""
        secret_hash = self.settings.service_clients.get(client_id)
        if not await self.components.hasher.verify(client_secret, secret_hash):
            raise Unauthorized("The client id or secret is wrong")
        return self.components.tokens.access_token(SERVICE_SUBJECT_PREFIX + client_id, ["service"])

    async def ensure_admin(self, email: str, password: str, *, replace_password: bool) -> str:
        """Create an admin, or make the account an admin; says what it did.

        An account with another password keeps it (PasswordNotReplaced, nothing changed)
        unless ``replace_password``; replacing it ends every session of the account.
        """
        account = await self.auth.account(email)
        if account is None:
            await self.components.policy.check(
                password, personal=personal_words(email), field="password"
            )
            customer = await self.customers.insert(
                customer_id=new_customer_id(),
                email=email,
                country=None,
                language=None,
                roles=["admin"],
            )
            await self.auth.set_password_hash(
                customer.customer_id, await self.components.hasher.hash(password)
            )
            return "created the admin"
        customer, current_hash = account
        new_password = not await self.components.hasher.verify(password, current_hash)
        if new_password and current_hash is not None and not replace_password:
            raise PasswordNotReplaced(f"{email} exists and has another password")
        done = []
        if "admin" not in customer.roles:
            await self.customers.update(
                customer.customer_id, roles=sorted({*customer.roles, "admin"})
            )
            done.append("granted the admin role")
        if new_password:
            await self.components.policy.check(
                password, personal=personal_words(email), field="password"
            )
            await self._set_password(customer, await self.components.hasher.hash(password))
            done.append("set the password")
        return " and ".join(done) or "nothing to do: already an admin with this password"

    async def outbox(self, limit: int) -> list[OutboxRow]:
        """The newest messages waiting in (or sent from) the outbox, newest first."""
        return await self.auth.outbox_messages(limit)

    async def _issue(self, customer: CustomerRow, *, family_id: uuid.UUID) -> TokenPair:
        refresh_token = new_opaque_token()
        ttl = timedelta(seconds=self.settings.refresh_token_ttl_seconds)
        await self.auth.add_refresh_token(
            customer.customer_id, family_id, digest(refresh_token), ttl
        )
        access = self.components.tokens.access_token(
            customer.customer_id, customer.roles, customer.email
        )
        return TokenPair(access, refresh_token)

    async def _set_password(self, customer: CustomerRow, password_hash: str) -> None:
        """Store the new hash and revoke every refresh token of the account."""
        await self.auth.set_password_hash(customer.customer_id, password_hash)
        await self.auth.revoke_sessions(customer.customer_id)

    @asynccontextmanager
    async def _step(self) -> AsyncIterator[_Step]:
        """A transaction of its own, committed when the block ends (rolled back when it
        raises), its connection back in the pool then: what ``end_transaction_early`` did for
        the work before it. Only before the request's own statements (``self.transaction``)."""
        async with self.driver.transaction() as transaction:
            yield _Step(AuthRepository(transaction), CustomerRepository(transaction))

    async def _admit_attempt(self, email: str, client_address: str) -> None:
        """Record the attempt (committed at once, so other processes count it), then check.

        An attempt stays recorded unless it succeeds, so failures and attempts still in flight
        both count: a burst of parallel guesses cannot slip past the limit.
        """
        async with self._step() as step:
            attempt_id = await step.auth.record_attempt(email, client_address)
        async with self._step() as step:
            wait = await step.auth.wait_before_attempt(
                email=email,
                client_address=client_address,
                attempt_id=attempt_id,
                limit_per_email=self.settings.login_max_failures_per_email,
                limit_per_address=self.settings.login_max_failures_per_address,
                window=timedelta(seconds=self.settings.login_throttle_window_seconds),
            )
            if wait is not None:
                await step.auth.forget_attempt(attempt_id)  # forgotten although the request fails
        if wait is None:
            return
        raise TooManyRequests(
            "Too many failed logins; try again later",
            retry_after=math.ceil(wait.total_seconds()),
        )


async def purge_expired(transaction: Transaction, settings: Settings) -> None:
    """Housekeeping: drop login attempts and tokens nothing can use any more."""
    window = timedelta(seconds=settings.login_throttle_window_seconds)
    await AuthRepository(transaction).purge_expired(window)


def _the_callers(customer: CustomerRow | None) -> CustomerRow:
    if customer is None:
        raise NotFound("The token's subject is not a customer")
    return customer


def _email_taken() -> Conflict:
    return Conflict("A customer with this email exists; use the password reset to get access")


def _invalid_reset_token() -> BadRequest:
    return BadRequest("The reset token is unknown, used or expired")


def _invalid_refresh_token() -> Unauthorized:
    return Unauthorized("The refresh token is unknown, spent, revoked or expired")
