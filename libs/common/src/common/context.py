"""Per-request facts (request id, subject) visible to logging anywhere in the request."""

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass
class RequestContext:
    service: str
    request_id: str
    subject: str | None = None
    committed: bool = False
    """The attempt being run sent a COMMIT: it must not run again (``common.middleware``)."""


_current: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def current_request() -> RequestContext | None:
    return _current.get()


def set_current_request(context: RequestContext | None) -> Token[RequestContext | None]:
    return _current.set(context)


def note_commit() -> None:
    """A COMMIT is about to be sent for the request being served: from now on it is not safe
    to run that attempt again (the COMMIT may take effect although its answer is lost)."""
    context = _current.get()
    if context:
        context.committed = True


def reset_current_request(token: Token[RequestContext | None]) -> None:
    _current.reset(token)
