"""The /auth endpoints: parse, authorize, call AuthService, shape the response."""

from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response

from common.auth import ALGORITHM, CurrentUser
from common.docs import documented_body
from common.problems import documented_problem
from customers.auth.dependencies import Auth, ClientAddress, Keys, LoginCredentials, PasswordResets
from customers.auth.oauth import (
    FORM,
    NO_STORE,
    invalid_client,
    oauth_errors,
    token_endpoint_request,
)
from customers.auth.schemas import (
    JsonWebKeySet,
    LoginRequest,
    OAuthErrorResponse,
    OpenIdConfiguration,
    PasswordChange,
    PasswordGrant,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    RefreshTokenGrant,
    SignupRequest,
    TokenForm,
    TokenPairResponse,
    TokenResponse,
)
from customers.auth.service import TokenPair
from customers.dependencies import CustomersSettings
from customers.records.schemas import CustomerOut

router = APIRouter(prefix="/auth", tags=["auth"])

# The OAuth2 password form is accepted too (Swagger's Authorize button posts it), but said in the
# summary only: openapi-python-client 0.29 generates a client that cannot be imported for a body
# with two media types (it annotates the body with a name it does not import).
LOGIN_BODY = documented_body(LoginRequest)

TokensT = TypeVar("TokensT", TokenPairResponse, TokenResponse)


def _tokens(pair: TokenPair, shape: type[TokensT]) -> TokensT:
    """The pair as ``/auth/login`` and ``/auth/refresh`` (or the token endpoint) answer it."""
    return shape(
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
    summary="Log in with email and password (JSON; the OAuth2 password form is accepted too)",
    openapi_extra=LOGIN_BODY,
    responses={
        401: documented_problem("Wrong email or password"),
        415: documented_problem("Neither JSON nor a form"),
        422: documented_problem("The credentials are malformed"),
        429: documented_problem("Too many failures; see Retry-After"),
    },
)
async def login(
    credentials: LoginCredentials,
    auth: Auth,
    address: ClientAddress,
    response: Response,
) -> TokenPairResponse:
    response.headers.update(NO_STORE)
    pair = await auth.login(credentials.email, credentials.password, address)
    return _tokens(pair, TokenPairResponse)


@router.post(
    "/refresh",
    summary="Exchange a refresh token for new tokens (the old one is spent)",
    responses={401: documented_problem("Unknown, spent, revoked or expired")},
)
async def refresh(data: RefreshRequest, auth: Auth, response: Response) -> TokenPairResponse:
    response.headers.update(NO_STORE)
    return _tokens(await auth.refresh(data.refresh_token), TokenPairResponse)


@router.post("/logout", status_code=204, summary="Revoke a refresh token and its session")
async def logout(data: RefreshRequest, auth: Auth) -> None:
    await auth.logout(data.refresh_token)


@router.get(
    "/me",
    summary="The caller's customer record",
    responses={404: documented_problem("The caller's account no longer exists")},
)
async def me(caller: CurrentUser, auth: Auth) -> CustomerOut:
    return CustomerOut.model_validate(await auth.me(caller))


@router.post(
    "/password-reset/request",
    status_code=202,
    summary="Send a reset token to the email, if it has an account (always 202)",
    description=(
        "The request is queued and handled in the background, so the answer takes the same "
        "time whether or not the email has an account."
    ),
    response_class=Response,
)
async def request_password_reset(
    data: PasswordResetRequest, password_resets: PasswordResets
) -> Response:
    password_resets.submit(data.email)
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
        404: documented_problem("The caller's account no longer exists"),
        429: documented_problem("Too many failures; see Retry-After"),
    },
)
async def change_password(
    data: PasswordChange, caller: CurrentUser, auth: Auth, address: ClientAddress
) -> None:
    await auth.change_password(caller, data.current_password, data.new_password, address)


def _oauth_error(description: str) -> dict[str, Any]:
    return {"description": description, "model": OAuthErrorResponse}


TOKEN_ENDPOINT_BODY = documented_body(TokenForm, FORM)


@router.post(
    "/token",
    summary="OAuth2 token endpoint (RFC 6749): password, refresh_token, client_credentials",
    description=(
        "Form-encoded. The password and refresh_token grants are for public clients (no client "
        "authentication); client_credentials needs a configured client, by HTTP Basic or in the "
        "form. Errors are shaped as RFC 6749 section 5.2 says, not as problem+json, because "
        "that is what OAuth2 clients parse."
    ),
    openapi_extra=TOKEN_ENDPOINT_BODY,
    response_model_exclude_none=True,
    responses={
        400: _oauth_error("invalid_request, invalid_grant, unsupported_grant_type, invalid_scope"),
        401: _oauth_error("invalid_client: unknown client or wrong secret"),
        429: _oauth_error("temporarily_unavailable: too many failed logins; see Retry-After"),
    },
)
async def token(
    request: Request, response: Response, auth: Auth, address: ClientAddress
) -> TokenResponse:
    given = await token_endpoint_request(request)
    response.headers.update(NO_STORE)
    grant = given.grant
    if isinstance(grant, PasswordGrant):
        with oauth_errors():
            pair = await auth.login(grant.username, grant.password, address)
        return _tokens(pair, TokenResponse)
    if isinstance(grant, RefreshTokenGrant):
        with oauth_errors():
            pair = await auth.refresh(grant.refresh_token)
        return _tokens(pair, TokenResponse)
    if given.client is None:
        raise invalid_client("Authenticate the client by HTTP Basic or in the form")
    with oauth_errors(refused="invalid_client"):
        access = await auth.client_credentials(given.client.client_id, given.client.client_secret)
    return TokenResponse(access_token=access.token, expires_in=access.expires_in)


@router.get("/jwks.json", summary="The public keys that verify access tokens")
async def jwks(keyring: Keys, response: Response) -> JsonWebKeySet:
    response.headers["Cache-Control"] = "public, max-age=300"
    return JsonWebKeySet(keys=keyring.public_jwks())


@router.get("/.well-known/openid-configuration", summary="Discovery document")
async def openid_configuration(settings: CustomersSettings) -> OpenIdConfiguration:
    issuer = settings.auth_issuer.rstrip("/")
    return OpenIdConfiguration(
        issuer=settings.auth_issuer,
        jwks_uri=f"{issuer}/jwks.json",
        token_endpoint=f"{issuer}/token",
        grant_types_supported=["password", "refresh_token", "client_credentials"],
        token_endpoint_auth_methods_supported=["none", "client_secret_basic", "client_secret_post"],
        response_types_supported=["token"],
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=[ALGORITHM],
        claims_supported=["iss", "aud", "sub", "email", "roles", "iat", "exp", "jti"],
    )
