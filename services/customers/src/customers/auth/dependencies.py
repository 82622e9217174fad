"""The per-request objects the /auth routes ask for: the auth service, the client's address,
the login credentials, the keyring, and who calls as their account is now."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from common.auth import CurrentUser, Principal, require_roles
from common.errors import UnsupportedMediaType
from common.sql import DbTransaction
from customers.auth.client_address import client_address
from customers.auth.oauth import FORM, JSON
from customers.auth.password_resets import PasswordResetRequests
from customers.auth.schemas import LoginRequest, PasswordForm
from customers.auth.service import AuthService
from customers.dependencies import CustomersSettings
from customers.keys import Keyring


async def auth_service(request: Request, transaction: DbTransaction) -> AuthService:
    return AuthService(transaction, request.app.state.auth, request.app.state.db.driver)


Auth = Annotated[AuthService, Depends(auth_service)]


async def password_reset_requests(request: Request) -> PasswordResetRequests:
    requests: PasswordResetRequests = request.app.state.password_resets
    return requests


PasswordResets = Annotated[PasswordResetRequests, Depends(password_reset_requests)]


async def current_account(caller: CurrentUser, auth: Auth) -> Principal:
    """The token's caller with the roles their account holds now.

    Other services trust a token's roles until it expires; customers owns the accounts, so here a
    deleted or demoted admin's token loses its power at once.
    """
    return await auth.with_current_roles(caller)


CurrentAccount = Annotated[Principal, Depends(current_account)]
CurrentAdmin = Annotated[Principal, Depends(require_roles("admin", caller=current_account))]


async def _client_address(request: Request, settings: CustomersSettings) -> str:
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.get("x-forwarded-for"), settings.trusted_proxies)


async def _login_credentials(request: Request) -> LoginRequest:
    """The JSON body, or the OAuth2 password form (its username is the email)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media_type == JSON:
            return LoginRequest.model_validate_json(await request.body())
        if media_type == FORM:
            form = PasswordForm.model_validate(dict((await request.form()).items()))
            return LoginRequest(email=form.username, password=form.password)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from exc
    raise UnsupportedMediaType(f"Send the credentials as {JSON} or {FORM}")


ClientAddress = Annotated[str, Depends(_client_address)]
LoginCredentials = Annotated[LoginRequest, Depends(_login_credentials)]


async def _keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


Keys = Annotated[Keyring, Depends(_keyring)]
