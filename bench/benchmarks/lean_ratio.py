"""Each service's hottest requests beside a lean twin sending the same SQL: CPU per request."""

import asyncio
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bench import compare, lua
from bench.benchmarks.matching import organization_of, train_model
from bench.context import Context
from bench.report import Section, Table
from bench.services import RunningService
from common.testing import TokenFactory
from matching.generator import Generator
from matching.matches.questions import question

CONNECTIONS = 8
ROUNDS = 3
DURATION = 4
WARMUP = 1
GOAL = 1.5
ONLY = "LEAN_RATIO_SERVICES"
"""A comma list of services to measure alone (while working on one); all by default."""
JSON = {"Content-Type": "application/json"}
ROOMS = 200
# The exporter rewrites every changed day's file every 2 s (work the twin does not do, and not
# the request's): once an hour here, so that it stays out of the figures.
QUIET_EXPORTER = {"OCCUPANCY_EXPORT_INTERVAL_SECONDS": "3600"}
DOCTORS = 20
EVERY_DAY = [{"weekday": day, "start": "00:00", "end": "23:30"} for day in range(7)]
# Signup is set-up here, not measured.
CHEAP_HASHING = {"CUSTOMERS_ARGON2_MEMORY_KIB": "8", "CUSTOMERS_ARGON2_TIME_COST": "1"}
ENROLLMENTS = 10_000
PEOPLE = 1_000
CALLERS = 100
SEED = 22
# Budgets and variant limits no run reaches, the same for service and twin; the job worker's
# poll and the model's training (background work the twin lacks, not the request's) once an hour.
OPEN_GUARD = {
    "MATCHING_PEOPLE_PER_HOUR": "1000000000",
    "MATCHING_PEOPLE_PER_DAY": "1000000000",
    "MATCHING_MAX_SSN_VARIANTS": "1000000",
    "MATCHING_MAX_DOB_VARIANTS": "1000000",
    "MATCHING_MAX_VARIANTS_PER_NAME": "1000000",
    "MATCHING_MAX_VARIANTS_PER_NAME_FAMILY": "1000000",
    "MATCHING_JOB_POLL_SECONDS": "3600",
    "MATCHING_MODEL_TRAINING_INTERVAL_SECONDS": "3600",
}


@dataclass(frozen=True)
class Request:
    """One request of a service, as wrk sends it to the service and to its twin."""

    label: str
    path: str
    headers: dict[str, str]
    lua: str = ""
    """A Lua body returning ``wrk.format(...)`` with the request's number ``n``; else a GET."""
    lua_preamble: str = ""
    """Lua run once per wrk thread before the requests (tables the body reads)."""


@dataclass(frozen=True)
class Measured:
    request: Request
    comparison: compare.Comparison

    def ratio(self) -> float:
        """The service's CPU per request over its twin's."""
        c = self.comparison
        return c.cpu_ms_per_request("service") / c.cpu_ms_per_request("lean")

    def row(self) -> tuple[str, ...]:
        c = self.comparison
        service, lean = c.cpu_ms_per_request("service"), c.cpu_ms_per_request("lean")
        return (
            self.request.label,
            f"{service:.2f}",
            f"{lean:.2f}",
            f"{service / lean:.2f}x",
            f"{c.median('service'):,.0f}",
            f"{c.median('lean'):,.0f}",
            str(c.errors("service") + c.errors("lean")),
        )


@contextmanager
def _pair(
    ctx: Context, name: str, env: dict[str, str], database_url: str | None = None
) -> Iterator[dict[str, RunningService]]:
    """The service and its lean twin (``bench.lean.<name>``), both running (on the run's
    database, or on ``database_url``)."""
    twin = f"bench.lean.{name}:create_app"
    with ExitStack() as stack:
        yield {
            "service": stack.enter_context(ctx.service(name, env=env, database_url=database_url)),
            "lean": stack.enter_context(
                ctx.service(name, env=env, app=twin, database_url=database_url)
            ),
        }


def _measure(
    ctx: Context, pair: dict[str, RunningService], request: Request, first_number: int = 0
) -> Measured:
    script: Path | None = None
    if request.lua:
        stem = request.label.split(" ")[1].strip("/").replace("/", "-").replace("{", "")
        path = ctx.results_dir / f"{stem.replace('}', '')}.lua"
        script = lua.numbered(path, request.lua, request.lua_preamble)
    urls = {label: f"{running.base_url}{request.path}" for label, running in pair.items()}
    options = {"connections": CONNECTIONS, "headers": request.headers, "script": script}
    warmup = compare.alternate(
        ctx, urls, rounds=1, duration=WARMUP, first_number=first_number, **options
    )
    comparison = compare.alternate(
        ctx,
        urls,
        rounds=ROUNDS,
        duration=DURATION,
        pids={label: running.pid for label, running in pair.items()},
        first_number=warmup.next_number,
        **options,
    )
    return Measured(request, comparison)


def _points(ctx: Context, tokens: TokenFactory, env: dict[str, str]) -> list[Measured]:
    caller = tokens.auth("bench-service", ["service"], ttl=3600)
    add = Request(
        "POST /points/accounts/{id}/transactions",
        "/points/accounts/lean-0/transactions",
        {**caller, **JSON},
        lua='return wrk.format("POST", "/points/accounts/lean-" .. (n % 50) .. "/transactions", '
        'nil, \'{"payer":"PAYER-\' .. (n % 10) .. \'","points":100,'
        '"timestamp":"2021-01-01T00:00:00Z"}\')',
    )
    balance = Request(
        "GET /points/accounts/{id}/balance", "/points/accounts/lean-1/balance", caller
    )
    with _pair(ctx, "points", env) as pair:
        return [_measure(ctx, pair, add), _measure(ctx, pair, balance)]


def _customers(ctx: Context, env: dict[str, str]) -> list[Measured]:
    """``GET /auth/me`` with a token customers issued at a login; the twin trusts its JWKS key."""
    customers_env = {**env, **CHEAP_HASHING}
    del customers_env["AUTH_PUBLIC_KEY"]  # customers verifies with the keys it signs with
    with ctx.service("customers", env=customers_env) as service:
        account = {"email": "lean-me@example.com", "password": secrets.token_urlsafe()}
        with httpx.Client(base_url=service.base_url, trust_env=False) as http:
            http.post("/auth/signup", json=account).raise_for_status()
            login = http.post("/auth/login", json=account)
            login.raise_for_status()
            key = http.get("/auth/jwks.json").json()["keys"][0]
        lean_env = {**customers_env, "AUTH_PUBLIC_KEY": json.dumps(key)}
        twin = "bench.lean.customers:create_app"
        with ctx.service("customers", env=lean_env, app=twin) as lean:
            caller = {"Authorization": f"Bearer {login.json()['access_token']}"}
            me = Request("GET /auth/me", "/auth/me", caller)
            return [_measure(ctx, {"service": service, "lean": lean}, me)]


def _occupancy(ctx: Context, tokens: TokenFactory, env: dict[str, str]) -> list[Measured]:
    """Registers of new names spread over ROOMS rooms, and the status of one of them."""
    staff = tokens.auth("lean-staff", ["staff", "admin"], ttl=3600)
    register = Request(
        "POST /occupancy/rooms/{room}/register",
        "/occupancy/rooms/lean-0/register",
        {**staff, **JSON},
        lua=f'return wrk.format("POST", "/occupancy/rooms/lean-" .. (n % {ROOMS}) .. '
        '"/register", nil, \'{"name":"person \' .. n .. \'"}\')',
    )
    status = Request("GET /occupancy/rooms/{room}/status", "/occupancy/rooms/lean-1/status", staff)
    with _pair(ctx, "occupancy", {**env, **QUIET_EXPORTER}) as pair:
        with httpx.Client(base_url=pair["service"].base_url, trust_env=False) as http:
            for number in range(ROOMS):
                room = {"slug": f"lean-{number}", "title": f"Lean {number}"}
                http.post("/occupancy/rooms", json=room, headers=staff).raise_for_status()
        return [_measure(ctx, pair, register), _measure(ctx, pair, status)]


def _appointments(ctx: Context, tokens: TokenFactory, env: dict[str, str]) -> list[Measured]:
    """A receptionist books doctor i and patient i (of DOCTORS) in half-hours from tomorrow,
    never one slot twice; the free slots of one doctor over the next week. The people are known
    from their own tokens."""
    receptionist = tokens.auth("lean-receptionist", ["receptionist"], ttl=3600)
    doctors = [f"lean-doctor-{n}" for n in range(DOCTORS)]
    tomorrow = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = int((tomorrow + timedelta(days=1)).timestamp())
    # request n: doctor and patient n mod DOCTORS, half-hour n div DOCTORS (47 a day)
    book = Request(
        "POST /appointments",
        "/appointments",
        {**receptionist, **JSON},
        lua=f"local k = math.floor(n / {DOCTORS}) local who = n % {DOCTORS} "
        f"local t = {first} + math.floor(k / 47) * 86400 + (k % 47) * 1800 "
        'return wrk.format("POST", "/appointments", nil, '
        '\'{"patient":"lean-patient-\' .. who .. \'@example.com",'
        '"doctor":"lean-doctor-\' .. who .. \'@example.com",'
        '"starts_at":"\' .. os.date("!%Y-%m-%dT%H:%M:%SZ", t) .. \'"}\')',
    )
    start = datetime.now(UTC) + timedelta(hours=1)
    window = urlencode(
        {
            "doctor": "lean-doctor-0@example.com",
            "from": start.isoformat(),
            "to": (start + timedelta(days=7)).isoformat(),
        }
    )
    free = Request(
        "GET /appointments/availability", f"/appointments/availability?{window}", receptionist
    )
    with _pair(ctx, "appointments", env) as pair:
        with httpx.Client(base_url=pair["service"].base_url, trust_env=False) as http:
            people = [
                *((f"lean-patient-{n}", "patient") for n in range(DOCTORS)),
                *((doctor, "doctor") for doctor in doctors),
            ]
            for subject, role in [("lean-receptionist", "receptionist"), *people]:
                caller = tokens.auth(subject, [role])
                http.get("/appointments", headers=caller).raise_for_status()  # now known
            for doctor in doctors:
                http.put(
                    f"/appointments/doctors/{doctor}@example.com/working-hours",
                    json={"timezone": "UTC", "hours": EVERY_DAY},
                    headers=receptionist,
                ).raise_for_status()
        return [_measure(ctx, pair, book), _measure(ctx, pair, free)]


def _matching(ctx: Context, tokens: TokenFactory, env: dict[str, str]) -> list[Measured]:
    """One person per request beside ENROLLMENTS generated enrollments and the model learned from
    them: person n mod PEOPLE (the generator's, half of them enrolled; those the service answers
    without a warning, so that both answer the same) asked by caller n mod CALLERS (many callers,
    as a utility's staff would be; each caller's guard reads two of its rows whatever its
    history, so their number no longer steers the figures)."""
    data = Generator(SEED).dataset(clients=ENROLLMENTS * 5 // 8, cohort=PEOPLE)  # 1.6 stays each
    asked = [
        {key: value for key, value in member.items() if key != "account_closed_on"}
        for member in data.cohort
    ]
    people = [person for person in asked if _clean(person)]
    callers = [
        tokens.auth(f"lean-utility-{number}", ["utility"], ttl=3600)["Authorization"]
        for number in range(CALLERS)
    ]
    bodies = ",\n".join(f"[=[{json.dumps({'people': [person]})}]=]" for person in people)
    match = Request(
        "POST /matching/matches (one person)",
        "/matching/matches",
        JSON,
        lua=f'wrk.headers["Authorization"] = callers[n % {len(callers)} + 1] '
        f'return wrk.format("POST", "/matching/matches", nil, people[n % {len(people)} + 1])',
        lua_preamble=f"people = {{{bodies}}}\n"
        f"callers = {{{', '.join(json.dumps(caller) for caller in callers)}}}",
    )
    with (
        ctx.scratch_database("matching") as database_url,
        _pair(ctx, "matching", {**env, **OPEN_GUARD}, database_url) as pair,
    ):
        records = data.enrollments[:ENROLLMENTS]
        asyncio.run(_enroll(pair["service"].base_url, tokens, records))
        train_model(database_url)
        measured = _measure(ctx, pair, match)
        refused = asyncio.run(_refused(database_url))
    if refused:
        raise RuntimeError(f"the probe guard refused {refused} people: the row would not be read")
    return [measured]


def _clean(person: dict[str, object]) -> bool:
    asked = question(person)
    return asked.error is None and not asked.warnings


async def _enroll(base_url: str, tokens: TokenFactory, records: list[dict[str, object]]) -> None:
    admin = tokens.auth("lean-admin", ["admin"])
    provider = "lean-provider"
    async with httpx.AsyncClient(base_url=base_url, timeout=600, trust_env=False) as http:
        await organization_of(http, admin, provider, "lean")
        uploaded = await http.post(
            "/matching/enrollments",
            json={"enrollments": records},
            headers=tokens.auth(provider, ["provider"]),
        )
        uploaded.raise_for_status()


async def _refused(database_url: str) -> int:
    """People the probe guard refused, service and twin (their audit rows say)."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            refused = await connection.scalar(
                text("SELECT coalesce(sum(probes_refused), 0) FROM matching.audit_log")
            )
    finally:
        await engine.dispose()
    return int(refused)


def run(ctx: Context) -> Section:
    tokens = TokenFactory()
    env = tokens.service_env()
    pairs = {
        "points": lambda: _points(ctx, tokens, env),
        "customers": lambda: _customers(ctx, env),
        "occupancy": lambda: _occupancy(ctx, tokens, env),
        "appointments": lambda: _appointments(ctx, tokens, env),
        "matching": lambda: _matching(ctx, tokens, env),
    }
    chosen = os.environ.get(ONLY, "").split(",") if os.environ.get(ONLY) else list(pairs)
    measured = [row for name in chosen for row in pairs[name]()]
    worst = max(m.ratio() for m in measured)
    return Section(
        title="The platform's cost per request: each service beside a lean twin, same SQL",
        method=_method(),
        summary=(
            f"The largest ratio of CPU per request, service to twin, is {worst:.2f}x "
            f"(goal: at most {GOAL}x)."
        ),
        tables=[
            Table(
                columns=(
                    "request",
                    "service CPU ms/request",
                    "lean twin CPU ms/request",
                    "ratio",
                    "service requests/s",
                    "lean twin requests/s",
                    "errors",
                ),
                rows=[m.row() for m in measured],
            )
        ],
    )


def _method() -> str:
    return (
        "For each service's hottest read and write, the service (one uvicorn worker, development "
        "settings, tokens verified with a test key given as `AUTH_PUBLIC_KEY`) and its lean twin "
        "(`bench/lean/<service>.py`: FastAPI, pydantic, an asyncpg pool and python-jose, the "
        "same SQL and the same token check, no ORM, middleware, logging or metrics) run side by "
        f"side on the service CPU. wrk with {CONNECTIONS} keep-alive connections loads them in "
        f"turns: a {WARMUP} s warm-up each, then {ROUNDS} rounds of {DURATION} s each (writes "
        "through a Lua script giving every request its own number, so no two collide). CPU per "
        "request is the process's own user + system time (`/proc/<pid>/stat`) over the round "
        "divided by the requests wrk completed; the table gives the median round of each. "
        f"matching answers one person per request beside {ENROLLMENTS:,} generated enrollments "
        f"(seed {SEED}, in a scratch database) and the model learned from them (`matching "
        f"train-model`): request n asks about person n mod {PEOPLE:,} (the generator's, half of "
        f"them enrolled, those answered without a warning) as caller n mod {CALLERS}; both get "
        "probe budgets and variant limits the run never reaches, and "
        "the job worker's poll and the model's training once an hour. Its twin calls the "
        "service's own domain code (identity and SSN hashes, the guard's checks, scoring, the "
        "answer's shape), sends the service's own statements (services/matching/tests/"
        "test_lean_twin.py checks both send the same and answer the same) and commits the "
        "guard's work before the search, as the service does."
    )
