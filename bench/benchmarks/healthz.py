"""Requests per second and latency of ``GET /points/healthz`` under wrk, by connection count."""

from bench import charts, wrk
from bench.context import Context
from bench.report import Section

CONNECTIONS = (1, 8, 32, 64)
DURATION = 10
WARMUP = 3


def run(ctx: Context) -> Section:
    with ctx.service("points") as points:
        url = f"{points.base_url}/points/healthz"
        ctx.wrk(url, connections=CONNECTIONS[-1], duration=WARMUP, label="warmup")
        results = [ctx.wrk(url, connections=c, duration=DURATION) for c in CONNECTIONS]
    plot = charts.throughput_and_latency(
        results, title="GET /points/healthz, one uvicorn worker", path=ctx.plot_path()
    )
    best = max(results, key=lambda r: r.requests_per_second)
    return Section(
        title="GET /points/healthz",
        method=(
            "The points service runs as one uvicorn worker (`points.main:create_app`, uvloop and "
            "httptools, the app's JSON access log at INFO written to a file, Prometheus metrics "
            "on) on a loopback port. wrk loads `GET /points/healthz` with keep-alive connections, "
            f"{DURATION} s per connection count after a {WARMUP} s warm-up at "
            f"{CONNECTIONS[-1]} connections that is not reported; one run per count. "
            "Latencies are wrk's `--latency` percentiles."
        ),
        summary=(
            f"Peak {best.requests_per_second:,.0f} requests/s at {best.connections} connections; "
            f"with 1 connection p50 is {results[0].ms(50):.2f} ms, with "
            f"{results[-1].connections} it is {results[-1].ms(50):.2f} ms "
            f"(p99 {results[-1].ms(99):.2f} ms)."
        ),
        tables=[wrk.table(results)],
        plots=[plot],
    )
