"""Identity figures: password-reset answers for known and unknown emails, and the JWKS verifier
(parsed keys cached, and a burst of unknown kids while the identity provider hangs)."""

import asyncio
import json
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from jose import jwk, jws

from bench import load
from bench.context import Context
from bench.report import Section, Table
from common.auth import ALGORITHM, RemoteJWKS, TokenVerifier, public_jwk
from common.testing import TEST_AUDIENCE, TEST_ISSUER, KeyPair, TokenFactory, refused

PAIRS = 300
WARMUP_PAIRS = 20
VERIFICATIONS = 2000
BURST = 10
FETCH_TIMEOUT = 2.0


def run(ctx: Context) -> Section:
    with ctx.service("customers") as customers, ctx.load_generator():
        known, unknown = asyncio.run(_reset_requests(customers.base_url))
    cached, rebuilt = _verification_costs()
    burst_seconds = asyncio.run(_unknown_kid_burst_while_hanging())
    difference = known.percentile(50) - unknown.percentile(50)
    return Section(
        title="customers: reset requests and token verification",
        method=(
            "Password reset: the customers service runs as one uvicorn worker; one httpx "
            "connection on the load CPU sends `POST /auth/password-reset/request`, one request at "
            f"a time, alternating an email that has an account and one that has none, {PAIRS} "
            f"pairs after {WARMUP_PAIRS} unreported ones (latencies taken in the client; the "
            "known account gets one message a minute, as configured). Verification, in-process on "
            f"this machine: {VERIFICATIONS} RS256 signature checks with the public key parsed "
            "once (what `RemoteJWKS` now keeps) against the same checks rebuilding the key from "
            f"its JWK each time (what it did before). Burst: {BURST} concurrent verifications of "
            "a token with an unknown kid while the JWKS URL accepts connections but never "
            f"answers (a hung identity provider), with a {FETCH_TIMEOUT:.0f} s fetch timeout; "
            "before, each waited for its own fetch in turn behind a lock."
        ),
        summary=(
            f"Reset requests: p50 {_ms(known.percentile(50))} ms for a known email, "
            f"{_ms(unknown.percentile(50))} ms for an unknown one (difference "
            f"{difference * 1000:+.2f} ms). Verification: {cached * 1e6:.0f} us with the parsed "
            f"key, {rebuilt * 1e6:.0f} us rebuilding it. {BURST} unknown kids while the provider "
            f"hangs: all refused after {burst_seconds:.2f} s (one shared fetch; "
            f"{BURST}x the timeout would be {BURST * FETCH_TIMEOUT:.0f} s)."
        ),
        tables=[_reset_table(known, unknown)],
    )


async def _reset_requests(base_url: str) -> tuple[load.Samples, load.Samples]:
    """Requests for a known and for unknown emails, alternating, so both see the same load."""
    known, unknown = load.Samples(), load.Samples()
    async with load.client(base_url, connections=1) as http:
        email = f"bench-reset-{secrets.token_hex(4)}@example.com"
        signup = {"email": email, "password": secrets.token_urlsafe()}
        (await http.post("/auth/signup", json=signup)).raise_for_status()
        start = time.perf_counter()
        for number in range(WARMUP_PAIRS + PAIRS):
            for samples, address in ((known, email), (unknown, f"nobody-{number}@example.com")):
                sent = time.perf_counter()
                response = await http.post("/auth/password-reset/request", json={"email": address})
                if number < WARMUP_PAIRS:
                    continue
                if response.status_code == 202:
                    samples.latencies.append(time.perf_counter() - sent)
                else:
                    samples.errors += 1
        known.seconds = unknown.seconds = time.perf_counter() - start
    if known.errors or unknown.errors:
        raise RuntimeError("reset requests failed; see the service log")
    return known, unknown


def _verification_costs() -> tuple[float, float]:
    """Seconds per signature check: key parsed once, and key rebuilt from its JWK each time."""
    keys = KeyPair.generate()
    token = TokenFactory(keys=keys).token()
    key_jwk = public_jwk(keys.public_pem)
    parsed = jwk.construct(key_jwk, ALGORITHM)

    def per_call(check: Callable[[], object]) -> float:
        start = time.perf_counter()
        for _ in range(VERIFICATIONS):
            check()
        return (time.perf_counter() - start) / VERIFICATIONS

    cached = statistics.median(
        per_call(lambda: jws.verify(token, parsed, [ALGORITHM])) for _ in range(3)
    )
    rebuilt = statistics.median(
        per_call(lambda: jws.verify(token, jwk.construct(key_jwk, ALGORITHM), [ALGORITHM]))
        for _ in range(3)
    )
    return cached, rebuilt


class FlakyIdentityProvider:
    """A JWKS endpoint on a loopback port that answers until ``hang`` is set, then never does."""

    def __init__(self, keys: KeyPair) -> None:
        body = json.dumps({"keys": [public_jwk(keys.public_pem)]}).encode()
        self.response = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        self.hang = asyncio.Event()
        self.closing = asyncio.Event()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        if self.hang.is_set():
            await self.closing.wait()  # no answer, until the benchmark is over
        else:
            writer.write(self.response)
            await writer.drain()
        writer.close()

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        async with server:
            try:
                yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/auth/jwks.json"
            finally:
                self.closing.set()


async def _unknown_kid_burst_while_hanging() -> float:
    trusted, stranger = TokenFactory(), TokenFactory()
    provider = FlakyIdentityProvider(trusted.keys)
    async with provider.serving() as url, httpx.AsyncClient(trust_env=False) as http:
        # min_refetch_seconds=0: the burst may fetch at once (by default it would wait 30 s)
        jwks = RemoteJWKS(url, http, min_refetch_seconds=0, timeout_seconds=FETCH_TIMEOUT)
        verifier = TokenVerifier(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, keys=jwks)
        await verifier.verify(trusted.token())  # the keys are held
        provider.hang.set()
        start = time.perf_counter()
        refusals = await asyncio.gather(
            *(refused(verifier, stranger.token()) for _ in range(BURST))
        )
        elapsed = time.perf_counter() - start
    if not all(refusals):
        raise RuntimeError("an unknown kid was accepted")
    return elapsed


def _reset_table(known: load.Samples, unknown: load.Samples) -> Table:
    rows = [
        (
            label,
            f"{len(s.latencies):,}",
            _ms(s.percentile(50)),
            _ms(s.percentile(95)),
            str(s.errors),
        )
        for label, s in (("known email", known), ("unknown email", unknown))
    ]
    return Table(columns=("reset request for", "requests", "p50 ms", "p95 ms", "errors"), rows=rows)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"
