"""The live stream, served by uvicorn: two replicas on one database, LISTEN/NOTIFY between them."""

import asyncio
import json
from typing import Any

import pytest

from common.auth import Principal
from occupancy.events import LISTENER_NAME, room_events
from occupancy.service import OccupancyService

STAFF = Principal(subject="staff-1", roles=frozenset({"staff"}))


@pytest.fixture
def settings_overrides(logs_dir) -> dict[str, Any]:
    return {"logs_dir": logs_dir, "events_heartbeat_seconds": 0.3, "events_queue_size": 2}


async def is_listening(app) -> bool:
    return bool(app.state.events.listening.is_set())


async def listening(*apps) -> None:
    for app in apps:
        await asyncio.wait_for(app.state.events.listening.wait(), 10)


async def test_a_client_of_one_replica_sees_actions_of_another_in_order(
    app, second_replica, api, serve, stream
) -> None:
    await listening(app, second_replica)
    async with (
        serve(second_replica) as other,
        stream(f"{other.url}/occupancy/rooms/default/events", api.staff) as events,
    ):
        await api.register("default", "Ann")  # through the first replica
        await api.register("default", "Ben")
        await api.unregister("default", "Ann")
        received = await events.events(3)
    assert [(event.event, json.loads(event.data)["name"]) for event in received] == [
        ("register", "Ann"),
        ("register", "Ben"),
        ("unregister", "Ann"),
    ]
    ids = [int(event.id) for event in received]
    assert ids == sorted(ids)
    data = json.loads(received[-1].data)
    assert data["id"] == ids[-1]
    assert (data["room"], data["count"], data["status"]) == ("default", 1, "open")


async def test_a_reconnecting_client_resumes_after_last_event_id(app, api, serve, stream) -> None:
    await listening(app)
    async with serve(app) as server:
        url = f"{server.url}/occupancy/rooms/default/events"
        async with stream(url, api.staff) as events:
            await api.register("default", "Ann")
            await api.register("default", "Ben")
            first = await events.events(2)
        await api.register("default", "Cid")  # while disconnected
        await api.unregister("default", "Ann")
        async with stream(url, api.staff, last_event_id=first[-1].id) as events:
            missed = await events.events(2)
            await api.register("default", "Dan")
            live = await events.next()
    assert [json.loads(event.data)["name"] for event in (*first, *missed, live)] == [
        "Ann",
        "Ben",
        "Cid",
        "Ann",
        "Dan",
    ]
    ids = [int(event.id) for event in (*first, *missed, live)]
    assert ids == sorted(set(ids))


async def test_idle_streams_get_a_heartbeat(app, api, serve, stream) -> None:
    async with (
        serve(app) as server,
        stream(f"{server.url}/occupancy/rooms/default/events", api.staff) as events,
    ):
        beat = await events.next(comments=True, within=5)
    assert beat.comment


async def test_a_client_that_reads_nothing_holds_up_no_one(app, api, serve, stream) -> None:
    """Queues hold two events here; the idle client lags and later reads all from the log."""
    await listening(app)
    names = [f"person-{number:02}" for number in range(30)]
    async with serve(app) as server:
        url = f"{server.url}/occupancy/rooms/default/events"
        async with stream(url, api.staff) as idle, stream(url, api.staff) as reader:
            for name in names:
                assert (await api.register("default", name)).status_code == 200
            prompt = await reader.events(len(names))
            late = await idle.events(len(names))
    for received in (prompt, late):
        assert [json.loads(event.data)["name"] for event in received] == names


async def test_a_lagging_subscription_catches_up_from_the_log(app, api) -> None:
    """On the hub directly: more events arrive than the queue holds before the stream reads."""
    await listening(app)
    hub = app.state.events
    async with app.state.db.driver.transaction() as transaction:
        room = await OccupancyService(transaction).room("default", STAFF)
    stream = room_events(hub, app.state.db, room, 0)
    first = asyncio.ensure_future(anext(stream))
    await api.eventually(lambda: _subscribers(hub, "default"), lambda count: count == 1)
    for name in ("Ann", "Ben", "Cid", "Dan", "Eve"):
        await api.register("default", name)
    received = [await asyncio.wait_for(first, 10)]
    lagging = next(iter(hub.subscriptions["default"])).lagging.is_set()
    received += [await asyncio.wait_for(anext(stream), 10) for _ in range(4)]
    await stream.aclose()
    assert lagging
    assert [event.name for event in received] == ["Ann", "Ben", "Cid", "Dan", "Eve"]


async def _subscribers(hub, room: str) -> int:
    return len(hub.subscriptions.get(room, ()))


async def test_anonymous_callers_get_no_stream_of_a_private_room(api) -> None:
    api.problem(await api.client.get("/occupancy/rooms/default/events"), 401)


async def test_streams_survive_the_loss_of_the_listen_connection(app, api, serve, stream) -> None:
    """Actions accepted while the replica was not listening reach its streams once it is."""
    await listening(app)
    async with (
        serve(app) as server,
        stream(f"{server.url}/occupancy/rooms/default/events", api.staff) as events,
    ):
        await api.register("default", "Ann")
        before = await events.next()
        await api.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = :name AND datname = current_database()",
            name=LISTENER_NAME,
        )
        await api.eventually(lambda: is_listening(app), lambda on: not on)
        await api.register("default", "Ben")  # nobody listens in this replica now
        await listening(app)
        await api.register("default", "Cid")
        after = await events.events(2)
    assert [json.loads(event.data)["name"] for event in (before, *after)] == ["Ann", "Ben", "Cid"]
