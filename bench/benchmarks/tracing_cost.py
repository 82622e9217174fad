"""What traces cost: GET /points/balance with tracing off, and on (exported to a local sink)."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench import compare
from bench.context import Context
from bench.report import Section, Table
from common.testing import TokenFactory

CONNECTIONS = 8
ROUNDS = 3
DURATION = 4
WARMUP = 1


class _Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that reads each export and throws it away."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextmanager
def otlp_sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def run(ctx: Context) -> Section:
    tokens = TokenFactory()
    env = tokens.service_env()
    with (
        otlp_sink() as sink,
        ctx.service("points", env=env) as off,
        ctx.service("points", env={**env, "OTEL_EXPORTER_OTLP_ENDPOINT": sink}) as on,
    ):
        urls = {"off": f"{off.base_url}/points/balance", "on": f"{on.base_url}/points/balance"}
        headers = tokens.auth("traced-account")
        for label, url in urls.items():
            ctx.wrk(url, connections=CONNECTIONS, duration=WARMUP, headers=headers, label=label)
        comparison = compare.alternate(
            ctx,
            urls,
            connections=CONNECTIONS,
            rounds=ROUNDS,
            duration=DURATION,
            headers=headers,
            pids={"off": off.pid, "on": on.pid},
        )
    cpu = {label: comparison.cpu_ms_per_request(label) for label in urls}
    rows = [
        (
            label,
            f"{comparison.median(label):.0f}",
            f"{cpu[label]:.2f}",
            str(comparison.errors(label)),
        )
        for label in urls
    ]
    return Section(
        title="What traces cost: GET /points/balance with tracing off and on",
        method=(
            "Two points services (one uvicorn worker each, pinned to the service CPU): one as "
            "deployed by default, with no `OTEL_EXPORTER_OTLP_ENDPOINT` (common.tracing imports "
            "nothing of OpenTelemetry's SDK and adds no middleware), one with it pointing at an "
            "OTLP/HTTP sink in the benchmark process (a server span per request and a span per SQL "
            f"statement, batched). After a {WARMUP} s warm-up of each, wrk with {CONNECTIONS} "
            f"connections loads `GET /points/balance` with one account's token, {ROUNDS} rounds "
            f"of {DURATION} s each in turns; CPU per request is each process's own CPU time "
            "(utime + stime) over the requests of its round, median of the rounds."
        ),
        summary=(
            f"Tracing on costs {cpu['on'] / cpu['off']:.2f}x the CPU per request of tracing off "
            f"({cpu['on']:.2f} ms vs {cpu['off']:.2f} ms); off is the default deployment, whose "
            "per-request cost the lean-twin ratio above measures."
        ),
        tables=[Table(("tracing", "requests/s (median)", "CPU ms/request", "errors"), rows)],
    )
