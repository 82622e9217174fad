"""The RSA keys access tokens are signed with: from configuration, or made once for development."""

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk
from jose.backends.base import Key

from common.auth import ALGORITHM, public_jwk
from customers.config import Settings

MIN_KEY_BITS = 2048
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SigningKey:
    """A private key parsed once: parsing a PEM checks the RSA key, which costs ~30 ms a time."""

    private_key: Key
    jwk: dict[str, str]

    @property
    def kid(self) -> str:
        return self.jwk["kid"]

    @classmethod
    def from_private_pem(cls, private_pem: str) -> "SigningKey":
        key = serialization.load_pem_private_key(private_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_KEY_BITS:
            raise ValueError(f"a signing key must be an RSA private key of {MIN_KEY_BITS}+ bits")
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(jwk.construct(private_pem, ALGORITHM), public_jwk(public_pem.decode()))


@dataclass(frozen=True)
class Keyring:
    """Every configured key verifies; the newest (last configured) signs."""

    keys: tuple[SigningKey, ...]

    @property
    def signing_key(self) -> SigningKey:
        return self.keys[-1]

    def public_jwks(self) -> list[dict[str, str]]:
        """The public keys, newest first, as published at ``/auth/jwks.json``."""
        return [key.jwk for key in reversed(self.keys)]


def load_keyring(settings: Settings) -> Keyring:
    pems = [path.read_text() for path in settings.signing_key_files] + settings.signing_keys
    if not pems:
        pems = [development_key(settings.data_dir / "customers" / "signing-key.pem")]
    return Keyring(tuple(SigningKey.from_private_pem(pem) for pem in pems))


def development_key(path: Path) -> str:
    """The key pair kept at ``path``, made on first use; never for production (settings refuse)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # made earlier, or by a process starting alongside
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(_new_private_pem())
    logger.warning(
        "signing tokens with a development key; configure CUSTOMERS_SIGNING_KEY_FILES",
        extra={"path": str(path)},
    )
    return path.read_text()


def _new_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
