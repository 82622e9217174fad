"""Settings of occupancy: the shared ones plus its own, read from OCCUPANCY_* variables."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import CommonSettings

SERVICE_DIR = Path(__file__).resolve().parents[2]


class Settings(CommonSettings):
    """Settings of occupancy: the shared ones plus its own, from OCCUPANCY_* variables.

    Without ``OCCUPANCY_S3_BUCKET`` the daily log files go to ``DATA_DIR/occupancy/logs``.
    S3 credentials come from ``OCCUPANCY_S3_ACCESS_KEY_ID``/``_SECRET_ACCESS_KEY`` when set,
    else from the usual AWS chain (``AWS_ACCESS_KEY_ID``, an instance role...).
    """

    model_config = SettingsConfigDict(
        env_prefix="OCCUPANCY_", extra="ignore", populate_by_name=True
    )

    s3_bucket: str | None = Field(None, description="Bucket of the daily logs; unset: a folder")
    s3_prefix: str = Field("", description="Key prefix inside the bucket, e.g. 'occupancy/'")
    s3_endpoint_url: str | None = Field(None, description="S3 API endpoint (MinIO, moto)")
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_timeout_seconds: float = Field(5.0, gt=0, description="Connect and read timeout of S3")
    logs_dir: Path | None = Field(
        None, description="Folder of the daily logs without S3; default DATA_DIR/occupancy/logs"
    )
    export_interval_seconds: float = Field(
        2.0, gt=0, description="How often the exporter looks for changed days"
    )
    export_retry_max_seconds: float = Field(
        60.0, gt=0, description="Longest wait between export attempts while the target fails"
    )
    events_heartbeat_seconds: float = Field(
        15.0, gt=0, description="Idle event streams get a comment line this often"
    )
    events_send_timeout: float = Field(
        30.0, gt=0, description="A stream whose client takes longer to accept an event is closed"
    )
    events_queue_size: int = Field(
        256, ge=1, description="Events buffered per stream; a slower client catches up from the log"
    )

    def log_folder(self) -> Path:
        return self.logs_dir or self.data_dir / "occupancy" / "logs"
