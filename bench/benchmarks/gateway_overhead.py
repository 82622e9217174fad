"""What the gateway costs: an authenticated ``GET /auth/me`` directly and through nginx."""

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from gateway.stack import gateway_values, nginx_command, service_ports, write_nginx_config

from bench import compare
from bench.context import Context, taskset
from bench.report import Section
from bench.services import LOOPBACK, stop
from common.settings import CommonSettings
from common.testing.processes import free_port, wait_until_answering

CONNECTIONS = (1, 32)
ROUNDS = 3
DURATION = 5
WARMUP = 2
GOAL = 0.90
PASSWORD = "violet-harbor-quilt-1987"  # noqa: S105 (a throwaway account of the bench)


@contextmanager
def gateway(ctx: Context, customers_url: str) -> Iterator[str]:
    """nginx from ``gateway/nginx.conf.template`` in front of customers, on the service's CPU."""
    ports = {name: free_port() for name in service_ports()}
    ports["customers"] = int(customers_url.rsplit(":", 1)[1])
    listen = f"{LOOPBACK}:{free_port()}"
    values = gateway_values(listen, ports, CommonSettings().max_body_bytes)
    config = write_nginx_config(ctx.data_dir / "gateway", values)
    log = ctx.results_dir / "nginx.log"
    command = [*taskset(ctx.placement.service_cpus), *nginx_command(config)]
    with log.open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_until_answering(f"http://{listen}/customers/healthz", process, 10, log=log)
            yield f"http://{listen}"
        finally:
            stop(process)


def bearer(customers_url: str) -> dict[str, str]:
    """A new customer's access token, as an ``Authorization`` header."""
    account = {"email": f"bench-{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD}
    with httpx.Client(base_url=customers_url, timeout=10, trust_env=False) as http:
        http.post("/auth/signup", json=account).raise_for_status()
        tokens = http.post("/auth/login", json=account).raise_for_status().json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def run(ctx: Context) -> Section:
    with ctx.service("customers") as customers, gateway(ctx, customers.base_url) as gateway_url:
        headers = bearer(customers.base_url)
        urls = {
            "direct": f"{customers.base_url}/auth/me",
            "through nginx": f"{gateway_url}/auth/me",
        }
        for label, url in urls.items():
            warmup = f"{label.replace(' ', '-')}-warmup"
            ctx.wrk(
                url, connections=CONNECTIONS[-1], duration=WARMUP, label=warmup, headers=headers
            )
        comparisons = [
            compare.alternate(
                ctx, urls, connections=c, rounds=ROUNDS, duration=DURATION, headers=headers
            )
            for c in CONNECTIONS
        ]
    return Section(
        title="What the gateway costs: GET /auth/me directly and through nginx",
        method=(
            "customers runs as one uvicorn worker with nginx in front of it (the template of "
            "`make stack`: JSON access log to a file, request ids, keep-alive upstream), both "
            "pinned to the service CPU. wrk loads `GET /auth/me` with one customer's access token "
            "(an RS256 verification and a primary-key read in PostgreSQL per request) on the "
            "service's own port and through nginx in turns, in the same run: after a 2 s warm-up "
            f"of each, {ROUNDS} rounds of {DURATION} s each per connection count; the table "
            "gives each one's median round and the range."
        ),
        summary=(
            "Through nginx the platform keeps "
            + compare.ratios_sentence(comparisons, "through nginx", "direct")
            + f" of the direct requests/s (goal: at least {GOAL:.0%})."
        ),
        tables=[compare.table(comparisons, baseline="direct")],
    )
