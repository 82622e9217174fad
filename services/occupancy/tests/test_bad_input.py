"""Bad input and callers without the right: a 4xx problem+json, and nothing changes."""

import pytest

from common.testing.contract import body_validator

ROOM_ROUTES = [
    ("GET", "/occupancy/rooms/default/status"),
    ("GET", "/occupancy/rooms/default"),
    ("GET", "/occupancy/people/status"),
]


async def nothing_changed(api) -> None:
    assert await api.count("actions") == 0
    assert await api.count("occupants") == 0
    assert await api.count("log_days") == 0
    assert await api.count("rooms") == 1  # the default room


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": "line\nbreak"},
        {"name": "tab\tbed"},
        {"name": "nul\u0000"},
        {"name": 42},
        {"name": ["Ann"]},
        {"name": "Ann", "role": "vip"},
        [],
    ],
)
async def test_bad_names_are_refused(api, body) -> None:
    """By the server and by its OpenAPI document (a blank name was allowed by the document)."""
    document = await api.document()
    for action in ("register", "unregister"):
        path = f"/occupancy/rooms/{{room}}/{action}"
        response = await api.client.post(
            f"/occupancy/rooms/default/{action}", json=body, headers=api.staff
        )
        problem = api.problem(response, 422)
        assert problem["errors"]
        assert not body_validator(document, path, "post").is_valid(body)
    await nothing_changed(api)


@pytest.mark.parametrize("body", [{"name": "x" * 101}, {"name": 42}, {"name": "a", "extra": 1}])
async def test_the_original_routes_refuse_other_bad_bodies_with_422(api, body) -> None:
    response = await api.client.post("/occupancy/people/register", json=body, headers=api.staff)
    api.problem(response, 422)
    await nothing_changed(api)


async def test_malformed_json_is_refused(api) -> None:
    response = await api.client.post(
        "/occupancy/rooms/default/register",
        content=b'{"name": "Ann"',
        headers={**api.staff, "content-type": "application/json"},
    )
    api.problem(response, 422)
    await nothing_changed(api)


async def test_an_oversized_body_is_refused(api) -> None:
    response = await api.client.post(
        "/occupancy/rooms/default/register",
        json={"name": "x" * 2_000_000},
        headers=api.staff,
    )
    api.problem(response, 413)
    await nothing_changed(api)


async def test_a_100_character_name_is_the_longest_accepted(api) -> None:
    assert (await api.register("default", "x" * 100)).status_code == 200


@pytest.mark.parametrize("room", ["nope", "UPPER", "a" * 64, "-dash", "sp%20ace"])
async def test_unknown_or_malformed_rooms_are_refused(api, room) -> None:
    response = await api.register(room, "Ann")
    assert response.status_code in (404, 422)
    api.problem(response, response.status_code)
    await nothing_changed(api)


@pytest.mark.parametrize(
    "date",
    [
        "",
        "2026-02-30",
        "2026-13-01",
        "26-01-01",
        "2026-1-1",
        "1700000000",
        "x",
        "9999-12-31",  # a 500 before the platform's bounds: the day after overflows
        "0001-01-01",
        "2026-01-01T00:00:00Z",
    ],
)
async def test_malformed_dates_are_refused(api, date) -> None:
    response = await api.client.get(
        "/occupancy/rooms/default/logs", params={"date": date}, headers=api.staff
    )
    api.problem(response, 422)


@pytest.mark.parametrize("time_zone", ["Pacific/Kiritimati", "Etc/GMT+12"])
async def test_the_first_and_last_days_the_bounds_allow_are_served(api, time_zone) -> None:
    await api.create_room("edge", time_zone=time_zone)
    for date in ("0002-01-01", "9998-12-31"):
        response = await api.client.get(
            "/occupancy/rooms/edge/logs", params={"date": date}, headers=api.staff
        )
        assert response.status_code == 200, response.text
        assert response.content == b"Date,Time,Name,Action\r\n"


async def test_the_day_log_needs_a_date(api) -> None:
    api.problem(await api.client.get("/occupancy/rooms/default/logs", headers=api.staff), 422)


@pytest.mark.parametrize(
    "body",
    [
        {"slug": "Bad Slug", "title": "x"},
        {"slug": "ok", "title": ""},
        {"slug": "ok", "title": "x", "capacity": 0},
        {"slug": "ok", "title": "x", "time_zone": "Mars/Olympus"},
        {"slug": "ok", "title": "x", "colour": "red"},
        {"slug": "ok"},
    ],
)
async def test_bad_rooms_are_refused(api, body) -> None:
    response = await api.client.post("/occupancy/rooms", json=body, headers=api.admin)
    api.problem(response, 422)
    if body.get("time_zone") != "Mars/Olympus":  # the shape of a zone name, not a list of them
        assert not body_validator(await api.document(), "/occupancy/rooms", "post").is_valid(body)
    await nothing_changed(api)


@pytest.mark.parametrize(
    "body",
    [
        {"title": None},
        {"public": None},
        {"capacity": 0},
        {"slug": "renamed"},
        {"title": ""},
        {"title": " \u3000 "},
    ],
)
async def test_bad_room_changes_are_refused(api, body) -> None:
    """By the server and by its document, which declared title and public nullable."""
    response = await api.client.patch("/occupancy/rooms/default", json=body, headers=api.admin)
    api.problem(response, 422)
    document = await api.document()
    assert not body_validator(document, "/occupancy/rooms/{room}", "patch").is_valid(body)
    assert await api.count("rooms", "slug = 'default' AND title = 'Default room'") == 1
    assert await api.count("rooms", "public") == 0


async def test_what_the_document_allows_in_a_room_change_is_accepted(api) -> None:
    document = await api.document()
    for body in ({"capacity": None}, {"title": "  Kitchen "}, {"public": False}, {}):
        assert body_validator(document, "/occupancy/rooms/{room}", "patch").is_valid(body)
        response = await api.client.patch("/occupancy/rooms/default", json=body, headers=api.admin)
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("last_event_id", ["abc", "-1", "1.5", "9" * 30])
async def test_a_malformed_last_event_id_is_refused(api, last_event_id) -> None:
    response = await api.client.get(
        "/occupancy/rooms/default/events",
        headers={**api.staff, "Last-Event-ID": last_event_id},
    )
    api.problem(response, 422)


async def test_writes_need_staff_or_admin(api, customer) -> None:
    anonymous = await api.client.post("/occupancy/rooms/default/register", json={"name": "Ann"})
    api.problem(anonymous, 401)
    for path in ("/occupancy/rooms/default/register", "/occupancy/people/register"):
        api.problem(await api.client.post(path, json={"name": "Ann"}, headers=customer), 403)
    api.problem(
        await api.client.get(
            "/occupancy/rooms/default/logs", params={"date": "2026-01-01"}, headers=customer
        ),
        403,
    )
    await nothing_changed(api)
    admin = await api.client.post(
        "/occupancy/rooms/default/register", json={"name": "Ann"}, headers=api.admin
    )
    assert admin.status_code == 200


async def test_rooms_are_managed_by_admins_only(api, staff) -> None:
    body = {"slug": "new", "title": "New"}
    api.problem(await api.client.post("/occupancy/rooms", json=body, headers=staff), 403)
    api.problem(await api.client.post("/occupancy/rooms", json=body), 401)
    api.problem(
        await api.client.patch("/occupancy/rooms/default", json={"public": True}, headers=staff),
        403,
    )
    api.problem(await api.client.delete("/occupancy/rooms/default", headers=staff), 403)
    await nothing_changed(api)


@pytest.mark.parametrize(("method", "path"), ROOM_ROUTES)
async def test_anonymous_callers_see_only_public_rooms(api, method, path) -> None:
    api.problem(await api.client.request(method, path), 401)
    missing = await api.client.get("/occupancy/rooms/missing/status")
    assert (
        api.problem(missing, 401)["detail"]
        == api.problem(await api.client.request(method, path), 401)["detail"]
    )  # a private room and a missing one look the same
    await api.client.patch("/occupancy/rooms/default", json={"public": True}, headers=api.admin)
    assert (await api.client.request(method, path)).status_code == 200


async def test_signed_in_callers_get_404_for_missing_rooms(api, customer) -> None:
    api.problem(await api.client.get("/occupancy/rooms/missing/status", headers=customer), 404)
    assert (
        await api.client.get("/occupancy/rooms/default/status", headers=customer)
    ).status_code == 200


async def test_a_forged_token_is_refused_even_on_a_public_room(api, token_factory) -> None:
    await api.client.patch("/occupancy/rooms/default", json={"public": True}, headers=api.admin)
    forged = token_factory.token("x", ["admin"]) + "x"
    response = await api.client.get(
        "/occupancy/rooms/default/status", headers={"Authorization": f"Bearer {forged}"}
    )
    api.problem(response, 401)


@pytest.mark.parametrize(
    "params", [{"limit": "0"}, {"limit": "201"}, {"offset": "-1"}, {"limit": "x"}, {"sort": "slug"}]
)
async def test_bad_room_pages_are_refused(api, params) -> None:
    api.problem(await api.client.get("/occupancy/rooms", params=params, headers=api.staff), 422)
