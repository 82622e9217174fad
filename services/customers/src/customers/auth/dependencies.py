"""Dependencies of customers' routes: the auth service, and who calls as their account is now."""

from typing import Annotated

from fastapi import Depends, Request

from common.auth import CurrentUser, Principal, require_roles
from common.database import DbSession
from customers.auth.password_resets import PasswordResetRequests
from customers.auth.service import AuthService


async def auth_service(request: Request, session: DbSession) -> AuthService:
    return AuthService(session, request.app.state.auth)


Auth = Annotated[AuthService, Depends(auth_service)]


async def password_reset_requests(request: Request) -> PasswordResetRequests:
    requests: PasswordResetRequests = request.app.state.password_resets
    return requests


PasswordResets = Annotated[PasswordResetRequests, Depends(password_reset_requests)]


async def current_caller(caller: CurrentUser, auth: Auth) -> Principal:
    """The token's caller with the roles their account holds now.

    Other services trust a token's roles until it expires; customers owns the accounts, so here a
    deleted or demoted admin's token loses its power at once.
    """
    return await auth.with_current_roles(caller)


CurrentCaller = Annotated[Principal, Depends(current_caller)]
CurrentAdmin = Annotated[Principal, Depends(require_roles("admin", caller=current_caller))]
