"""The wire format of the RFC 6749 token endpoint: form parameters, client authentication, errors.

OAuth2 client libraries parse the errors of a token endpoint as RFC 6749 section 5.2 shapes
them (``{"error": "invalid_grant", "error_description": ...}``), so ``POST /auth/token`` answers
its errors that way instead of as problem+json: the one exception on the platform.
"""

import base64
import binascii
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote_plus

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import FormData

from common.errors import TooManyRequests, Unauthorized
from common.schemas import error_summary
from customers.auth.schemas import OAuthErrorResponse, TokenGrant, TokenRequest

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# RFC 6749 section 5.1: nothing may cache a response that carries tokens.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
CLIENT_CHALLENGE = {"WWW-Authenticate": 'Basic realm="customers"'}
_grants: TypeAdapter[TokenGrant] = TypeAdapter(TokenRequest)


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error: 400 unless the client failed to authenticate (401)."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.body = OAuthErrorResponse.model_validate(
            {"error": error, "error_description": description}
        )
        self.status = status
        self.headers = {**NO_STORE, **(headers or {})}


def invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, status=401, headers=CLIENT_CHALLENGE)


async def oauth_error_response(request: Request, exc: Exception) -> JSONResponse:
    """The app's handler for OAuthError."""
    assert isinstance(exc, OAuthError)
    return JSONResponse(exc.body.model_dump(), status_code=exc.status, headers=exc.headers)


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class TokenEndpointRequest:
    grant: TokenGrant
    client: ClientCredentials | None


async def token_endpoint_request(request: Request) -> TokenEndpointRequest:
    """The grant and the client's credentials (HTTP Basic or in the form), or an OAuthError."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM:
        raise OAuthError("invalid_request", f"Send the parameters as {FORM}")
    parameters = _single_valued(await request.form())
    if parameters.get("scope"):
        raise OAuthError("invalid_scope", "No scopes are issued; the roles come with the account")
    try:
        grant = _grants.validate_python(parameters)
    except ValidationError as exc:
        raise _grant_error(exc) from exc
    return TokenEndpointRequest(grant, _client(grant, request.headers.get("authorization")))


def _single_valued(form: FormData) -> dict[str, str]:
    """Parameters without a value count as omitted; repeated ones are refused (section 3.2)."""
    parameters: dict[str, str] = {}
    for name in set(form.keys()):
        values = [value for value in form.getlist(name) if isinstance(value, str) and value]
        if len(values) > 1:
            raise OAuthError("invalid_request", f"The parameter {name} is repeated")
        if values:
            parameters[name] = values[0]
    return parameters


def _grant_error(exc: ValidationError) -> OAuthError:
    tags = {error["type"] for error in exc.errors()}
    if "union_tag_invalid" in tags:
        supported = "password, refresh_token, client_credentials"
        return OAuthError("unsupported_grant_type", f"The grant types supported: {supported}")
    return OAuthError("invalid_request", error_summary(exc))


def _client(grant: TokenGrant, authorization: str | None) -> ClientCredentials | None:
    """The client's credentials by one method only, as RFC 6749 section 2.3 demands."""
    basic = _basic_credentials(authorization)
    if basic and (grant.client_id or grant.client_secret):
        raise OAuthError("invalid_request", "Authenticate the client by one method only")
    if basic:
        return basic
    if grant.client_id and grant.client_secret:
        return ClientCredentials(grant.client_id, grant.client_secret)
    return None


def _basic_credentials(authorization: str | None) -> ClientCredentials | None:
    """HTTP Basic, whose id and secret are form-encoded first (RFC 6749 section 2.3.1)."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_client("The Basic credentials are not valid base64") from exc
    client_id, separator, secret = decoded.partition(":")
    if not separator or not client_id or not secret:
        raise invalid_client("The Basic credentials need a client id and a secret")
    return ClientCredentials(unquote_plus(client_id), unquote_plus(secret))


@contextmanager
def oauth_errors(*, refused: str = "invalid_grant") -> Iterator[None]:
    """Turn the service's refusals into RFC 6749 errors: Unauthorized becomes ``refused``."""
    try:
        yield
    except Unauthorized as exc:
        detail = exc.detail or "The credentials are not valid"
        if refused == "invalid_client":
            raise invalid_client(detail) from exc
        raise OAuthError(refused, detail) from exc
    except TooManyRequests as exc:
        detail = exc.detail or "Too many failures; try again later"
        raise OAuthError(
            "temporarily_unavailable", detail, status=429, headers=exc.headers
        ) from exc
