"""Errors the domain layer raises; the app turns each into an RFC 9457 problem response.

No FastAPI here, so ``service.py`` modules can raise them without depending on the web layer.
"""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar


class ProblemError(Exception):
    """Base of every error that becomes a problem+json response."""

    status: ClassVar[int] = 500
    problem_type: ClassVar[str] = "about:blank"

    def __init__(
        self,
        detail: str | None = None,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.default_title())
        self.detail = detail
        self.title = title or self.default_title()
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    @classmethod
    def default_title(cls) -> str:
        return HTTPStatus(cls.status).phrase


class BadRequest(ProblemError):
    status = 400


class Unauthorized(ProblemError):
    status = 401

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(ProblemError):
    status = 403


class NotFound(ProblemError):
    status = 404


class Conflict(ProblemError):
    status = 409


class Unprocessable(ProblemError):
    status = 422


class TooManyRequests(ProblemError):
    status = 429

    def __init__(self, detail: str | None = None, *, retry_after: int, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(max(1, retry_after))})
        super().__init__(detail, **kwargs)


class ServiceUnavailable(ProblemError):
    status = 503


class UnsupportedMediaType(ProblemError):
    status = 415
