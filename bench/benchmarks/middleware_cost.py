"""What common's app costs: ``GET /points/healthz`` beside a bare FastAPI app on the same core."""

from fastapi import FastAPI

from bench import compare
from bench.context import Context
from bench.report import Section

CONNECTIONS = (1, 32)
ROUNDS = 3
DURATION = 5
WARMUP = 2
GOAL = 0.70
BARE_APP = f"{__name__}:create_bare_app"


def create_bare_app() -> FastAPI:
    """The same route with nothing around it: no middleware, handlers, logging or metrics."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/points/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/points/readyz")  # what the benchmark runner waits for
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    return app


def run(ctx: Context) -> Section:
    with ctx.service("points") as platform, ctx.service("points", app=BARE_APP) as bare:
        urls = {
            "platform": f"{platform.base_url}/points/healthz",
            "bare": f"{bare.base_url}/points/healthz",
        }
        for label, url in urls.items():
            ctx.wrk(url, connections=CONNECTIONS[-1], duration=WARMUP, label=f"{label}-warmup")
        comparisons = [
            compare.alternate(ctx, urls, connections=c, rounds=ROUNDS, duration=DURATION)
            for c in CONNECTIONS
        ]
    return Section(
        title="What common's app costs: GET /points/healthz beside a bare FastAPI app",
        method=(
            "The points service (`points.main:create_app`: common's middleware with request id, "
            "body limit, JSON access log to a file, Prometheus metrics, problem handlers) and a "
            f"bare FastAPI app serving the same `GET /points/healthz` (`{BARE_APP}`: no "
            "middleware, no logging) each run as one uvicorn worker (uvloop, httptools), both "
            "pinned to the same CPU. After a 2 s warm-up of each, wrk loads them in turns, "
            f"{ROUNDS} rounds of {DURATION} s each per connection count with keep-alive "
            "connections; the table gives each one's median round and the range."
        ),
        summary=(
            "The platform app serves "
            + compare.ratios_sentence(comparisons, "platform", "bare")
            + f" of the bare app's requests/s (goal: at least {GOAL:.0%})."
        ),
        tables=[compare.table(comparisons, baseline="bare")],
    )
