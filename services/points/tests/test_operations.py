"""Operations endpoints and docs of the points service, against a real PostgreSQL."""

import httpx


async def test_healthz_and_readyz_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/points/healthz")).json() == {"status": "ok"}
    assert (await client.get("/points/readyz")).json() == {"status": "ready"}


async def test_docs_load_the_openapi_document_under_the_prefix(client: httpx.AsyncClient) -> None:
    docs = await client.get("/points/docs")
    assert docs.status_code == 200
    assert "/points/openapi.json" in docs.text
    spec = (await client.get("/points/openapi.json")).json()
    assert "/points/healthz" in spec["paths"]


async def test_metrics_count_requests(client: httpx.AsyncClient) -> None:
    await client.get("/points/healthz")
    metrics = (await client.get("/points/metrics")).text
    assert 'http_requests_total{method="GET",route="/points/healthz",status="200"} 1.0' in metrics
