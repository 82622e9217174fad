"""Three routing rules FastAPI's router lacks, for every service.

1. A path a literal route serves belongs to it, as OpenAPI matches concrete paths before
   templated ones: ``DELETE /shop/items/latest`` is a 405 when that path serves only GET, never
   a 422 from ``DELETE /shop/items/{item_id}`` taking "latest" for an id.
2. A 405 lists in ``Allow`` every method the path serves, not only the first matching route's.
3. The trailing-slash redirect (``/shop/items/`` to ``/shop/items``) is relative, so a
   ``Location`` never carries the client's ``Host`` header (nor a scheme the service cannot know).
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse
from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

# What a path keeps unescaped in a Location: RFC 3986's pchar and "/".
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


@dataclass(frozen=True)
class Endpoint:
    """One route as dispatch sees it: its path pattern and the methods it serves."""

    regex: re.Pattern[str]
    methods: frozenset[str]
    template: bool


def get_route_path(scope: Scope) -> str:
    """The path the routes match: the request's path below the app's ``root_path``."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class RouteTable:
    """The app's routes, flattened, recomputed when routes are added."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self._seen = -1
        self._endpoints: list[Endpoint] = []
        self._literal: dict[str, frozenset[str]] = {}

    def _refresh(self) -> None:
        if self._seen == len(self.router.routes):
            return
        endpoints: list[Endpoint] = []
        literal: dict[str, frozenset[str]] = {}
        for route in iter_route_contexts(self.router.routes):
            regex, path = getattr(route, "path_regex", None), getattr(route, "path", None)
            if regex is None or path is None:
                continue
            methods = frozenset(route.methods or ())
            template = bool(getattr(route, "param_convertors", None))
            endpoints.append(Endpoint(regex, methods, template))
            if not template and methods:
                literal[path] = literal.get(path, frozenset()) | methods
        self._endpoints, self._literal, self._seen = endpoints, literal, len(self.router.routes)

    def literal_methods(self, path: str) -> frozenset[str] | None:
        """The methods served at ``path`` when a route without parameters owns it."""
        self._refresh()
        return self._literal.get(path)

    def matching(self, path: str) -> Iterator[Endpoint]:
        self._refresh()
        return (endpoint for endpoint in self._endpoints if endpoint.regex.match(path))

    def allowed(self, path: str) -> frozenset[str]:
        """Every method served at ``path`` (by its literal route, when it has one)."""
        literal = self.literal_methods(path)
        if literal is not None:
            return literal
        return frozenset().union(*(endpoint.methods for endpoint in self.matching(path)))

    def serves(self, path: str) -> bool:
        return any(True for _ in self.matching(path))


def method_not_allowed(allowed: frozenset[str]) -> HTTPException:
    return HTTPException(405, headers={"Allow": ", ".join(sorted(allowed))})


class LiteralPaths:
    """Before dispatch: a method a literal path does not serve is a 405 (rule 1)."""

    def __init__(self, app: ASGIApp, table: RouteTable) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            methods = self.table.literal_methods(get_route_path(scope))
            if methods is not None and scope["method"] not in methods:
                scope.setdefault("router", self.table.router)
                raise method_not_allowed(methods)
        await self.app(scope, receive, send)


class SlashRedirect:
    """When nothing serves a path: a relative redirect to the path with or without its trailing
    slash when a route serves that one (rule 3), else the router's own answer (a 404)."""

    def __init__(self, table: RouteTable, otherwise: ASGIApp) -> None:
        self.table = table
        self.otherwise = otherwise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        location = self.location(scope) if scope["type"] == "http" else None
        if location is None:
            await self.otherwise(scope, receive, send)
        else:
            await RedirectResponse(location)(scope, receive, send)

    def location(self, scope: Scope) -> str | None:
        path = get_route_path(scope)
        other = path.rstrip("/") if path.endswith("/") else path + "/"
        # "//host/..." would name another host; "/" has no other form.
        if path == "/" or not other.startswith("/") or other.startswith("//"):
            return None
        if not self.table.serves(other):
            return None
        location = quote(scope.get("root_path", "") + other, safe=_PATH_SAFE)
        query = scope.get("query_string", b"").decode("latin-1")
        return f"{location}?{query}" if query else location


def install_routing_rules(app: FastAPI) -> None:
    """Apply the three rules to ``app``; its 405 handler asks ``app.state.routes`` (rule 2)."""
    table = RouteTable(app.router)
    app.state.routes = table
    router = app.router
    router.redirect_slashes = False
    router.default = SlashRedirect(table, router.default)
    router.middleware_stack = LiteralPaths(router.middleware_stack, table)
