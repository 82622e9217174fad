"""The app factory: each service's ``main.py`` is a call to ``create_service_app``."""

import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from pydantic import BaseModel

from common.auth import KeySource, RemoteJWKS, StaticKeys, TokenVerifier
from common.database import Database, resolve_database_url
from common.docs import install_docs
from common.errors import ServiceUnavailable
from common.logging import configure_logging, write_logs_directly
from common.metrics import exposition, worker_exited
from common.middleware import HttpMetrics, RequestContextMiddleware
from common.problems import ConstraintProblems, install_problem_handlers, use_problem_documents
from common.routing import install_routing_rules
from common.schemas import document_nul_refusal
from common.settings import CommonSettings
from common.tracing import instrument_app

logger = logging.getLogger(__name__)
ExtraLifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]


def ops_router(prefix: str, registry: CollectorRegistry) -> APIRouter:
    """``/<prefix>/healthz``, ``/<prefix>/readyz`` and ``/<prefix>/metrics``."""
    router = APIRouter(prefix=f"/{prefix}", tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> Health:
        return Health(status="ok")

    @router.get(
        "/readyz",
        summary="The database answers",
        responses={503: {"description": "The database is unreachable"}},
    )
    async def readyz(request: Request) -> Readiness:
        database: Database = request.app.state.db
        try:
            await database.ping()
        except Exception as exc:
            logger.warning("readiness check failed", extra={"error": repr(exc)})
            raise ServiceUnavailable("The database is unreachable") from exc
        return Readiness(status="ready")

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(exposition(registry), media_type=CONTENT_TYPE_LATEST)

    return router


def operation_id(route: APIRoute) -> str:
    """``<tag>-<function>`` (``points-add_transaction``): generated clients name their calls so."""
    tag = route.tags[0] if route.tags else "default"
    return f"{re.sub(r'[^a-z0-9]+', '_', str(tag).lower()).strip('_')}-{route.name}"


def _key_source(settings: CommonSettings, http: httpx.AsyncClient) -> KeySource:
    if settings.auth_public_key:
        return StaticKeys.from_pem(settings.auth_public_key)
    return RemoteJWKS(
        settings.auth_jwks_url,
        http,
        cache_seconds=settings.jwks_cache_seconds,
        min_refetch_seconds=settings.jwks_min_refetch_seconds,
    )


def _point_password_flows_at(app: FastAPI, login_url: str) -> None:
    """Make the OAuth2 password flow of ``app.openapi()`` post to the identity provider's login."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for scheme in schema.get("components", {}).get("securitySchemes", {}).values():
            password_flow = scheme.get("flows", {}).get("password")
            if password_flow is not None:
                password_flow["tokenUrl"] = login_url
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_service_app(
    *,
    name: str,
    settings: CommonSettings,
    routers: Sequence[APIRouter],
    description: str = "",
    version: str = "0.1.0",
    key_source: Callable[[FastAPI], KeySource] | None = None,
    lifespan: ExtraLifespan | None = None,
    constraint_problems: ConstraintProblems | None = None,
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    """A FastAPI app serving every route under ``/<name>/`` (docs, health, metrics included).

    The lifespan opens the database pool, an httpx client and the token verifier; ``lifespan``
    adds the service's own resources inside that; ``key_source`` replaces the configured keys
    (customers verifies with the keys it signs with). ``constraint_problems`` names the problem
    each database constraint's refusal answers; ``body_limits`` gives bulk routes (a path, or a
    prefix ending in ``/``) a body limit other than ``MAX_BODY_BYTES``.
    """
    configure_logging(settings.log_level, default_service=name)
    registry = CollectorRegistry()

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.db = Database(
            resolve_database_url(settings),
            schema=name,
            pool_size=settings.db_pool_size,
            statement_timeout_ms=settings.db_statement_timeout_ms,
            bulk_statement_timeout_ms=settings.db_bulk_statement_timeout_ms,
        )
        app.state.http = httpx.AsyncClient()
        keys = key_source(app) if key_source else _key_source(settings, app.state.http)
        app.state.verifier = TokenVerifier(
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            keys=keys,
            leeway_seconds=settings.auth_leeway_seconds,
        )
        try:
            if lifespan:
                async with lifespan(app):
                    yield
            else:
                yield
        finally:
            await app.state.http.aclose()
            await app.state.db.dispose()
            worker_exited()
            write_logs_directly()

    app = FastAPI(
        title=name,
        description=description,
        version=version,
        lifespan=run,
        docs_url=None,  # install_docs serves it with local assets
        redoc_url=None,
        openapi_url=f"/{name}/openapi.json",
        # Traces come from common.tracing's instrumentation; FastAPI's own would check the
        # global OpenTelemetry providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        generate_unique_id_function=operation_id,
    )
    install_routing_rules(app)
    install_problem_handlers(app, constraint_problems)
    use_problem_documents(app, document_nul_refusal)
    _point_password_flows_at(app, settings.auth_login_url)
    app.add_middleware(
        RequestContextMiddleware,
        service=name,
        metrics=HttpMetrics(registry),
        max_body_bytes=settings.max_body_bytes,
        body_limits=body_limits,
        attempts=settings.db_transaction_attempts,
    )
    app.include_router(ops_router(name, registry))
    install_docs(app, name)
    for router in routers:
        app.include_router(router)
    instrument_app(app, name)
    return app
