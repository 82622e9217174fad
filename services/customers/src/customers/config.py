"""Settings of customers: the shared ones plus its own, read from CUSTOMERS_* variables."""

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Self

import pycountry
from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from common.settings import CommonSettings

SERVICE_DIR = Path(__file__).resolve().parents[2]

# OWASP's argon2id configurations of equal strength: (memory in KiB, iterations).
OWASP_ARGON2_MINIMUMS = ((47_104, 1), (19_456, 2), (12_288, 3), (9_216, 4), (7_168, 5))
_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]+-----.+?-----END [A-Z ]+-----", re.DOTALL)
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Settings(CommonSettings):
    """customers's settings: the shared ones plus its own, read from CUSTOMERS_* variables."""

    model_config = SettingsConfigDict(
        env_prefix="CUSTOMERS_", extra="ignore", populate_by_name=True
    )

    signing_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="PEM RSA private keys (may follow each other), oldest first; the last signs",
    )
    signing_key_files: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated PEM files, oldest first; read before CUSTOMERS_SIGNING_KEYS",
    )
    access_token_ttl_seconds: int = Field(900, ge=60, le=3600)
    refresh_token_ttl_seconds: int = Field(14 * 24 * 3600, ge=300)
    password_reset_ttl_seconds: int = Field(1800, ge=60, le=24 * 3600)
    password_reset_min_interval_seconds: int = Field(
        60, ge=0, description="At most one reset message per account in this many seconds"
    )
    password_min_score: int = Field(
        3, ge=0, le=4, description="Least zxcvbn score (0-4) a new password needs"
    )
    argon2_memory_kib: int = Field(19_456, ge=8)
    argon2_time_cost: int = Field(2, ge=1)
    argon2_parallelism: int = Field(1, ge=1)
    max_concurrent_hashes: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Password hashes computed at once; more requests wait their turn",
    )
    allowed_languages: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["de", "en"])
    login_max_failures_per_email: int = Field(5, ge=1)
    login_max_failures_per_address: int = Field(20, ge=1)
    login_throttle_window_seconds: int = Field(900, ge=1)
    trusted_proxies: Annotated[list[IpNetwork], NoDecode] = Field(
        default_factory=list,
        description="Peers (IPs or CIDRs) whose X-Forwarded-For is believed, e.g. the gateway",
    )
    service_clients: dict[str, str] = Field(
        default_factory=dict,
        description="JSON object: client id -> argon2id hash of its secret",
    )
    housekeeping_interval_seconds: float = Field(600, gt=0)

    @field_validator("signing_keys", mode="before")
    @classmethod
    def _split_pem_blocks(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _PEM_BLOCK.findall(value)
        return value

    @field_validator("signing_key_files", "trusted_proxies", "allowed_languages", mode="before")
    @classmethod
    def _split_comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("allowed_languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        codes = [code.lower() for code in value]
        unknown = [code for code in codes if pycountry.languages.get(alpha_2=code) is None]
        if unknown or not codes:
            raise ValueError(f"not ISO 639-1 language codes: {unknown or 'none given'}")
        return codes

    @field_validator("service_clients")
    @classmethod
    def _hashed_secrets(cls, value: dict[str, str]) -> dict[str, str]:
        plain = [client for client, secret in value.items() if not secret.startswith("$argon2id$")]
        if plain:
            raise ValueError(
                f"secrets of {plain} are not argon2id hashes (see: customers service-client)"
            )
        return value

    @model_validator(mode="after")
    def _refuse_weak_production_setup(self) -> Self:
        if self.env != "production":
            return self
        if not self.signing_keys and not self.signing_key_files:
            raise ValueError(
                "ENV=production needs CUSTOMERS_SIGNING_KEYS or CUSTOMERS_SIGNING_KEY_FILES"
            )
        if not self.argon2_meets_owasp_minimum():
            raise ValueError("ENV=production needs argon2 parameters at OWASP's minimum or above")
        return self

    def argon2_meets_owasp_minimum(self) -> bool:
        return any(
            self.argon2_memory_kib >= memory and self.argon2_time_cost >= iterations
            for memory, iterations in OWASP_ARGON2_MINIMUMS
        )
