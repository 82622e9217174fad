"""The daily files: projections of the log, written by the background exporter.

S3 is moto's server speaking the real S3 HTTP API on a loopback port, stopped and started again
for the outage; without S3 the files go to a folder.
"""

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from occupancy.exporter import LogExporter
from occupancy.repository import EXPORTER_LOCK


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


async def day_log(api, room: str, date: str) -> bytes:
    response = await api.client.get(
        f"/occupancy/rooms/{room}/logs", params={"date": date}, headers=api.staff
    )
    assert response.status_code == 200
    content: bytes = response.content
    return content


async def test_without_s3_the_files_go_to_the_folder(api, logs_dir) -> None:
    await api.register("default", "Ann")
    await api.unregister("default", "Ann")
    expected = await day_log(api, "default", today())
    path = logs_dir / "default" / f"{today()}-logs.csv"

    async def content() -> bytes | None:
        return path.read_bytes() if path.exists() else None

    assert await api.eventually(content, lambda body: body == expected) == expected
    assert expected.count(b"\r\n") == 3
    pending = await api.count("log_days", "exported_through < last_action")
    assert pending == 0


class TestS3:
    @pytest.fixture
    def settings_overrides(self, s3_settings: dict[str, Any]) -> dict[str, Any]:
        return s3_settings

    async def test_each_changed_day_is_written_whole_to_the_bucket(self, api, moto_s3) -> None:
        await api.create_room("lab", time_zone="Europe/Vienna")
        await api.register("lab", "Ann")
        await api.register("default", "Ben")
        for room in ("lab", "default"):
            zone = "Europe/Vienna" if room == "lab" else "UTC"
            date = dt.datetime.now(dt.UTC).astimezone(_zone(zone)).date().isoformat()
            expected = await day_log(api, room, date)
            key = f"{room}/{date}-logs.csv"
            await api.eventually(lambda key=key: moto_s3.object(key), lambda b, e=expected: b == e)

    async def test_actions_succeed_while_s3_is_down_and_the_file_catches_up(
        self, api, moto_s3
    ) -> None:
        key = f"default/{today()}-logs.csv"
        await api.register("default", "Ann")
        first = await day_log(api, "default", today())
        await api.eventually(lambda: moto_s3.object(key), lambda body: body == first)

        moto_s3.stop()
        for name in ("Ben", "Cid"):
            assert (await api.register("default", name)).status_code == 200
        assert (await api.unregister("default", "Ann")).status_code == 200
        assert await api.count("log_days", "exported_through < last_action") == 1

        moto_s3.start_again()
        complete = await day_log(api, "default", today())
        assert complete.count(b"\r\n") == 5  # header and four actions
        await api.eventually(lambda: moto_s3.object(key), lambda body: body == complete)
        await api.eventually(
            lambda: api.count("log_days", "exported_through < last_action"), lambda n: n == 0
        )

    async def test_only_one_replica_exports_at_a_time(self, app, api, moto_s3) -> None:
        """While another holder has the exporter's lock, nothing is exported."""
        key = f"default/{today()}-logs.csv"
        async with api.engine.connect() as other_replica, other_replica.begin():
            await other_replica.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": EXPORTER_LOCK}
            )
            await api.register("default", "Ann")
            assert await app.state.exporter.export_once() is None
            assert await moto_s3.object(key) is None
            assert await api.count("log_days", "exported_through < last_action") == 1
        expected = await day_log(api, "default", today())
        await api.eventually(lambda: moto_s3.object(key), lambda body: body == expected)


def _zone(name: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


class GatedTarget:
    """Holds every write of room ``b`` until the gate opens, as a hanging S3 would."""

    description = "gated target"

    def __init__(self) -> None:
        self.written: dict[str, bytes] = {}
        self.gate = asyncio.Event()
        self.held = asyncio.Event()

    async def put(self, key: str, body: bytes) -> None:
        if key.startswith("b/"):
            self.held.set()
            await self.gate.wait()
        self.written[key] = body


class TestAHangingTarget:
    @pytest.fixture
    def settings_overrides(self, logs_dir) -> dict[str, Any]:
        return {"logs_dir": logs_dir, "export_interval_seconds": 3600}  # this test exports

    async def test_holds_up_no_request(self, app, api) -> None:
        await api.create_room("a")
        await api.create_room("b")
        await api.register("a", "Ann")
        await api.register("b", "Ben")
        target = GatedTarget()
        export = asyncio.create_task(LogExporter(app.state.db, target).export_once())
        await asyncio.wait_for(target.held.wait(), 10)
        assert list(target.written) == [f"a/{today()}-logs.csv"]
        # room a's day was just exported; its next change must not wait for room b's file
        changed = await asyncio.wait_for(api.register("a", "Cid"), 10)
        assert changed.status_code == 200
        assert not export.done()
        target.gate.set()
        assert await asyncio.wait_for(export, 10) == 2
        assert await api.count("log_days", "exported_through < last_action") == 1  # a, again
