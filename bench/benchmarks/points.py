"""The points ledger: spend latency beside a long history, and adds and spends per second with
50 concurrent clients, beside a bare asyncpg INSERT loop on the same database."""

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable

import asyncpg
import httpx

from bench import charts, load
from bench.context import Context
from bench.report import Section
from common.testing import TokenFactory

CLIENTS = 50
DURATION = 8.0
WARMUP = 2.0
HISTORIES = (1_000, 1_000_000)
UNSPENT_LOTS = 500  # credits with points left in each history account; the rest are spent
LOT_POINTS = 1_000
SPEND_POINTS = 150  # a spend takes from one credit or two; 500 credits last 3,000 spends
PAYERS = 10


def run(ctx: Context) -> Section:
    tokens = TokenFactory()
    env = tokens.service_env()
    with ctx.service("points", env=env) as points:
        asyncio.run(_seed_histories(ctx.database_url))
        with ctx.load_generator():
            scenarios = asyncio.run(_scenarios(points.base_url, ctx.database_url, tokens))
    by_label = {scenario.label: scenario.samples for scenario in scenarios}
    plot = charts.latency_bars(
        by_label, title="points: spends and adds, one uvicorn worker", path=ctx.plot_path()
    )
    return Section(
        title="points: spends beside a long history, adds and spends under 50 clients",
        method=_method(),
        summary=_summary(scenarios),
        tables=[load.scenario_table(scenarios)],
        plots=[plot],
    )


def _history_account(size: int) -> str:
    return f"history-{size}"


async def _seed_histories(database_url: str) -> None:
    """Accounts with 1,000 and 1,000,000 prior transactions, written by SQL (an HTTP seed of a
    million would take most of an hour): all but the newest UNSPENT_LOTS are spent already."""
    connection = await asyncpg.connect(database_url)
    try:
        for size in HISTORIES:
            await _seed_account(connection, _history_account(size), size)
        await connection.execute("ANALYZE points.transactions")
    finally:
        await connection.close()


async def _seed_account(connection: asyncpg.Connection, account: str, size: int) -> None:
    async with connection.transaction():
        await connection.execute("INSERT INTO points.accounts (account_id) VALUES ($1)", account)
        await connection.execute(
            "INSERT INTO points.payers (account_id, name) "
            "SELECT $1, 'PAYER-' || n FROM generate_series(0, $2 - 1) n",
            account,
            PAYERS,
        )
        await connection.execute(
            "INSERT INTO points.transactions (account_id, payer_id, points, timestamp, remaining) "
            "SELECT $1, p.id, $3::bigint, "
            "       timestamptz '2000-01-01 00:00Z' + make_interval(mins => g), "
            "       CASE WHEN g > $2::int - $4::int THEN $3::bigint ELSE 0 END "
            "FROM generate_series(1, $2) g "
            "JOIN points.payers p ON p.account_id = $1 AND p.name = 'PAYER-' || (g % $5)",
            account,
            size,
            LOT_POINTS,
            UNSPENT_LOTS,
            PAYERS,
        )
        await connection.execute(
            "UPDATE points.payers p SET balance = (SELECT sum(remaining) "
            "FROM points.transactions t WHERE t.payer_id = p.id) WHERE p.account_id = $1",
            account,
        )


async def _scenarios(base_url: str, database_url: str, tokens: TokenFactory) -> list[load.Scenario]:
    scenarios = []
    async with load.client(base_url, connections=CLIENTS + 1) as http:
        for size in HISTORIES:
            spend = _spend(http, tokens, _always(_history_account(size)))
            await load.measure(spend, duration=WARMUP)
            samples = await load.measure(spend, duration=DURATION)
            scenarios.append(
                load.Scenario(f"spend, {size:,} prior transactions, 1 client", samples)
            )
        hot = _account_names("hot")
        await _fill(http, tokens, "hot-spends")
        loads = [
            ("add, one account", _add(http, tokens, _always("hot-adds"))),
            ("spend, one account", _spend(http, tokens, _always("hot-spends"), points=10)),
            (f"add, {CLIENTS} accounts", _add(http, tokens, hot)),
            (f"add or spend, {CLIENTS} accounts", _add_or_spend(http, tokens, hot)),
        ]
        for label, send in loads:
            await load.measure(send, duration=WARMUP, concurrency=CLIENTS)
            samples = await load.measure(send, duration=DURATION, concurrency=CLIENTS)
            scenarios.append(load.Scenario(f"{label}, {CLIENTS} clients", samples))
    for connections in (1, CLIENTS):
        samples = await _bare_inserts(database_url, connections)
        scenarios.append(load.Scenario(f"bare asyncpg INSERT, {connections} connections", samples))
    return scenarios


def _always(account: str) -> Callable[[], str]:
    return lambda: account


def _account_names(prefix: str) -> Callable[[], str]:
    """The next of CLIENTS accounts on each call, round robin."""
    turn = itertools.count()
    return lambda: f"{prefix}-{next(turn) % CLIENTS}"


def _headers(tokens: TokenFactory) -> Callable[[str], dict[str, str]]:
    cache: dict[str, dict[str, str]] = {}
    return lambda account: cache.setdefault(account, tokens.auth(account))


Send = Callable[[], Awaitable[httpx.Response]]


def _add(http: httpx.AsyncClient, tokens: TokenFactory, account: Callable[[], str]) -> Send:
    headers, minute = _headers(tokens), itertools.count()

    def send() -> Awaitable[httpx.Response]:
        body = {
            "payer": f"PAYER-{next(minute) % PAYERS}",
            "points": 100,
            "timestamp": "2021-01-01T00:00:00Z",
        }
        target = account()
        return http.post(
            f"/points/accounts/{target}/transactions", json=body, headers=headers(target)
        )

    return send


def _spend(
    http: httpx.AsyncClient,
    tokens: TokenFactory,
    account: Callable[[], str],
    points: int = SPEND_POINTS,
) -> Send:
    headers = _headers(tokens)

    def send() -> Awaitable[httpx.Response]:
        target = account()
        return http.post(
            f"/points/accounts/{target}/spend", json={"points": points}, headers=headers(target)
        )

    return send


def _add_or_spend(
    http: httpx.AsyncClient, tokens: TokenFactory, account: Callable[[], str]
) -> Send:
    """Adds of 100 and spends of 50 in turn, so no account runs dry."""
    add, spend, turn = (
        _add(http, tokens, account),
        _spend(http, tokens, account, 50),
        itertools.count(),
    )
    return lambda: add() if next(turn) % 2 == 0 else spend()


async def _fill(http: httpx.AsyncClient, tokens: TokenFactory, account: str) -> None:
    """Enough credits for every spend of the one-account run."""
    headers = tokens.auth(account)
    for day in range(1, 201):
        body = {
            "payer": f"PAYER-{day % PAYERS}",
            "points": LOT_POINTS,
            "timestamp": f"2020-01-01T00:{day % 60:02d}:00Z",
        }
        response = await http.post("/points/transactions", json=body, headers=headers)
        response.raise_for_status()


async def _bare_inserts(database_url: str, connections: int) -> load.Samples:
    """One-row INSERTs, each its own transaction, from ``connections`` asyncpg connections."""
    pool = await asyncpg.create_pool(database_url, min_size=connections, max_size=connections)
    try:
        await pool.execute(
            "CREATE TABLE IF NOT EXISTS public.bench_insert_probe "
            "(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payer text, points bigint, "
            "timestamp timestamptz)"
        )
        samples = load.Samples()
        deadline = time.perf_counter() + DURATION
        start = time.perf_counter()

        async def loop() -> None:
            async with pool.acquire() as connection:
                while time.perf_counter() < deadline:
                    began = time.perf_counter()
                    await connection.execute(
                        "INSERT INTO public.bench_insert_probe (payer, points, timestamp) "
                        "VALUES ($1, $2, now())",
                        "DANNON",
                        100,
                    )
                    samples.latencies.append(time.perf_counter() - began)

        await asyncio.gather(*(loop() for _ in range(connections)))
        samples.seconds = time.perf_counter() - start
        await pool.execute("DROP TABLE public.bench_insert_probe")
        return samples
    finally:
        await pool.close()


def _per_second(scenarios: list[load.Scenario], label_start: str) -> float:
    return next(s.samples.per_second for s in scenarios if s.label.startswith(label_start))


def _summary(scenarios: list[load.Scenario]) -> str:
    short, long = scenarios[0].samples, scenarios[1].samples
    ratio = long.percentile(50) / short.percentile(50)
    inserts = _per_second(scenarios, f"bare asyncpg INSERT, {CLIENTS}")
    adds = _per_second(scenarios, f"add, {CLIENTS} accounts")
    return (
        f"A spend takes {load.ms(short, 50)} ms at p50 with 1,000 prior transactions and "
        f"{load.ms(long, 50)} ms with 1,000,000 ({ratio:.2f}x; the goal is under 1.5x). With "
        f"{CLIENTS} clients: {_per_second(scenarios, 'add, one account'):,.0f} adds/s and "
        f"{_per_second(scenarios, 'spend, one account'):,.0f} spends/s on one account, "
        f"{adds:,.0f} adds/s across {CLIENTS} accounts, beside {inserts:,.0f} bare asyncpg "
        f"INSERTs/s on {CLIENTS} connections ({adds / inserts:.0%}; the goal is at least 50%)."
        + _failures(scenarios)
    )


def _failures(scenarios: list[load.Scenario]) -> str:
    """A sentence about failed requests (error answers, or no answer within 30 s), if any."""
    failed = sum(scenario.samples.errors for scenario in scenarios)
    return f" {failed} requests failed or timed out (errors column)." if failed else ""


def _method() -> str:
    return (
        "The points service runs as one uvicorn worker (`points.main:create_app`, development "
        "settings, `DB_POOL_SIZE` 5 plus 5 overflow, tokens verified with a test key pair "
        "given as `AUTH_PUBLIC_KEY`). Two accounts get 1,000 and 1,000,000 prior transactions "
        f"written by SQL ({PAYERS} payers, {LOT_POINTS:,} points each, one minute apart); in "
        f"both only the newest {UNSPENT_LOTS} credits have points left, the others being spent "
        "already, as in a ledger with a long past. One client then spends "
        f"{SPEND_POINTS:,} points at a time (one credit or two) from each account, "
        f"{DURATION:.0f} s after a {WARMUP:.0f} s warm-up. Then {CLIENTS} httpx clients on "
        "keep-alive connections send one request after another for "
        f"{DURATION:.0f} s after a {WARMUP:.0f} s warm-up: adds of 100 points to one account; "
        f"spends of 10 from one account holding 200 credits of {LOT_POINTS:,}; adds spread over "
        f"{CLIENTS} accounts in turn; adds and spends of 50 in turn over those accounts. Every "
        "request goes through `/points/accounts/{id}/...` with the account holder's token. "
        f"Last, one and {CLIENTS} asyncpg connections each loop on a one-row INSERT in its own "
        "transaction (a table with an identity key, on the same database) for "
        f"{DURATION:.0f} s. The load runs on the load CPU; latencies are measured in the client."
    )
