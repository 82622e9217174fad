from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from common.app import create_service_app
from common.auth import StaticKeys
from customers.auth.housekeeping import housekeeping
from customers.auth.notifier import Notifier, OutboxNotifier
from customers.auth.routes import router as auth_router
from customers.auth.service import AuthComponents
from customers.auth.tokens import TokenIssuer
from customers.config import Settings
from customers.keys import load_keyring
from customers.passwords import PasswordHasher, PasswordPolicy
from customers.records.routes import router as records_router

DESCRIPTION = (
    "Identity provider of the platform (signup, login, tokens, JWKS, password reset, roles) "
    "and the customer records."
)


def create_app(settings: Settings | None = None, *, notifier: Notifier | None = None) -> FastAPI:
    """The customers app; it verifies tokens with the keys it signs with, not over HTTP."""
    settings = settings or Settings()
    keyring = load_keyring(settings)
    components = AuthComponents(
        settings=settings,
        hasher=PasswordHasher.from_settings(settings),
        policy=PasswordPolicy(settings.password_min_score),
        tokens=TokenIssuer(
            keyring,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            ttl_seconds=settings.access_token_ttl_seconds,
        ),
        notifier=notifier or OutboxNotifier(reveal_tokens=settings.env == "development"),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with housekeeping(app.state.db, settings):
            yield

    app = create_service_app(
        name="customers",
        settings=settings,
        routers=[auth_router, records_router],
        description=DESCRIPTION,
        key_source=lambda app: StaticKeys(keyring.public_jwks()),
        lifespan=lifespan,
    )
    app.state.auth = components
    app.state.keyring = keyring
    return app
