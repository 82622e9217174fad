"""Per-request facts (request id, subject) visible to logging anywhere in the request."""

from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Protocol


class UnitOfWork(Protocol):
    async def end(self, *, commit: bool) -> None: ...


@dataclass
class RequestContext:
    service: str
    request_id: str
    subject: str | None = None
    committed: bool = False
    """The attempt being run sent a COMMIT: it must not run again (``common.middleware``)."""
    work: UnitOfWork | None = None
    """The attempt's driver transaction (``common.sql``), which the middleware ends."""

    async def end_work(self, *, commit: bool) -> None:
        """Commit or roll back the attempt's driver transaction, if it has one."""
        work, self.work = self.work, None
        if work is not None:
            await work.end(commit=commit)


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
