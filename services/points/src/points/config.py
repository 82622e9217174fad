"""Settings of points: the shared ones plus its own, read from POINTS_* variables."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import CommonSettings

SERVICE_DIR = Path(__file__).resolve().parents[2]
DAY_SECONDS = 24 * 3600


class Settings(CommonSettings):
    """Settings of points: the shared ones plus its own, from POINTS_* variables."""

    model_config = SettingsConfigDict(env_prefix="POINTS_", extra="ignore", populate_by_name=True)

    idempotency_key_ttl_seconds: int = Field(
        DAY_SECONDS,
        ge=DAY_SECONDS,
        description="How long a remembered Idempotency-Key replays its response (24 h at least)",
    )
    housekeeping_interval_seconds: float = Field(
        3600, gt=0, description="How often expired Idempotency-Keys are deleted"
    )
