"""``make dev``: all five services in one process, at the same URLs as behind the gateway.

Nothing strips prefixes, so the dispatcher only picks the app that owns a path's first segment.
It answers as the gateway does where the gateway differs from a service's own port: no
``/<prefix>/metrics`` (404; ``make stack`` serves them on each service's port), and no proxy in
front, so no ``X-Forwarded-For`` is believed (the login throttle counts the real peer).
"""

import importlib
import json
import logging
import os
import re
import secrets
import signal
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from passlib.hash import argon2
from starlette.types import ASGIApp, Receive, Scope, Send

from common.database import resolve_database_url
from common.logging import configure_logging
from common.middleware import REQUEST_ID_HEADER, request_id
from common.migrations import upgrade
from common.problems import PROBLEM_JSON, problem_body
from common.settings import CommonSettings
from customers.config import Settings as CustomersSettings

GATEWAY_DIR = Path(__file__).resolve().parent
# Services that call customers with a client-credentials token: client id -> its secret variable.
SERVICE_CLIENT_SECRETS = {"appointments": "APPOINTMENTS_CLIENT_SECRET"}
ROOT = GATEWAY_DIR.parent
# What nginx refuses (its location for metrics): the scraper's way in is a service's own port.
GATEWAY_REFUSES = re.compile(r"^/[^/]+/metrics(?:/|$)")
logger = logging.getLogger("devserver")


def routing_table() -> dict[str, str]:
    """Prefix -> service name, from ``services.json``."""
    services = json.loads((GATEWAY_DIR / "services.json").read_text())["services"]
    return {prefix: service["name"] for service in services for prefix in service["prefixes"]}


class PrefixDispatcher:
    """An ASGI app that hands each request to the service owning its first path segment."""

    def __init__(self, apps: dict[str, FastAPI], routes: dict[str, str]) -> None:
        self.apps = apps
        self.by_prefix: dict[str, ASGIApp] = {prefix: apps[name] for prefix, name in routes.items()}
        self.index = (GATEWAY_DIR / "index.html").read_bytes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        segment = scope["path"].split("/")[1]
        app = self.by_prefix.get(segment)
        if scope["type"] == "http" and GATEWAY_REFUSES.match(scope["path"]):
            await self._not_found(scope, send)
        elif app is not None:
            await app(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == "/":
            await self._respond(send, 200, "text/html; charset=utf-8", self.index)
        elif scope["type"] == "http":
            await self._not_found(scope, send)

    async def _not_found(self, scope: Scope, send: Send) -> None:
        """A problem+json 404 with a request id, as nginx answers a path no service serves."""
        identifier = request_id(scope)
        body = problem_body(
            404,
            instance=scope["path"],
            detail="No service serves this path",
            extra={"request_id": identifier},
        )
        await self._respond(
            send, 404, PROBLEM_JSON, json.dumps(body).encode(), request_id=identifier
        )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        async with AsyncExitStack() as stack:
            try:
                for app in self.apps.values():
                    await stack.enter_async_context(app.router.lifespan_context(app))
            except Exception as exc:
                logger.exception("startup failed")
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})

    @staticmethod
    async def _respond(
        send: Send, status: int, content_type: str, body: bytes, *, request_id: str | None = None
    ) -> None:
        headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
        if request_id is not None:
            headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def wire_service_clients(port: int) -> None:
    """Let each service that calls customers get a client-credentials token, unconfigured.

    A client whose secret variable and whose CUSTOMERS_SERVICE_CLIENTS entry are both unset gets
    a fresh secret for this run (what ``customers service-client`` makes by hand); any client
    configured by hand is left alone. The calls go through the gateway's port.
    """
    clients = json.loads(os.environ.get("CUSTOMERS_SERVICE_CLIENTS") or "{}")
    for client_id, secret_variable in SERVICE_CLIENT_SECRETS.items():
        if client_id in clients or secret_variable in os.environ:
            continue
        secret = secrets.token_urlsafe(32)
        clients[client_id] = client_secret_hash(secret)
        os.environ[secret_variable] = secret
    os.environ["CUSTOMERS_SERVICE_CLIENTS"] = json.dumps(clients)
    os.environ.setdefault("APPOINTMENTS_CUSTOMERS_URL", f"http://127.0.0.1:{port}")


def client_secret_hash(secret: str) -> str:
    """The argon2id hash customers checks a client's secret against, at customers' cost."""
    settings = CustomersSettings()
    hasher = argon2.using(
        type="ID",
        memory_cost=settings.argon2_memory_kib,
        rounds=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
    )
    return str(hasher.hash(secret))


def prepare_environment(port: int) -> None:
    """One database for every service (embedded unless DATABASE_URL), migrated to head, and the
    service clients of customers wired up."""
    os.environ["DATABASE_URL"] = resolve_database_url(CommonSettings())
    os.environ.setdefault("AUTH_JWKS_URL", f"http://127.0.0.1:{port}/auth/jwks.json")
    os.environ.setdefault("AUTH_ISSUER", f"http://localhost:{port}/auth")
    wire_service_clients(port)
    for name in sorted(set(routing_table().values())):
        upgrade(ROOT / "services" / name)
        logger.info("migrated", extra={"schema": name})


def build() -> PrefixDispatcher:
    routes = routing_table()
    apps = {
        name: importlib.import_module(f"{name}.main").create_app()
        for name in sorted(set(routes.values()))
    }
    return PrefixDispatcher(apps, routes)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """uvicorn re-raises SIGTERM once it has shut down; exit normally so atexit stops PostgreSQL."""
    sys.exit(0)


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    port = int(os.environ.get("PORT", "8000"))
    host = os.environ.get("HOST", "127.0.0.1")
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"), default_service="devserver")
    prepare_environment(port)
    logger.info("serving", extra={"url": f"http://{host}:{port}/"})
    # proxy_headers=False: uvicorn would otherwise take X-Forwarded-For from any loopback peer
    # as the client's address, so a local client could rotate it past the login throttle.
    uvicorn.run(build(), host=host, port=port, log_config=None, proxy_headers=False)


if __name__ == "__main__":
    main()
