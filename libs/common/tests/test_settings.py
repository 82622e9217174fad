"""Shared settings: environment variables, database URLs, and the production guard."""

import pytest
from pydantic import ValidationError

from common.database import async_url
from common.settings import CommonSettings


def test_shared_variables_are_read_without_a_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/app")
    monkeypatch.setenv("AUTH_AUDIENCE", "other")
    settings = CommonSettings()
    assert settings.database_url == "postgresql://u:p@db/app"
    assert settings.auth_audience == "other"
    assert settings.env == "development"


def test_production_refuses_to_start_without_a_database_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ENV", "production")
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        CommonSettings()


def test_an_unknown_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV", "staging-ish")
    with pytest.raises(ValidationError):
        CommonSettings()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/d", "postgresql+asyncpg://u:p@h:5432/d"),
        ("postgres://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
        (
            "postgresql://postgres:@/postgres?host=/tmp/pg",
            "postgresql+asyncpg://postgres:@/postgres?host=/tmp/pg",
        ),
    ],
)
def test_plain_urls_are_pointed_at_asyncpg(given: str, expected: str) -> None:
    assert async_url(given) == expected
