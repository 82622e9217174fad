"""RFC 9457 ``application/problem+json`` responses for every error a service can produce."""

import json
import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from asyncpg import IntegrityConstraintViolationError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.context import current_request
from common.database import EXCLUSION_VIOLATION, UNIQUE_VIOLATION, constraint_name, sqlstate
from common.docs import name_documented_bodies
from common.errors import Conflict, ProblemError
from common.routing import get_route_path

ConstraintProblems = Mapping[str, ProblemError]
"""The problem a service answers when a named constraint refuses a write."""

DocumentRewrite = Callable[[dict[str, Any]], dict[str, Any]]
PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger(__name__)


def documented_problem(description: str) -> dict[str, Any]:
    """An entry of a route's OpenAPI ``responses``: this error, answered as problem+json."""
    return {"description": description, "content": {PROBLEM_JSON: {}}}


def problem_body(
    status: int,
    *,
    instance: str,
    title: str | None = None,
    detail: str | None = None,
    problem_type: str = "about:blank",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or HTTPStatus(status).description,
        "instance": instance,
    }
    context = current_request()
    if context:
        body["request_id"] = context.request_id
    body.update(extra or {})
    return body


def problem_response(
    status: int,
    *,
    instance: str,
    headers: Mapping[str, str] | None = None,
    **fields: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, instance=instance, **fields),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Where and why, never the offending input (it may be a password)."""
    return [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in exc.errors()
    ]


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status,
        instance=request.url.path,
        headers=exc.headers,
        title=exc.title,
        detail=exc.detail,
        problem_type=exc.problem_type,
        extra=exc.extra,
    )


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    if exc.status_code == 404 and detail is None:
        detail = f"Nothing is served at {request.url.path}"
    headers = exc.headers
    if exc.status_code == 405:
        detail = detail or f"{request.method} is not allowed on {request.url.path}"
        headers = _complete_allow(request, headers)
    return problem_response(
        exc.status_code, instance=request.url.path, headers=headers, detail=detail
    )


def _complete_allow(
    request: Request, headers: Mapping[str, str] | None
) -> Mapping[str, str] | None:
    """Every method the path serves (a route's own 405 names only its own methods)."""
    routes = getattr(request.app.state, "routes", None)
    if routes is None:
        return headers
    allowed = routes.allowed(get_route_path(request.scope))
    return {**(headers or {}), "Allow": ", ".join(sorted(allowed))} if allowed else headers


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(
        422,
        instance=request.url.path,
        detail="The request is not valid; see errors",
        extra={"errors": _validation_errors(exc)},
    )


def integrity_problem(error: Exception, registered: ConstraintProblems) -> ProblemError | None:
    """The problem for a refused write: the one registered for its constraint, else a Conflict
    for a unique or exclusion violation; None for a check or foreign key nobody registered (a bug).
    """
    name = constraint_name(error)
    if name is not None and name in registered:
        return registered[name]
    if sqlstate(error) in {UNIQUE_VIOLATION, EXCLUSION_VIOLATION}:
        return Conflict("The request conflicts with data that already exists")
    return None


def _integrity_handler(registered: ConstraintProblems) -> Any:
    async def on_integrity_error(request: Request, exc: Exception) -> JSONResponse:
        problem = integrity_problem(exc, registered)
        if problem is None:
            logger.error(
                "unregistered constraint refused a write",
                extra={"sqlstate": sqlstate(exc), "constraint": constraint_name(exc)},
            )
            return problem_response(500, instance=request.url.path)
        return await _on_problem(request, problem)

    return on_integrity_error


def install_problem_handlers(
    app: FastAPI, constraint_problems: ConstraintProblems | None = None
) -> None:
    """Every error as problem+json; database errors by SQLSTATE and constraint name."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(
        IntegrityConstraintViolationError, _integrity_handler(constraint_problems or {})
    )


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Validation errors: where (loc) and why (msg), never the value",
            "items": {"type": "object"},
        },
    },
}
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite an OpenAPI document so every error response is problem+json.

    FastAPI documents its 422 as ``application/json`` with its own schema; this platform answers
    every error, 422 included, as ``application/problem+json``. Every operation also lists 400
    (the middleware's answer to a NUL byte, Starlette's to an undecodable body); secured ones
    list 401 and 403.
    """
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            responses.setdefault("400", {"description": "A malformed request"})
            if operation.get("security"):
                responses.setdefault("401", {"description": "No valid bearer token"})
                responses.setdefault("403", {"description": "The caller may not do this"})
            for code, response in responses.items():
                if code[:1] in {"4", "5"} and not _has_own_error_shape(response):
                    ref = {"$ref": "#/components/schemas/Problem"}
                    response["content"] = {PROBLEM_JSON: {"schema": ref}}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        if f"#/components/schemas/{name}" not in json.dumps(schema):
            components.pop(name, None)
    return schema


def _has_own_error_shape(response: dict[str, Any]) -> bool:
    """Whether a route documents an error shape of its own on purpose (a schema it names).

    FastAPI's own 422 (its validation schemas) and ``documented_problem`` entries do not count.
    """
    return any(
        media_type != PROBLEM_JSON
        and "schema" in body
        and not any(name in json.dumps(body["schema"]) for name in _FASTAPI_VALIDATION_SCHEMAS)
        for media_type, body in response.get("content", {}).items()
    )


def use_problem_documents(app: FastAPI, *rewrites: DocumentRewrite) -> None:
    """Make ``app.openapi()`` return the document with every error as problem+json (and the
    bodies of ``common.docs.documented_body`` named in its components), then rewritten by each
    of ``rewrites``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = name_documented_bodies(document_problems(generate()))
            for rewrite in rewrites:
                document = rewrite(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
