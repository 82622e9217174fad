"""Routing rules of every service (405 with a complete Allow, relative slash redirects) and what
its document says of request strings."""

import pytest

from common.testing.checks import assert_problem
from common.testing.contract import body_validator


async def test_a_method_a_literal_path_does_not_serve_is_405_not_a_neighbours_422(client) -> None:
    """``/probe/things/latest`` serves GET only; ``/probe/things/{thing_id}`` (an int) serves
    DELETE, and must not take the literal path as its parameter."""
    response = await client.delete("/probe/things/latest")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET"


async def test_a_405_lists_every_method_of_the_path(client) -> None:
    response = await client.post("/probe/things/5")
    assert_problem(response, 405)
    assert response.headers["allow"] == "DELETE, GET"
    assert (await client.delete("/probe/things/5")).status_code == 204
    assert (await client.get("/probe/things/latest")).json() == {"id": 0}


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "TRACE"])
async def test_methods_nobody_serves_are_405_with_allow(client, method: str) -> None:
    response = await client.request(method, "/probe/items")
    assert_problem(response, 405)
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/probe/me/", "/probe/me"),
        ("/probe/me/?x=1&y=%2F", "/probe/me?x=1&y=%2F"),
        ("/probe/things/7/", "/probe/things/7"),
    ],
)
async def test_the_trailing_slash_redirect_never_carries_the_clients_host(
    client, path: str, location: str
) -> None:
    response = await client.get(path, headers={"host": "evil.example"})
    assert response.status_code == 307
    assert response.headers["location"] == location


@pytest.mark.parametrize("path", ["/probe/nothing/", "/probe"])
async def test_a_path_without_a_served_twin_is_404(client, path: str) -> None:
    response = await client.get(path, headers={"host": "evil.example"})
    assert_problem(response, 404)
    assert "location" not in response.headers


async def test_the_document_says_request_strings_hold_no_nul(client) -> None:
    """``RequestBody`` refuses a NUL anywhere; the document did not say so."""
    document = (await client.get("/probe/openapi.json")).json()
    body = body_validator(document, "/probe/items", "post")
    assert body.is_valid({"name": "box", "secret": "s"})
    assert not body.is_valid({"name": "box", "secret": "s\x00"})
    response = await client.post("/probe/items", json={"name": "box", "secret": "s\x00"})
    assert_problem(response, 422)
