"""The /auth endpoints: parse, authorize, call AuthService, shape the response."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import ValidationError

from common.auth import ALGORITHM, CurrentUser
from common.database import DbSession
from common.errors import Unauthorized, UnsupportedMediaType
from common.problems import documented_problem
from customers.auth.client_address import client_address
from customers.auth.schemas import (
    AccessTokenResponse,
    ClientCredentialsForm,
    JsonWebKeySet,
    LoginRequest,
    OpenIdConfiguration,
    PasswordChange,
    PasswordForm,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    SignupRequest,
    TokenPairResponse,
)
from customers.auth.service import AuthService, TokenPair
from customers.config import CustomersSettings
from customers.keys import Keyring
from customers.records.schemas import CustomerOut

router = APIRouter(prefix="/auth", tags=["auth"])
client_basic_auth = HTTPBasic(auto_error=False, description="Service client id and secret")

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {"schema": LoginRequest.model_json_schema()},
            FORM: {"schema": PasswordForm.model_json_schema()},
        },
    }
}


def _auth_service(request: Request, session: DbSession) -> AuthService:
    return AuthService(session, request.app.state.auth)


def _client_address(request: Request, settings: CustomersSettings) -> str:
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


Auth = Annotated[AuthService, Depends(_auth_service)]
ClientAddress = Annotated[str, Depends(_client_address)]


def _token_pair(pair: TokenPair) -> TokenPairResponse:
    return TokenPairResponse(
        access_token=pair.access.token,
        expires_in=pair.access.expires_in,
        refresh_token=pair.refresh_token,
    )


@router.post(
    "/signup",
    status_code=201,
    summary="Create an account (role customer)",
    responses={409: documented_problem("The email is taken")},
)
async def signup(data: SignupRequest, auth: Auth) -> CustomerOut:
    return CustomerOut.model_validate(await auth.signup(data))


@router.post(
    "/login",
    summary="Log in with email and password (JSON, or the OAuth2 password form)",
    openapi_extra=LOGIN_BODY,
    responses={
        401: documented_problem("Wrong email or password"),
        415: documented_problem("Neither JSON nor a form"),
        429: documented_problem("Too many failures; see Retry-After"),
    },
)
async def login(
    credentials: Annotated[LoginRequest, Depends(_login_credentials)],
    auth: Auth,
    address: ClientAddress,
) -> TokenPairResponse:
    return _token_pair(await auth.login(credentials.email, credentials.password, address))


@router.post(
    "/refresh",
    summary="Exchange a refresh token for new tokens (the old one is spent)",
    responses={401: documented_problem("Unknown, spent, revoked or expired")},
)
async def refresh(data: RefreshRequest, auth: Auth) -> TokenPairResponse:
    return _token_pair(await auth.refresh(data.refresh_token))


@router.post("/logout", status_code=204, summary="Revoke a refresh token and its session")
async def logout(data: RefreshRequest, auth: Auth) -> None:
    await auth.logout(data.refresh_token)


@router.get("/me", summary="The caller's customer record")
async def me(caller: CurrentUser, auth: Auth) -> CustomerOut:
    return CustomerOut.model_validate(await auth.me(caller))


@router.post(
    "/password-reset/request",
    status_code=202,
    summary="Send a reset token to the email, if it has an account (always 202)",
    response_class=Response,
)
async def request_password_reset(data: PasswordResetRequest, auth: Auth) -> Response:
    await auth.request_password_reset(data.email)
    return Response(status_code=202)


@router.post(
    "/password-reset/confirm",
    status_code=204,
    summary="Set a new password with a reset token; every session of the account ends",
    responses={400: documented_problem("Unknown, used or expired token")},
)
async def confirm_password_reset(data: PasswordResetConfirm, auth: Auth) -> None:
    await auth.confirm_password_reset(data.token, data.new_password)


@router.post(
    "/password/change",
    status_code=204,
    summary="Change the caller's password; every session of the account ends",
    responses={
        403: documented_problem("The current password is wrong"),
        429: documented_problem("Too many failures; see Retry-After"),
    },
)
async def change_password(
    data: PasswordChange, caller: CurrentUser, auth: Auth, address: ClientAddress
) -> None:
    await auth.change_password(caller, data.current_password, data.new_password, address)


@router.post(
    "/token",
    summary="Client credentials grant: a service token (role service) for a configured client",
    responses={401: documented_problem("Unknown client or wrong secret")},
)
async def client_credentials_token(
    form: Annotated[ClientCredentialsForm, Form()],
    basic: Annotated[HTTPBasicCredentials | None, Depends(client_basic_auth)],
    auth: Auth,
) -> AccessTokenResponse:
    client_id: str | None
    secret: str | None
    if basic:
        client_id, secret = basic.username, basic.password
    else:
        client_id, secret = form.client_id, form.client_secret
    if not client_id or not secret:
        raise Unauthorized("Give the client id and secret by HTTP Basic or in the form")
    token = await auth.client_credentials(client_id, secret)
    return AccessTokenResponse(access_token=token.token, expires_in=token.expires_in)


@router.get("/jwks.json", summary="The public keys that verify access tokens")
async def jwks(request: Request, response: Response) -> JsonWebKeySet:
    keyring: Keyring = request.app.state.keyring
    response.headers["Cache-Control"] = "public, max-age=300"
    return JsonWebKeySet(keys=keyring.public_jwks())


@router.get("/.well-known/openid-configuration", summary="Discovery document")
async def openid_configuration(settings: CustomersSettings) -> OpenIdConfiguration:
    issuer = settings.auth_issuer.rstrip("/")
    return OpenIdConfiguration(
        issuer=settings.auth_issuer,
        jwks_uri=f"{issuer}/jwks.json",
        token_endpoint=f"{issuer}/token",
        grant_types_supported=["client_credentials"],
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        response_types_supported=["token"],
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=[ALGORITHM],
        claims_supported=["iss", "aud", "sub", "email", "roles", "iat", "exp", "jti"],
    )
