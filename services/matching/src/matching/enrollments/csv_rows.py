"""CSV read as it streams in, one record at a time, never the whole file in memory: HMIS-style
enrollments here, and the cohorts of matches and reports (same reader, other columns)."""

import codecs
import csv
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass

# HMIS CSV column (Client.csv, Enrollment.csv, Exit.csv names) -> field of EnrollmentIn.
HMIS_COLUMNS = {
    "PersonalID": "client_id",
    "EnrollmentID": "enrollment_id",
    "FirstName": "first_name",
    "LastName": "last_name",
    "DOB": "dob",
    "SSN": "ssn",
    "NameDataQuality": "name_data_quality",
    "SSNDataQuality": "ssn_data_quality",
    "DOBDataQuality": "dob_data_quality",
    "EntryDate": "entry_date",
    "ExitDate": "exit_date",
    "IncomeAtEntry": "income_at_entry",
    "IncomeAtExit": "income_at_exit",
    "Destination": "exit_destination",
}
REQUIRED_COLUMNS = ("PersonalID", "EnrollmentID", "EntryDate")
MAX_RECORD_CHARS = 64 * 1024


@dataclass(frozen=True)
class MalformedRecord:
    """A record the CSV reader could split but not line up with the header."""

    reason: str


class CsvProblem(ValueError):
    """The file cannot be read as enrollments at all (encoding, header, an endless record)."""


@dataclass(frozen=True)
class CsvColumns:
    """What a kind of CSV file holds: column name -> field name, the columns it needs, and what
    its records are called in messages."""

    fields: Mapping[str, str]
    required: Sequence[str]
    records: str


ENROLLMENT_COLUMNS = CsvColumns(HMIS_COLUMNS, REQUIRED_COLUMNS, "HMIS enrollment")


def _header(fields: list[str], expected: CsvColumns) -> list[str]:
    fields = [field.strip().lstrip("\ufeff") for field in fields]
    unknown = [field for field in fields if field not in expected.fields]
    missing = [column for column in expected.required if column not in fields]
    repeated = sorted({field for field in fields if fields.count(field) > 1})
    if unknown or missing or repeated:
        problems = []
        if unknown:
            problems.append(f"unknown columns {unknown}")
        if missing:
            problems.append(f"missing columns {missing}")
        if repeated:
            problems.append(f"repeated columns {repeated}")
        raise CsvProblem(
            f"The header is not {expected.records} columns: "
            + "; ".join(problems)
            + f". Known columns: {', '.join(expected.fields)}"
        )
    return [expected.fields[field] for field in fields]


async def _records(chunks: AsyncIterable[bytes]) -> AsyncIterator[tuple[int, str]]:
    """(line number of the record's first line, text of the record), a quoted field's line
    breaks kept inside its record."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    record: list[str] = []
    line_number = start = 0
    try:
        async for chunk in chunks:
            pending += decoder.decode(chunk)
            *lines, pending = pending.split("\n")
            for line in lines:
                line_number += 1
                if not record:
                    start = line_number
                record.append(line)
                text = "\n".join(record)
                if len(text) > MAX_RECORD_CHARS:
                    raise CsvProblem(f"The record starting on line {start} never ends")
                if text.count('"') % 2 == 0:
                    yield start, text
                    record = []
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise CsvProblem(f"The file is not UTF-8 (near line {line_number + 1})") from exc
    if pending or record:
        record.append(pending)
        yield (start if len(record) > 1 else line_number + 1), "\n".join(record)


async def csv_rows(
    chunks: AsyncIterable[bytes], expected: CsvColumns = ENROLLMENT_COLUMNS
) -> AsyncIterator[tuple[int, dict[str, str] | MalformedRecord]]:
    """(line number, {field: value}) for each data record; empty values are left out."""
    columns: list[str] | None = None
    async for line_number, text in _records(chunks):
        if not text.strip():
            continue
        values = next(csv.reader([text]))
        if columns is None:
            columns = _header(values, expected)
            continue
        if len(values) != len(columns):
            reason = f"{len(values)} fields where the header has {len(columns)}"
            yield line_number, MalformedRecord(reason)
            continue
        yield (
            line_number,
            {
                name: value.strip()
                for name, value in zip(columns, values, strict=True)
                if value.strip()
            },
        )
    if columns is None:
        raise CsvProblem(f"The file is empty: it needs a header line and {expected.records} rows")
