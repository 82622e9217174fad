"""Request and response models of the /auth endpoints."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from common.schemas import RequestBody
from customers.fields import CountryCode, EmailAddress, LanguageCode
from customers.passwords import MAX_PASSWORD_LENGTH, NewPassword

GivenPassword = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
OpaqueToken = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class SignupRequest(RequestBody):
    email: EmailAddress
    password: NewPassword
    country: CountryCode | None = None
    language: LanguageCode | None = None


class AdminCredentials(RequestBody):
    """What ``customers create-admin`` is given."""

    email: EmailAddress
    password: NewPassword


class LoginRequest(RequestBody):
    email: EmailAddress
    password: GivenPassword


class PasswordForm(RequestBody):
    """The OAuth2 password grant as Swagger's Authorize button posts it (username is the email)."""

    grant_type: Literal["password"] | None = None
    username: EmailAddress
    password: GivenPassword
    scope: str = ""
    client_id: str | None = None
    client_secret: str | None = None


class ClientCredentialsForm(RequestBody):
    """OAuth2 client credentials grant; the client may authenticate with HTTP Basic instead."""

    grant_type: Literal["client_credentials"]
    client_id: str | None = Field(None, max_length=128)
    client_secret: str | None = Field(None, max_length=256)
    scope: str = ""


class RefreshRequest(RequestBody):
    refresh_token: OpaqueToken


class PasswordResetRequest(RequestBody):
    email: EmailAddress


class PasswordResetConfirm(RequestBody):
    token: OpaqueToken
    new_password: NewPassword


class PasswordChange(RequestBody):
    current_password: GivenPassword
    new_password: NewPassword


class AccessTokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a type name, not a secret)
    expires_in: int = Field(description="Seconds the access token stays valid")


class TokenPairResponse(AccessTokenResponse):
    refresh_token: str = Field(description="Opaque; single use: each refresh returns a new one")


class JsonWebKeySet(BaseModel):
    keys: list[dict[str, str]]


class OpenIdConfiguration(BaseModel):
    issuer: str
    jwks_uri: str
    token_endpoint: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    response_types_supported: list[str]
    subject_types_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    claims_supported: list[str]
