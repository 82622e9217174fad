from fastapi import FastAPI

from common.app import create_service_app
from customers.config import Settings
from customers.routes import router

DESCRIPTION = (
    "Identity provider of the platform (signup, login, tokens, JWKS, password reset, "
    "roles) and the customer records."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="customers", settings=settings or Settings(), routers=[router], description=DESCRIPTION
    )
