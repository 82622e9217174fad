"""Settings of matching: the shared ones plus its own, read from MATCHING_* variables."""

from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from common.settings import CommonSettings

SERVICE_DIR = Path(__file__).resolve().parents[2]
DEVELOPMENT_SSN_KEY = "development-only-ssn-hash-key-do-not-use-in-production"
MIN_SSN_KEY_LENGTH = 32
BULK_BODY_BYTES = 64 * 1024 * 1024


class Settings(CommonSettings):
    """matching's settings: the shared ones plus its own, read from MATCHING_* variables."""

    model_config = SettingsConfigDict(env_prefix="MATCHING_", extra="ignore", populate_by_name=True)

    ssn_hash_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_SSN_KEY),
        description="Secret of the HMAC-SHA256 SSN hashes (32 characters or more); changing it "
        "makes every stored SSN hash useless, so enrollments must be uploaded again",
    )
    partial_min_weight: float = Field(
        18.0, description="Least match weight (bits) of a partial match; README says why 18"
    )
    partial_min_probability: float = Field(
        0.8,
        gt=0,
        lt=1,
        description="Least probability of a partial match, one stored person in all the people "
        "held being the one asked about: with many people held, more bits than "
        "partial_min_weight",
    )
    max_partial_matches: int = Field(5, ge=1, le=50, description="Partial matches per person")
    max_people_per_request: int = Field(
        20_000, ge=1, description="People answered in one request; a larger cohort runs as a job"
    )
    max_people_per_job: int = Field(1_000_000, ge=1, le=1_000_000, description="People per job")
    job_chunk_size: int = Field(
        1_000, ge=1, le=20_000, description="People a job matches per step (one transaction)"
    )
    job_retention_seconds: int = Field(
        7 * 24 * 3600, ge=60, description="A finished job and its results are deleted after this"
    )
    job_poll_seconds: float = Field(
        1.0, gt=0, description="How often an idle worker looks for queued jobs"
    )
    job_max_failures: int = Field(
        3, ge=1, description="Failed steps (errors, not restarts) before a job is marked failed"
    )
    job_housekeeping_interval_seconds: float = Field(
        3600, gt=0, description="How often jobs past their retention are deleted"
    )
    max_enrollments_per_request: int = Field(
        50_000, ge=1, description="Rows per upload, JSON or CSV"
    )
    max_enrollments_per_organization: int = Field(
        2_000_000, ge=1, description="Enrollments one organization (provider) may have stored"
    )
    bulk_body_bytes: int = Field(
        BULK_BODY_BYTES, ge=1, description="Body limit of the bulk routes (uploads, matches)"
    )
    upsert_batch_size: int = Field(2_000, ge=1, le=20_000, description="Rows per upsert")
    report_min_count: int = Field(
        11, ge=1, description="Report counts below this are suppressed (small-cell suppression)"
    )
    report_rounding: int = Field(
        5, ge=1, description="Report counts shown are rounded to a multiple of this (1: exact)"
    )
    probe_window_seconds: int = Field(
        30 * 86_400,
        ge=60,
        description="How long a caller's questions count towards the variant limits below",
    )
    max_ssn_variants: int = Field(
        3, ge=1, description="Different SSNs one caller may ask with for one person per window"
    )
    max_dob_variants: int = Field(
        3, ge=1, description="Different dates of birth one caller may ask with for one person"
    )
    max_variants_per_name: int = Field(
        20,
        ge=1,
        description="Different SSNs, and different dates of birth, one caller may ask with for "
        "one name per window (people sharing a name, however their other identifiers vary)",
    )
    max_variants_per_name_family: int = Field(
        50,
        ge=1,
        description="Different SSNs, and dates of birth, per family of similar names (one name's "
        "phonetic code and the other's initial) and per date of birth and initial",
    )
    model_training_interval_seconds: float = Field(
        600,
        gt=0,
        description="How often the service looks whether its enrollments changed and, if so, "
        "learns its linkage model again from them (also: matching train-model)",
    )
    probe_housekeeping_interval_seconds: float = Field(
        3600, gt=0, description="How often questions older than their window are dropped"
    )
    people_per_hour: int = Field(50_000, ge=1, description="People one caller may ask per hour")
    people_per_day: int = Field(200_000, ge=1, description="People one caller may ask per day")

    @model_validator(mode="after")
    def _refuse_development_key_in_production(self) -> Self:
        if self.env != "production":
            return self
        key = self.ssn_hash_key.get_secret_value()
        if key == DEVELOPMENT_SSN_KEY or len(key) < MIN_SSN_KEY_LENGTH:
            raise ValueError(
                "ENV=production needs MATCHING_SSN_HASH_KEY: a secret of 32 characters or more, "
                "not the development key"
            )
        return self

    def ssn_key_bytes(self) -> bytes:
        return self.ssn_hash_key.get_secret_value().encode()
