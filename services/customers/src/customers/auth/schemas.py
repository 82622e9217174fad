"""Request and response models of the /auth endpoints."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from common.auth import MAX_TOKEN_CHARS
from common.schemas import RequestBody, example
from customers.fields import CountryCode, EmailAddress, LanguageCode
from customers.passwords import MAX_PASSWORD_LENGTH, NewPassword

GivenPassword = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
# Any text a client may hold as a token (an access token mistaken for a refresh token among
# them) is looked up and answered as unusable (401), not refused as malformed (422).
OpaqueToken = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TOKEN_CHARS)]


class SignupRequest(RequestBody):
    model_config = example(
        email="ada@example.com", password="violet-harbor-quilt-1987", country="GB", language="en"
    )

    email: EmailAddress
    password: NewPassword
    country: CountryCode | None = None
    language: LanguageCode | None = None


class AdminCredentials(RequestBody):
    """What ``customers create-admin`` is given."""

    email: EmailAddress
    password: NewPassword


class LoginRequest(RequestBody):
    model_config = example(email="ada@example.com", password="violet-harbor-quilt-1987")

    email: EmailAddress
    password: GivenPassword


class PasswordForm(RequestBody):
    """The OAuth2 password grant as Swagger's Authorize button posts it (username is the email)."""

    model_config = example(
        grant_type="password", username="ada@example.com", password="violet-harbor-quilt-1987"
    )

    grant_type: Literal["password"] | None = None
    username: EmailAddress
    password: GivenPassword
    scope: str = ""
    client_id: str | None = None
    client_secret: str | None = None


class TokenGrant(BaseModel):
    """A request to the RFC 6749 token endpoint (``POST /auth/token``, form-encoded).

    Unlike every other body, unknown parameters are ignored, as RFC 6749 section 3.2 demands.
    """

    model_config = ConfigDict(extra="ignore")

    client_id: str | None = Field(None, max_length=128)
    client_secret: str | None = Field(None, max_length=256)


class PasswordGrant(TokenGrant):
    """Resource owner password credentials (RFC 6749 section 4.3); the username is the email."""

    grant_type: Literal["password"]
    username: EmailAddress
    password: GivenPassword


class RefreshTokenGrant(TokenGrant):
    """A refresh token exchanged for new tokens (RFC 6749 section 6); it is spent."""

    grant_type: Literal["refresh_token"]
    refresh_token: OpaqueToken


class ClientCredentialsGrant(TokenGrant):
    """A service client's own token (RFC 6749 section 4.4); the client authenticates."""

    grant_type: Literal["client_credentials"]


class TokenForm(BaseModel):
    """The token endpoint's form as OpenAPI shows it: one object, the fields each grant uses."""

    model_config = example(
        grant_type="client_credentials", client_id="appointments", client_secret="s3rv1ce-secret"
    )

    grant_type: Literal["password", "refresh_token", "client_credentials"]
    username: str | None = Field(None, description="password grant: the email")
    password: str | None = Field(None, description="password grant")
    refresh_token: str | None = Field(None, description="refresh_token grant")
    client_id: str | None = Field(None, description="client_credentials, unless HTTP Basic")
    client_secret: str | None = Field(None, description="client_credentials, unless HTTP Basic")


TokenRequest = Annotated[
    PasswordGrant | RefreshTokenGrant | ClientCredentialsGrant, Field(discriminator="grant_type")
]


class RefreshRequest(RequestBody):
    model_config = example(refresh_token="kq3J1sVt0mXbQe8Yw2Rz5Lc9HfA4nDpU")

    refresh_token: OpaqueToken


class PasswordResetRequest(RequestBody):
    model_config = example(email="ada@example.com")

    email: EmailAddress


class PasswordResetConfirm(RequestBody):
    model_config = example(
        token="Zr8Wq2Lm4Xn6Vb0Tc3Ys5Ud7Ae9Fg1Hk", new_password="amber-canyon-lantern-2024"
    )

    token: OpaqueToken
    new_password: NewPassword


class PasswordChange(RequestBody):
    model_config = example(
        current_password="violet-harbor-quilt-1987", new_password="amber-canyon-lantern-2024"
    )

    current_password: GivenPassword
    new_password: NewPassword


class AccessTokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a type name, not a secret)
    expires_in: int = Field(description="Seconds the access token stays valid")


class TokenPairResponse(AccessTokenResponse):
    refresh_token: str = Field(description="Opaque; single use: each refresh returns a new one")


class TokenResponse(AccessTokenResponse):
    """What the token endpoint answers; a client-credentials grant gets no refresh token."""

    refresh_token: str | None = Field(
        None, description="Opaque; single use: each refresh returns a new one"
    )


class OAuthErrorResponse(BaseModel):
    """An error of the token endpoint, shaped as RFC 6749 section 5.2 says."""

    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unsupported_grant_type",
        "invalid_scope",
        "temporarily_unavailable",
    ]
    error_description: str


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
