"""Settings and signing keys: safe development defaults, refusals in production."""

import logging
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from common.testing import KeyPair
from customers.config import Settings
from customers.keys import load_keyring
from customers.main import create_app

PRODUCTION = {"env": "production", "database_url": "postgresql://db.internal/platform"}


def test_production_without_a_signing_key_refuses_to_start() -> None:
    with pytest.raises(ValidationError, match="CUSTOMERS_SIGNING_KEYS"):
        create_app(Settings(**PRODUCTION))


@pytest.mark.parametrize(
    ("memory_kib", "time_cost", "accepted"),
    [
        (19_456, 2, True),
        (47_104, 1, True),
        (7_168, 5, True),
        (19_455, 2, False),
        (40_000, 1, False),
        (8, 1, False),
    ],
)
def test_production_needs_argon2_at_owasp_minimum(
    memory_kib: int, time_cost: int, accepted: bool
) -> None:
    values = {**PRODUCTION, "signing_keys": [KeyPair.generate().private_pem]}
    values |= {"argon2_memory_kib": memory_kib, "argon2_time_cost": time_cost}
    if accepted:
        Settings(**values)
    else:
        with pytest.raises(ValidationError, match="OWASP"):
            Settings(**values)


def test_variables_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    older, newer = KeyPair.generate(), KeyPair.generate()
    monkeypatch.setenv("CUSTOMERS_SIGNING_KEYS", older.private_pem + "\n" + newer.private_pem)
    monkeypatch.setenv("CUSTOMERS_ALLOWED_LANGUAGES", "de, EN,fr")
    monkeypatch.setenv("CUSTOMERS_TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1")
    monkeypatch.setenv(
        "CUSTOMERS_SERVICE_CLIENTS", '{"appointments": "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA"}'
    )
    settings = Settings()
    assert settings.allowed_languages == ["de", "en", "fr"]
    assert [str(network) for network in settings.trusted_proxies] == ["10.0.0.0/8", "127.0.0.1/32"]
    assert list(settings.service_clients) == ["appointments"]
    keyring = load_keyring(settings)
    assert keyring.signing_key.kid == newer.kid
    assert [key["kid"] for key in keyring.public_jwks()] == [newer.kid, older.kid]


def test_key_files_come_before_keys_in_variables(tmp_path: Path) -> None:
    first, second, third = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    paths = []
    for number, pair in enumerate((first, second)):
        paths.append(tmp_path / f"key{number}.pem")
        paths[-1].write_text(pair.private_pem)
    settings = Settings(signing_key_files=",".join(map(str, paths)), signing_keys=third.private_pem)
    keyring = load_keyring(settings)
    assert [key.kid for key in keyring.keys] == [first.kid, second.kid, third.kid]
    assert keyring.signing_key.kid == third.kid


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("allowed_languages", "de,xx"),
        ("service_clients", {"appointments": "plain-secret"}),
        ("trusted_proxies", "not-an-address"),
    ],
)
def test_bad_values_are_refused(setting: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Settings(**{setting: value})


def test_weak_or_non_rsa_keys_are_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (to be refused)
    pem = small.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(ValueError, match="2048"):
        load_keyring(Settings(signing_keys=[pem]))


def test_development_makes_one_key_pair_under_the_data_dir(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(env="development", data_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="customers.keys"):
        first = load_keyring(settings)
    key_file = tmp_path / "customers" / "signing-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "development key" in caplog.text
    assert load_keyring(settings).signing_key.kid == first.signing_key.kid
