"""Settings every service shares; each service subclasses them with its own env prefix."""

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]


class CommonSettings(BaseSettings):
    """Variables shared by all services are read without a prefix (``DATABASE_URL``, ``ENV``...)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    env: Environment = Field("development", validation_alias="ENV")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    database_url: str | None = Field(
        None,
        validation_alias="DATABASE_URL",
        description="PostgreSQL URL; unset means the embedded server under DATA_DIR",
    )
    data_dir: Path = Field(Path(".data"), validation_alias="DATA_DIR")
    db_pool_size: int = Field(5, ge=1, le=100, validation_alias="DB_POOL_SIZE")
    # No alias: each service reads them under its own prefix (MATCHING_DB_STATEMENT_TIMEOUT_MS).
    db_statement_timeout_ms: int = Field(
        30_000, ge=0, description="Longest a statement may run (0: no limit); then 503"
    )
    db_bulk_statement_timeout_ms: int = Field(
        300_000, ge=0, description="The same for bulk work that opts in (allow_bulk_statements)"
    )
    auth_issuer: str = Field("http://localhost:8000/auth", validation_alias="AUTH_ISSUER")
    auth_audience: str = Field("platform", validation_alias="AUTH_AUDIENCE")
    auth_jwks_url: str = Field(
        "http://localhost:8000/auth/jwks.json", validation_alias="AUTH_JWKS_URL"
    )
    auth_login_url: str = Field(
        "/auth/login",
        validation_alias="AUTH_LOGIN_URL",
        description="The identity provider's login, where Swagger's Authorize button posts",
    )
    auth_public_key: str | None = Field(
        None,
        validation_alias="AUTH_PUBLIC_KEY",
        description="PEM public key; when set it is used instead of the JWKS URL",
    )
    jwks_cache_seconds: float = Field(300, ge=0, validation_alias="JWKS_CACHE_SECONDS")
    jwks_min_refetch_seconds: float = Field(30, ge=0, validation_alias="JWKS_MIN_REFETCH_SECONDS")
    auth_leeway_seconds: float = Field(
        30,
        ge=0,
        le=300,
        validation_alias="AUTH_LEEWAY_SECONDS",
        description="Clock skew tolerated on a token's exp, nbf and iat",
    )
    max_body_bytes: int = Field(1_048_576, ge=1, validation_alias="MAX_BODY_BYTES")
    db_transaction_attempts: int = Field(
        3,
        ge=1,
        le=10,
        validation_alias="DB_TRANSACTION_ATTEMPTS",
        description="Runs of a request whose transaction hits a serialization failure or deadlock",
    )

    @model_validator(mode="after")
    def _refuse_development_defaults_in_production(self) -> Self:
        if self.env == "production" and not self.database_url:
            raise ValueError("ENV=production needs DATABASE_URL; the embedded server is for dev")
        return self
