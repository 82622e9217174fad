from pathlib import Path

from pydantic_settings import SettingsConfigDict

from common.settings import CommonSettings

SERVICE_DIR = Path(__file__).resolve().parents[2]


class Settings(CommonSettings):
    """matching's settings: the shared ones plus its own, read from MATCHING_* variables."""

    model_config = SettingsConfigDict(env_prefix="MATCHING_", extra="ignore", populate_by_name=True)
