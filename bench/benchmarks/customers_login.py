"""Logins of the customers service with its real argon2id cost, and ``GET /auth/me`` beside them."""

import asyncio
import itertools
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from bench import charts, load
from bench.context import Context
from bench.report import Section
from customers.config import Settings

LOGIN_CONCURRENCY = 20
DURATION = 8.0
WARMUP = 2.0
# Every load comes from 127.0.0.1: the per-address throttle would soon answer 429 to the bench.
SERVICE_ENV = {"CUSTOMERS_LOGIN_MAX_FAILURES_PER_ADDRESS": "100000"}


@dataclass(frozen=True)
class Account:
    email: str
    password: str

    def credentials(self) -> dict[str, str]:
        return {"email": self.email, "password": self.password}


def run(ctx: Context) -> Section:
    with ctx.service("customers", env=SERVICE_ENV) as customers, ctx.load_generator():
        scenarios = asyncio.run(_scenarios(customers.base_url))
    plot = charts.latency_bars(
        {scenario.label: scenario.samples for scenario in scenarios},
        title="customers: logins and GET /auth/me, one uvicorn worker",
        path=ctx.plot_path(),
    )
    login_alone, login_busy, me_alone, me_busy = scenarios
    ratio = me_busy.samples.percentile(50) / me_alone.samples.percentile(50)
    return Section(
        title="customers: login and GET /auth/me",
        method=_method(),
        summary=(
            f"One login takes {load.ms(login_alone.samples, 50)} ms at p50 "
            f"({load.ms(login_alone.samples, 95)} ms p95); with {LOGIN_CONCURRENCY} at once the "
            f"worker completes {login_busy.samples.per_second:.1f} logins/s. GET /auth/me: p50 "
            f"{load.ms(me_alone.samples, 50)} ms alone, {load.ms(me_busy.samples, 50)} ms while "
            f"{LOGIN_CONCURRENCY} logins run ({ratio:.1f}x; the goal is at most 2x)."
        ),
        tables=[load.scenario_table(scenarios)],
        plots=[plot],
    )


async def _scenarios(base_url: str) -> list[load.Scenario]:
    async with load.client(base_url, connections=LOGIN_CONCURRENCY + 1) as http:
        accounts = [await _signup(http, number) for number in range(LOGIN_CONCURRENCY)]
        logins = _round_robin(http, accounts)
        me = await _me_request(http, accounts[0])
        await load.measure(logins, duration=WARMUP, concurrency=LOGIN_CONCURRENCY)
        login_alone = await load.measure(logins, duration=DURATION)
        login_busy = await load.measure(logins, duration=DURATION, concurrency=LOGIN_CONCURRENCY)
        me_alone = await load.measure(me, duration=DURATION)
        async with load.background(logins, concurrency=LOGIN_CONCURRENCY) as background:
            me_busy = await load.measure(me, duration=DURATION)
        _require_no_errors(login_alone, login_busy, me_alone, me_busy, background)
    return [
        load.Scenario("POST /auth/login, 1 at a time", login_alone),
        load.Scenario(f"POST /auth/login, {LOGIN_CONCURRENCY} at a time", login_busy),
        load.Scenario("GET /auth/me alone", me_alone),
        load.Scenario(f"GET /auth/me, {LOGIN_CONCURRENCY} logins running", me_busy),
    ]


async def _signup(http: httpx.AsyncClient, number: int) -> Account:
    account = Account(f"bench-{number}-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe())
    response = await http.post("/auth/signup", json=account.credentials())
    response.raise_for_status()
    return account


def _round_robin(
    http: httpx.AsyncClient, accounts: list[Account]
) -> Callable[[], Awaitable[httpx.Response]]:
    """A login of the next account each call, so no account's throttle sees a crowd."""
    turn = itertools.count()

    def send() -> Awaitable[httpx.Response]:
        account = accounts[next(turn) % len(accounts)]
        return http.post("/auth/login", json=account.credentials())

    return send


async def _me_request(
    http: httpx.AsyncClient, account: Account
) -> Callable[[], Awaitable[httpx.Response]]:
    response = await http.post("/auth/login", json=account.credentials())
    response.raise_for_status()
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    return lambda: http.get("/auth/me", headers=headers)


def _require_no_errors(*runs: load.Samples) -> None:
    failed = sum(samples.errors for samples in runs)
    if failed:
        raise RuntimeError(f"{failed} requests failed; see the service log")


def _method() -> str:
    settings = Settings()
    return (
        "The customers service runs as one uvicorn worker (`customers.main:create_app`, "
        "development settings, keys generated in a scratch folder) with its default argon2id "
        f"cost: memory {settings.argon2_memory_kib:,} KiB, {settings.argon2_time_cost} "
        f"iterations, parallelism {settings.argon2_parallelism} (OWASP's minimum), at most "
        f"`os.cpu_count()` hashes at a time in lower-priority threads. {LOGIN_CONCURRENCY} "
        "accounts are signed up first; logins take them in turn (JSON body), so the per-email "
        "throttle never engages, and the per-address limit is raised because all load comes "
        "from 127.0.0.1. httpx loops on the load CPU send one request after another on "
        f"keep-alive connections for {DURATION:.0f} s per scenario, after a {WARMUP:.0f} s warm-up "
        f"of {LOGIN_CONCURRENCY} concurrent logins that is not reported. GET /auth/me (token "
        "verification and one primary-key read) is measured alone, then while "
        f"{LOGIN_CONCURRENCY} logins run. Latencies are taken in the client, so they include "
        "httpx's own overhead."
    )
