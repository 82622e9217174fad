"""Settings of appointments: the shared ones plus its own, read from APPOINTMENTS_* variables."""

from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from common.settings import CommonSettings

SERVICE_DIR = Path(__file__).resolve().parents[2]


class Settings(CommonSettings):
    """Settings of appointments: the shared ones plus its own, from APPOINTMENTS_* variables."""

    model_config = SettingsConfigDict(
        env_prefix="APPOINTMENTS_", extra="ignore", populate_by_name=True
    )

    default_length_minutes: int = Field(
        30, ge=5, le=480, description="Length of a booking that gives no end"
    )
    max_length_minutes: int = Field(240, ge=5, le=24 * 60, description="Longest appointment")
    booking_horizon_days: int = Field(
        366, ge=1, description="How far ahead an appointment may start"
    )
    patient_cancel_cutoff_hours: float = Field(
        24, ge=0, description="A patient cancels or moves their own appointment up to this before"
    )
    max_availability_days: int = Field(
        31, ge=1, le=366, description="Widest window GET /appointments/availability answers"
    )
    customers_url: str = Field(
        "http://localhost:8000",
        description="Base URL of customers (its /auth/token and /customers/{email})",
    )
    customers_timeout_seconds: float = Field(5, gt=0)
    client_id: str = Field("appointments", description="This service's client id at customers")
    client_secret: SecretStr | None = Field(
        None, description="Its secret (see: uv run customers service-client appointments)"
    )

    @model_validator(mode="after")
    def _default_fits_the_maximum(self) -> Self:
        if self.default_length_minutes > self.max_length_minutes:
            raise ValueError("APPOINTMENTS_DEFAULT_LENGTH_MINUTES exceeds the maximum length")
        return self
