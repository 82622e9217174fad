from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from common.app import create_service_app
from common.auth import StaticKeys
from common.errors import Conflict
from customers.auth.housekeeping import housekeeping
from customers.auth.notifier import Notifier
from customers.auth.oauth import OAuthError, oauth_error_response
from customers.auth.password_resets import PasswordResetRequests
from customers.auth.routes import router as auth_router
from customers.auth.service import AuthComponents
from customers.config import Settings
from customers.records.routes import router as records_router

CONSTRAINT_PROBLEMS = {
    "customers_email_key": Conflict("A customer with this email exists"),
    "customers_pkey": Conflict("A customer with this id exists"),
}
DESCRIPTION = (
    "Identity provider of the platform (signup, login, tokens, JWKS, password reset, roles) "
    "and the customer records."
)


def create_app(settings: Settings | None = None, *, notifier: Notifier | None = None) -> FastAPI:
    """The customers app; it verifies tokens with the keys it signs with, not over HTTP."""
    settings = settings or Settings()
    components = AuthComponents.from_settings(settings, notifier)
    keyring = components.tokens.keyring
    password_resets = PasswordResetRequests()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            housekeeping(app.state.db, settings),
            password_resets.running(app.state.db, components),
        ):
            yield

    app = create_service_app(
        name="customers",
        settings=settings,
        routers=[auth_router, records_router],
        description=DESCRIPTION,
        key_source=lambda app: StaticKeys(keyring.public_jwks()),
        lifespan=lifespan,
        constraint_problems=CONSTRAINT_PROBLEMS,
    )
    app.add_exception_handler(OAuthError, oauth_error_response)  # /auth/token speaks RFC 6749
    app.state.auth = components
    app.state.keyring = keyring
    app.state.password_resets = password_resets
    return app
