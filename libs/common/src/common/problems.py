"""RFC 9457 ``application/problem+json`` responses for every error a service can produce."""

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.context import current_request
from common.errors import ProblemError

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
    if exc.status_code == 405 and detail is None:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(
        exc.status_code, instance=request.url.path, headers=exc.headers, detail=detail
    )


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(
        422,
        instance=request.url.path,
        detail="The request is not valid; see errors",
        extra={"errors": _validation_errors(exc)},
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
