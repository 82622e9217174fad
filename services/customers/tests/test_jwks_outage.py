"""common's RemoteJWKS against a real customers process that hangs, dies and comes back.

While the identity provider is away, tokens signed by a key already held keep verifying (the
stale keys are served while one background fetch tries), and a burst of unknown kids is
refused after at most one shared fetch instead of one fetch, and one timeout, each.
"""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from common.auth import RemoteJWKS, TokenVerifier
from common.testing import KeyPair, TokenFactory, refused
from common.testing.processes import free_port
from customers.config import Settings

CONCURRENT_VERIFIERS = 10
START_DEADLINE_SECONDS = 120  # a busy CI machine imports and starts slowly


@dataclass
class CustomersProcess:
    """``uvicorn customers.main:create_app`` on a fixed port, started and stopped by the test."""

    settings: Settings
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, *signing_keys: KeyPair) -> None:
        env = {
            **os.environ,
            "ENV": "test",
            "DATABASE_URL": str(self.settings.database_url),
            "DATA_DIR": str(self.log.parent),
            "AUTH_ISSUER": self.settings.auth_issuer,
            "AUTH_AUDIENCE": self.settings.auth_audience,
            "CUSTOMERS_SIGNING_KEYS": "".join(key.private_pem for key in signing_keys),
            "LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "uvicorn", "customers.main:create_app", "--factory"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603, ASYNC220 (our own command; no wait)
                [*command, "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        await self._wait_until_serving()

    async def _wait_until_serving(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_DEADLINE_SECONDS
        async with httpx.AsyncClient(base_url=self.url) as http:
            while True:
                assert self.process is not None
                assert self.process.poll() is None, self.log.read_text()
                try:
                    if (await http.get("/customers/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert loop.time() < deadline, f"customers did not start: {self.log.read_text()}"
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        await asyncio.to_thread(self.process.wait, 10)

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP: the port still accepts connections, but nothing answers them."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.process.send_signal(signal.SIGCONT)


@pytest.fixture
async def customers_process(settings: Settings, tmp_path: Path) -> AsyncIterator[CustomersProcess]:
    process = CustomersProcess(settings, free_port(), tmp_path / "customers.log")
    yield process
    if process.process is not None and process.process.poll() is None:
        process.process.kill()
        await asyncio.to_thread(process.process.wait, 10)


@dataclass
class JwksFetches:
    """Counts the JWKS requests the verifier starts (connection refused ones included)."""

    started: int = 0

    async def __call__(self, request: httpx.Request) -> None:
        self.started += 1


@dataclass
class VerifierLoad:
    """Callers verifying a genuine token in a loop, as requests to a service would."""

    verifier: TokenVerifier
    token: str
    verified: int = 0
    failures: list[str] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def _caller(self) -> None:
        while not self.stopping.is_set():
            try:
                await self.verifier.verify(self.token)
                self.verified += 1
            except Exception as exc:
                self.failures.append(repr(exc))
            await asyncio.sleep(0.02)

    @asynccontextmanager
    async def running(self) -> AsyncIterator["VerifierLoad"]:
        callers = [asyncio.create_task(self._caller()) for _ in range(CONCURRENT_VERIFIERS)]
        try:
            yield self
        finally:
            self.stopping.set()
            await asyncio.gather(*callers)


async def refused_burst(verifier: TokenVerifier, token: str) -> list[bool]:
    """Verify ``token`` from many callers at once; whether each was refused with 401."""
    return await asyncio.gather(*(refused(verifier, token) for _ in range(CONCURRENT_VERIFIERS)))


async def test_verification_survives_the_identity_provider_hanging_dying_and_returning(
    api, customers_process: CustomersProcess, token_factory: TokenFactory, eventually
) -> None:
    rotated = TokenFactory(keys=KeyPair.generate(), issuer=token_factory.issuer)
    stranger = TokenFactory(keys=KeyPair.generate(), issuer=token_factory.issuer)
    await customers_process.start(token_factory.keys)
    fetches = JwksFetches()
    async with httpx.AsyncClient(event_hooks={"request": [fetches]}) as http:
        jwks = RemoteJWKS(
            f"{customers_process.url}/auth/jwks.json",
            http,
            cache_seconds=0,  # always stale: every verification wants a refresh
            min_refetch_seconds=0,
            timeout_seconds=2,
            backoff_seconds=0.2,
            max_backoff_seconds=0.5,
        )
        verifier = TokenVerifier(
            issuer=token_factory.issuer, audience=token_factory.audience, keys=jwks
        )
        assert (await verifier.verify(token_factory.token("first"))).subject == "first"

        async with VerifierLoad(verifier, token_factory.token("steady")).running() as load:
            with customers_process.frozen():
                before = fetches.started
                assert await refused_burst(verifier, stranger.token()) == [True] * 10
                assert fetches.started - before <= 1  # one shared fetch (hanging), not ten

            await customers_process.stop()
            await eventually(lambda: _attempted_since(fetches, fetches.started))
            before = fetches.started
            assert await refused_burst(verifier, stranger.token()) == [True] * 10
            assert fetches.started - before <= 1
            verified_while_down = load.verified

            await customers_process.start(token_factory.keys, rotated.keys)
            await eventually(lambda: _verifies(verifier, rotated.token("after")))

    assert load.failures == []
    assert verified_while_down > 0
    assert load.verified > verified_while_down


async def _attempted_since(fetches: JwksFetches, count: int) -> bool:
    """Let the loop run until the verifier has tried (and failed) a fetch after ``count``."""
    await asyncio.sleep(0.05)
    return fetches.started > count


async def _verifies(verifier: TokenVerifier, token: str) -> bool:
    return not await refused(verifier, token)
