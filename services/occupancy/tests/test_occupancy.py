"""Rooms, who is inside, the original API and the day's CSV, on a real PostgreSQL."""

import csv
import datetime as dt

import pytest

from occupancy.models import DEFAULT_ROOM


async def test_the_original_sequence_on_the_default_room(api) -> None:
    """The original's register / register / unregister / status, with its response shapes."""
    people = "/occupancy/people"
    first = await api.client.post(f"{people}/register", json={"name": "Bob"}, headers=api.staff)
    assert first.status_code == 200
    assert first.json() == {"status": "registered", "occupants": ["Bob"]}
    second = await api.client.post(
        f"{people}/register", json={"name": " Alice "}, headers=api.staff
    )
    assert second.json() == {"status": "registered", "occupants": ["Alice", "Bob"]}
    status = await api.client.get(f"{people}/status", headers=api.staff)
    assert status.json() == {"status": "open", "occupants": ["Alice", "Bob"], "count": 2}

    gone = await api.client.post(f"{people}/unregister", json={"name": "Bob"}, headers=api.staff)
    assert gone.json() == {"status": "unregistered", "occupants": ["Alice"]}
    await api.client.post(f"{people}/unregister", json={"name": "Alice"}, headers=api.staff)
    status = await api.client.get(f"{people}/status", headers=api.staff)
    assert status.json() == {"status": "closed", "occupants": [], "count": 0}
    assert await api.count("actions") == 4


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "   "}, {"name": None}, None])
async def test_the_original_routes_answer_a_missing_name_with_their_400(api, body) -> None:
    for action in ("register", "unregister"):
        response = await api.client.post(
            f"/occupancy/people/{action}", json=body, headers=api.staff
        )
        problem = api.problem(response, 400)
        assert problem["error"] == "name is required"
    assert await api.count("actions") == 0


async def test_a_room_reports_status_capacity_and_last_update(api) -> None:
    await api.create_room("lab", capacity=3, time_zone="Europe/Vienna")
    before = await api.status("lab")
    assert before == {
        "status": "closed",
        "occupants": [],
        "count": 0,
        "capacity": 3,
        "last_update": None,
    }
    for name in ("Zoe", "anna", "Bert"):
        assert (await api.register("lab", name)).status_code == 200
    after = await api.status("lab")
    assert after["occupants"] == ["Bert", "Zoe", "anna"]
    assert (after["status"], after["count"]) == ("open", 3)
    assert dt.datetime.fromisoformat(after["last_update"]) <= dt.datetime.now(dt.UTC)


async def test_refused_changes_answer_409_and_log_nothing(api) -> None:
    await api.create_room("tiny", capacity=1)
    assert (await api.register("tiny", "Ann")).status_code == 200
    api.problem(await api.register("tiny", "Ann"), 409)  # already inside
    api.problem(await api.register("tiny", "Ben"), 409)  # full
    api.problem(await api.unregister("tiny", "Cid"), 409)  # not inside
    assert await api.count("actions") == 1
    assert (await api.status("tiny"))["occupants"] == ["Ann"]
    assert await api.count("rooms", "slug = 'tiny' AND occupant_count = 1") == 1


async def test_every_accepted_action_is_logged_with_its_actor_and_count(api) -> None:
    await api.register(DEFAULT_ROOM, "Ann")
    await api.register(DEFAULT_ROOM, "Ben")
    await api.unregister(DEFAULT_ROOM, "Ann")
    rows = await api.execute(
        "SELECT name, action, count_after, actor FROM occupancy.actions ORDER BY action_id"
    )
    assert [tuple(row) for row in rows] == [
        ("Ann", "register", 1, "staff-1"),
        ("Ben", "register", 2, "staff-1"),
        ("Ann", "unregister", 1, "staff-1"),
    ]


async def test_the_day_csv_comes_from_the_log_in_the_room_time_zone(api) -> None:
    await api.create_room("kitchen", time_zone="Pacific/Kiritimati")  # UTC+14: another date
    await api.register("kitchen", "Ann, the cook")
    await api.register("kitchen", '=HYPERLINK("x")')
    await api.unregister("kitchen", "Ann, the cook")
    await api.execute(
        "UPDATE occupancy.actions SET occurred_at = timestamptz '2026-03-01 09:30:05+00' "
        "+ (action_id - (SELECT min(action_id) FROM occupancy.actions)) * interval '1 minute'"
    )
    response = await api.client.get(
        "/occupancy/rooms/kitchen/logs", params={"date": "2026-03-01"}, headers=api.staff
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="2026-03-01-logs.csv"' in response.headers["content-disposition"]
    assert response.content == (
        b"Date,Time,Name,Action\r\n"
        b'2026-03-01,23:30:05,"Ann, the cook",register\r\n'
        b'2026-03-01,23:31:05,"\'=HYPERLINK(""x"")",register\r\n'
        b'2026-03-01,23:32:05,"Ann, the cook",unregister\r\n'
    )
    other_day = await api.client.get(
        "/occupancy/rooms/kitchen/logs", params={"date": "2026-03-02"}, headers=api.staff
    )
    assert other_day.content == b"Date,Time,Name,Action\r\n"


async def test_admins_create_list_change_and_delete_rooms(api, customer) -> None:
    created = await api.create_room("hall", capacity=10, public=True)
    assert (created["slug"], created["capacity"], created["time_zone"]) == ("hall", 10, "UTC")
    api.problem(
        await api.client.post(
            "/occupancy/rooms", json={"slug": "hall", "title": "Again"}, headers=api.admin
        ),
        409,
    )
    listed = await api.client.get("/occupancy/rooms", headers=customer)
    assert [room["slug"] for room in listed.json()["items"]] == [DEFAULT_ROOM, "hall"]
    assert listed.json()["total"] == 2
    api.problem(await api.client.get("/occupancy/rooms"), 401)  # the public room is readable
    assert (await api.client.get("/occupancy/rooms/hall/status")).status_code == 200

    changed = await api.client.patch(
        "/occupancy/rooms/hall", json={"capacity": None, "title": "Great hall"}, headers=api.admin
    )
    assert (changed.json()["capacity"], changed.json()["title"]) == (None, "Great hall")
    assert (await api.client.delete("/occupancy/rooms/hall", headers=api.admin)).status_code == 204
    assert await api.count("rooms", "slug = 'hall'") == 0


async def test_a_capacity_below_the_people_inside_is_refused(api) -> None:
    await api.create_room("den", capacity=5)
    for name in ("A", "B", "C"):
        await api.register("den", name)
    response = await api.client.patch(
        "/occupancy/rooms/den", json={"capacity": 2}, headers=api.admin
    )
    api.problem(response, 409)
    assert await api.count("rooms", "slug = 'den' AND capacity = 5") == 1


async def test_rooms_with_history_and_the_default_room_are_kept(api) -> None:
    await api.create_room("used")
    await api.register("used", "Ann")
    await api.unregister("used", "Ann")
    api.problem(await api.client.delete("/occupancy/rooms/used", headers=api.admin), 409)
    api.problem(await api.client.delete(f"/occupancy/rooms/{DEFAULT_ROOM}", headers=api.admin), 409)
    assert await api.count("rooms") == 2
    assert await api.count("actions") == 2


FORMULA_NAMES = ["a;=5+5", "b,=1+1", 'c; "=2"', "d;@SUM(A1)", "e, -3", "=x;+y", "f;;=g"]


def cells_a_spreadsheet_may_see(line: str) -> list[str]:
    """The cells of one CSV line split on each delimiter a spreadsheet may guess, by a
    CSV parser and by a naive split that ignores quotes."""
    cells: list[str] = []
    for delimiter in (",", ";", "\t"):
        cells += next(csv.reader([line], delimiter=delimiter))
        cells += line.split(delimiter)
    return cells


async def test_no_cell_of_the_day_csv_is_a_formula_whatever_the_delimiter(api) -> None:
    """``a;=5+5`` was written as it is: a spreadsheet splitting on ``;`` saw a cell ``=5+5``."""
    for name in FORMULA_NAMES:
        assert (await api.register("default", name)).status_code == 200
    today = dt.datetime.now(dt.UTC).date().isoformat()
    response = await api.client.get(
        "/occupancy/rooms/default/logs", params={"date": today}, headers=api.staff
    )
    assert response.status_code == 200
    lines = response.text.splitlines()[1:]
    assert len(lines) == len(FORMULA_NAMES)
    for line in lines:
        for cell in cells_a_spreadsheet_may_see(line):
            assert not cell.lstrip(' "').startswith(("=", "+", "-", "@")), (line, cell)
    names = [next(csv.reader([line]))[2] for line in lines]
    assert [name.replace("'", "") for name in names] == [n.replace("'", "") for n in FORMULA_NAMES]
