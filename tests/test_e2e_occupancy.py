"""occupancy's journey through the real nginx, with tokens from the real customers service.

An admin made by the customers CLI creates a room and grants a signed-up account the staff role;
staff register and unregister someone; the status follows, an event-stream client connected
through the gateway sees both actions, and the day's CSV file lands in the stack's S3 bucket.
"""

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator

import boto3
import httpx
import pytest

from gateway.stack import Stack
from tests.conftest import create_admin

pytestmark = pytest.mark.e2e

PASSWORD = "violet-harbor-quilt-1987"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(http: httpx.Client, email: str) -> str:
    response = http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture(scope="module")
def http(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.url, timeout=10)


@pytest.fixture(scope="module")
def admin(stack: Stack, http: httpx.Client) -> dict[str, str]:
    """An admin created with ``customers create-admin`` against the stack's database."""
    email = f"occupancy-admin-{uuid.uuid4().hex[:8]}@example.com"
    create_admin(stack, email, PASSWORD)
    return bearer(login(http, email))


@pytest.fixture(scope="module")
def staff(http: httpx.Client, admin: dict[str, str]) -> dict[str, str]:
    """A signed-up customer whom the admin made staff; the next login's token carries it."""
    email = f"occupancy-staff-{uuid.uuid4().hex[:8]}@example.com"
    signup = http.post("/auth/signup", json={"email": email, "password": PASSWORD})
    assert signup.status_code == 201, signup.text
    granted = http.put(f"/customers/{email}/roles", json={"roles": ["staff"]}, headers=admin)
    assert granted.status_code == 200, granted.text
    return bearer(login(http, email))


async def sse_events(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    """The events of an open stream as dicts of their fields (comments skipped)."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue
        if line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        elif fields:
            yield fields
            fields = {}


def bucket_object(stack: Stack, key: str) -> bytes | None:
    s3 = boto3.client(
        "s3",
        endpoint_url=stack.env["OCCUPANCY_S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id=stack.env["OCCUPANCY_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=stack.env["OCCUPANCY_S3_SECRET_ACCESS_KEY"],
    )
    try:
        body: bytes = s3.get_object(Bucket=stack.env["OCCUPANCY_S3_BUCKET"], Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return body


def test_rooms_are_listed_at_the_bare_collection_path(
    http: httpx.Client, admin: dict[str, str]
) -> None:
    created = http.post(
        "/occupancy/rooms",
        json={"slug": "e2e-hall", "title": "Hall", "public": True},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    listed = http.get("/occupancy/rooms", params={"limit": 200}, headers=admin)
    assert listed.status_code == 200
    assert "e2e-hall" in [room["slug"] for room in listed.json()["items"]]
    public = http.get("/occupancy/rooms/e2e-hall/status")  # anonymous: a public room
    assert public.json()["status"] == "closed"


def test_the_original_api_answers_through_the_gateway(
    http: httpx.Client, staff: dict[str, str]
) -> None:
    missing = http.post("/occupancy/people/register", json={}, headers=staff)
    assert missing.status_code == 400
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["error"] == "name is required"
    name = f"visitor-{uuid.uuid4().hex[:6]}"
    registered = http.post("/occupancy/people/register", json={"name": name}, headers=staff)
    assert registered.status_code == 200
    assert registered.json()["status"] == "registered"
    assert name in http.get("/occupancy/people/status", headers=staff).json()["occupants"]
    gone = http.post("/occupancy/people/unregister", json={"name": name}, headers=staff)
    assert gone.json()["status"] == "unregistered"


async def test_staff_register_and_unregister_while_a_stream_watches(
    stack: Stack, admin: dict[str, str], staff: dict[str, str]
) -> None:
    room = f"e2e-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=stack.url, timeout=httpx.Timeout(10, read=30)) as client:
        created = await client.post(
            "/occupancy/rooms", json={"slug": room, "title": "Lab", "capacity": 5}, headers=admin
        )
        assert created.status_code == 201, created.text
        received = await watch_register_and_unregister(client, room, staff)
        day = dt.datetime.now(dt.UTC).date().isoformat()
        expected = await client.get(
            f"/occupancy/rooms/{room}/logs", params={"date": day}, headers=staff
        )
    assert [event["event"] for event in received] == ["register", "unregister"]
    assert int(received[0]["id"]) < int(received[1]["id"])
    assert [json.loads(event["data"])["count"] for event in received] == [1, 0]

    assert expected.status_code == 200
    assert expected.content.count(b"\r\n") == 3
    key = f"{room}/{day}-logs.csv"
    deadline = time.monotonic() + 20
    while await asyncio.to_thread(bucket_object, stack, key) != expected.content:
        assert time.monotonic() < deadline, f"{key} never matched the database's CSV"
        await asyncio.sleep(0.2)


async def watch_register_and_unregister(
    client: httpx.AsyncClient, room: str, staff: dict[str, str]
) -> list[dict[str, str]]:
    """Register, then unregister Ann while a stream is open (checking the status after each);
    the events the stream saw."""
    async with client.stream("GET", f"/occupancy/rooms/{room}/events", headers=staff) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = sse_events(stream)
        received: list[dict[str, str]] = []
        for action in ("register", "unregister"):
            response = await client.post(
                f"/occupancy/rooms/{room}/{action}", json={"name": "Ann"}, headers=staff
            )
            assert response.status_code == 200, response.text
            # unbuffered: each event arrives while the stream stays open
            received.append(await asyncio.wait_for(anext(events), 10))
            status = (await client.get(f"/occupancy/rooms/{room}/status", headers=staff)).json()
            assert status["occupants"] == (["Ann"] if action == "register" else [])
    return received


def test_anonymous_callers_cannot_write_or_read_private_rooms(http: httpx.Client) -> None:
    response = http.post("/occupancy/rooms/default/register", json={"name": "Ann"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert http.get("/occupancy/people/status").status_code == 401
