"""Lean twins of the services' hottest requests: the reference the services' cost is read against.

A twin is FastAPI + pydantic + an asyncpg pool + python-jose and nothing more: no ORM, no
middleware, no logging, no metrics. It sends the same SQL as the service and verifies the same
RS256 token with the same library, so what the service costs beyond its twin is what the platform
adds. Each twin serves ``/<service>/readyz`` for the benchmark runner.
"""

import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI, HTTPException, Request
from jose import jwk, jws
from jose.backends.base import Key

POOL_SIZE = 10


def lean_app(
    schema: str,
    setup: Callable[[FastAPI], None],
    init: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> FastAPI:
    """A FastAPI app with an asyncpg pool on ``schema`` and the routes ``setup`` adds; ``init``
    sets up each new connection of the pool (type codecs), as the service's pool does."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            # the services' form (a scratch database's URL) is SQLAlchemy's: asyncpg's is plain
            os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://", 1),
            min_size=POOL_SIZE,
            max_size=POOL_SIZE,
            server_settings={"search_path": schema},
            init=init,
            reset=_no_reset_query,
        )
        app.state.key = _public_key(os.environ["AUTH_PUBLIC_KEY"])
        try:
            yield
        finally:
            await app.state.pool.close()

    logging.getLogger("uvicorn.access").disabled = True  # no logging: not even uvicorn's line
    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get(f"/{schema}/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    setup(app)
    return app


async def _no_reset_query(_connection: asyncpg.Connection) -> None:
    """As the services' pool: no reset query when a connection goes back (common.sql)."""


def _public_key(configured: str) -> Key:
    """A PEM, or a JWK as JSON (customers' own key, read from its JWKS)."""
    return jwk.construct(
        json.loads(configured) if configured.startswith("{") else configured, "RS256"
    )


async def _claims(request: Request) -> dict[str, Any]:
    """The verified claims of the bearer token: signature, issuer, audience and expiry."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "A bearer token is required")
    try:
        claims: dict[str, Any] = json.loads(
            jws.verify(token, request.app.state.key, algorithms=["RS256"])
        )
    except Exception as exc:
        raise HTTPException(401, "The token is not valid") from exc
    if (
        claims.get("iss") != os.environ["AUTH_ISSUER"]
        or os.environ["AUTH_AUDIENCE"] not in [claims.get("aud")]
        or claims.get("exp", 0) <= time.time()
    ):
        raise HTTPException(401, "The token is not valid")
    return claims


Claims = Annotated[dict[str, Any], Depends(_claims)]


async def pool(request: Request) -> asyncpg.Pool:
    """The app's asyncpg pool."""
    return request.app.state.pool  # type: ignore[no-any-return]


Pool = Annotated[asyncpg.Pool, Depends(pool)]
