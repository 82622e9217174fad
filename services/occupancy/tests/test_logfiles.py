"""The daily files' names, day bounds and content (no database needed)."""

import datetime as dt

from occupancy.logfiles import day_bounds, local_day, object_key, render_day
from occupancy.models import Action

UTC = dt.UTC


def action(name: str, kind: str, at: dt.datetime) -> Action:
    return Action(room_id=1, name=name, action=kind, count_after=1, actor="t", occurred_at=at)


def test_the_key_is_the_original_file_name_under_the_room() -> None:
    assert object_key("", "lab", dt.date(2026, 3, 1)) == "lab/2026-03-01-logs.csv"
    assert object_key("logs/", "lab", dt.date(2026, 3, 1)) == "logs/lab/2026-03-01-logs.csv"


def test_a_day_with_a_clock_change_is_23_hours_long() -> None:
    start, end = day_bounds(dt.date(2026, 3, 29), "Europe/Vienna")
    assert start == dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert end.astimezone(UTC) - start.astimezone(UTC) == dt.timedelta(hours=23)


def test_an_instant_belongs_to_the_day_of_the_room_time_zone() -> None:
    late_utc = dt.datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert local_day(late_utc, "UTC") == dt.date(2026, 3, 1)
    assert local_day(late_utc, "Europe/Vienna") == dt.date(2026, 3, 2)
    assert local_day(late_utc, "America/New_York") == dt.date(2026, 3, 1)


def test_rows_keep_the_original_columns_and_quote_what_needs_it() -> None:
    at = dt.datetime(2026, 7, 1, 6, 5, 9, tzinfo=UTC)
    body = render_day(
        [
            action("Zoë", "register", at),
            action('say "hi", then go', "register", at),
            action("+1 guest", "register", at),
            action("@home", "unregister", at),
        ],
        "Europe/Vienna",
    )
    assert body.decode() == (
        "Date,Time,Name,Action\r\n"
        "2026-07-01,08:05:09,Zoë,register\r\n"
        '2026-07-01,08:05:09,"say ""hi"", then go",register\r\n'
        "2026-07-01,08:05:09,'+1 guest,register\r\n"
        "2026-07-01,08:05:09,'@home,unregister\r\n"
    )


def test_an_empty_day_is_the_header_alone() -> None:
    assert render_day([], "UTC") == b"Date,Time,Name,Action\r\n"
