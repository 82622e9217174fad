"""Every error is RFC 9457 problem+json with the request id; no stack trace reaches a client."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "request_id"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body.keys() >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/probe/nothing-here"), 404)
    assert body["instance"] == "/probe/nothing-here"
    assert body["title"] == "Not Found"


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/probe/healthz")
    body = assert_problem(response, 405)
    assert "DELETE" in str(body["detail"])
    assert "GET" in response.headers["allow"]


async def test_validation_errors_list_each_field_without_echoing_input(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/probe/items", json={"name": "", "secret": "hunter2-do-not-echo", "extra": 1}
    )
    body = assert_problem(response, 422)
    errors = body["errors"]
    assert isinstance(errors, list)
    assert {tuple(error["loc"]) for error in errors} == {("body", "name"), ("body", "extra")}
    assert "hunter2" not in response.text


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"", "application/json"),
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
    ],
    ids=["empty", "malformed", "wrong type"],
)
async def test_unparseable_bodies_are_422_problems(
    client: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    response = await client.post(
        "/probe/items", content=content, headers={"content-type": content_type}
    )
    assert_problem(response, 422)


async def test_domain_errors_keep_their_status_and_detail(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.post("/probe/conflict"), 409)
    assert body["detail"] == "That item exists already"


async def test_an_unhandled_error_is_a_500_problem_without_the_trace(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = await client.get("/probe/boom")
    body = assert_problem(response, 500)
    assert "internal detail" not in response.text
    assert "Traceback" not in response.text
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    errors = [line for line in logged if line["logger"] == "errors"]
    assert "internal detail that must not leak" in errors[0]["exc"]
    assert errors[0]["request_id"] == body["request_id"]


async def test_a_body_over_the_limit_is_refused_by_its_declared_length(
    client: httpx.AsyncClient,
) -> None:
    oversized = json.dumps({"name": "x", "secret": "y" * 2_000_000})
    body = assert_problem(await client.post("/probe/items", content=oversized), 413)
    assert "1048576" in str(body["detail"])


async def test_a_streamed_body_over_the_limit_is_refused(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "x", "secret": "'
        for _ in range(40):
            yield b"y" * 64_000
        yield b'"}'

    assert_problem(await client.post("/probe/items", content=chunks()), 413)


async def test_the_request_id_is_echoed_when_valid(client: httpx.AsyncClient) -> None:
    response = await client.get("/probe/healthz", headers={"X-Request-ID": "abc-123.DEF"})
    assert response.headers["x-request-id"] == "abc-123.DEF"


@pytest.mark.parametrize("sent", [None, "", "x" * 200, "bad id with spaces", 'quote"inside'])
async def test_a_missing_or_unsafe_request_id_is_replaced(
    client: httpx.AsyncClient, sent: str | None
) -> None:
    headers = {"X-Request-ID": sent} if sent is not None else {}
    returned = (await client.get("/probe/healthz", headers=headers)).headers["x-request-id"]
    assert returned != sent
    assert len(returned) == 32
