"""A done job's results as one CSV: a line per match, and a line for a person without any."""

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from matching.jobs.models import JobResult

COLUMNS = (
    "index",
    "match",
    "organization",
    "client_id",
    "enrollment_id",
    "first_name",
    "last_name",
    "enroll_date",
    "exit_date",
    "income_at_entry",
    "income_at_exit",
    "exit_destination",
    "match_weight",
    "probability",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """Text a spreadsheet shows as it is: a cell it would take for a formula gets a ``'``."""
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _lines(index: int, result: dict[str, Any]) -> list[list[str]]:
    found = [("complete", match) for match in result["complete_matches"]] + [
        ("partial", match) for match in result["partial_matches"]
    ]
    if not found:
        return [[str(index), "none"] + [""] * (len(COLUMNS) - 2)]
    lines = []
    for kind, match in found:
        destination = match["exit_destination"]
        values = {
            **match,
            "exit_destination": destination["code"] if destination else None,
        }
        lines.append([str(index), kind] + [_cell(values[name]) for name in COLUMNS[2:]])
    return lines


async def results_csv(results: AsyncIterator[JobResult]) -> AsyncIterator[str]:
    """The header, then the lines of each person's result in cohort order, a person at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    async for row in results:
        writer.writerows(_lines(row.number, row.result))
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
