"""The daily CSV files of the original API: their name, their day's bounds and their content."""

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from typing import Protocol
from zoneinfo import ZoneInfo

HEADER = ("Date", "Time", "Name", "Action")
# A cell starting with = + - or @ is a formula to a spreadsheet (CSV injection). A spreadsheet
# may guess any of , ; or tab as the delimiter, and a naive one ignores quotes, so a cell can
# start at the name's start or after any of them (past spaces and quotes): a ' goes there.
_FORMULA_CELL = re.compile(r"(^|[,;\t])([\s\"]*[=+\-@])")


class LoggedAction(Protocol):
    """What a file's line shows of a logged action (``repository.ActionRow``)."""

    @property
    def name(self) -> str: ...

    @property
    def action(self) -> str: ...

    @property
    def occurred_at(self) -> dt.datetime | None: ...


def object_key(prefix: str, room: str, day: dt.date) -> str:
    """``<prefix><room>/YYYY-MM-DD-logs.csv``."""
    return f"{prefix}{room}/{day.isoformat()}-logs.csv"


def day_bounds(day: dt.date, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    """The instants where ``day`` starts and the next one starts, in ``time_zone``."""
    zone = ZoneInfo(time_zone)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def local_day(instant: dt.datetime, time_zone: str) -> dt.date:
    return instant.astimezone(ZoneInfo(time_zone)).date()


def _safe_cell(text: str) -> str:
    """``text`` with a ' wherever a spreadsheet's cell would start with a formula."""
    return _FORMULA_CELL.sub(r"\1'\2", text)


def render_day(actions: Iterable[LoggedAction], time_zone: str) -> bytes:
    """``Date,Time,Name,Action`` then one row per action, dates and times in the room's zone.

    RFC 4180: CRLF line ends, fields quoted when they hold a comma or a quote; UTF-8.
    """
    zone = ZoneInfo(time_zone)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for action in actions:
        assert action.occurred_at is not None
        local = action.occurred_at.astimezone(zone)
        writer.writerow(
            (
                local.date().isoformat(),
                local.strftime("%H:%M:%S"),
                _safe_cell(action.name),
                action.action,
            )
        )
    return buffer.getvalue().encode()
