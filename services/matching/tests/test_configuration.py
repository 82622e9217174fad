"""Refusal to start in production with the development SSN key."""

import pytest
from pydantic import ValidationError

from matching.config import DEVELOPMENT_SSN_KEY, Settings

PRODUCTION = {"env": "production", "database_url": "postgresql://db/platform"}


@pytest.mark.parametrize("key", [DEVELOPMENT_SSN_KEY, "short-secret"], ids=["dev-key", "short"])
def test_production_refuses_a_weak_ssn_key(key: str) -> None:
    with pytest.raises(ValidationError, match="MATCHING_SSN_HASH_KEY"):
        Settings(**PRODUCTION, ssn_hash_key=key)


def test_production_starts_with_a_real_key() -> None:
    settings = Settings(**PRODUCTION, ssn_hash_key="x" * 40)
    assert settings.ssn_key_bytes() == b"x" * 40


def test_development_uses_the_development_key_and_never_shows_it() -> None:
    settings = Settings(env="development")
    assert settings.ssn_key_bytes() == DEVELOPMENT_SSN_KEY.encode()
    assert DEVELOPMENT_SSN_KEY not in repr(settings)
