from pathlib import Path

from pydantic_settings import SettingsConfigDict

from common.settings import CommonSettings

SERVICE_DIR = Path(__file__).resolve().parents[2]


class Settings(CommonSettings):
    """Settings of points: the shared ones plus its own, from POINTS_* variables."""

    model_config = SettingsConfigDict(env_prefix="POINTS_", extra="ignore", populate_by_name=True)
