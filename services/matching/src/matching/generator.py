"""Synthetic people, their enrollments and ex-customer cohorts with realistic errors, and the
true links: what the tests and benchmarks measure matching against.

Names come from a few common real names (Zipf-distributed) plus many invented from syllables, so
that frequent and rare names both occur. Errors: typos, swapped first and last names, nicknames,
compound last names, accents and case, missing fields, day/month swaps and one-digit errors in dates
of birth, SSNs given as their last four, with a wrong digit or with two digits swapped.
"""

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from matching.destinations import DESTINATION_CODES

COMMON_FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Nancy",
    "Daniel",
    "Lisa",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Dorothy",
    "Kevin",
    "Carol",
    "Brian",
    "Amanda",
    "George",
    "Melissa",
    "Timothy",
    "Deborah",
    "José",
    "María",
    "Zoë",
    "Chloé",
    "Renée",
    "André",
]
COMMON_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "O'Brien",
    "McDonald",
    "Núñez",
    "Peña",
    "D'Angelo",
]
NICKNAMES = {
    "William": "Bill",
    "Robert": "Bob",
    "Richard": "Dick",
    "James": "Jim",
    "John": "Jack",
    "Michael": "Mike",
    "Elizabeth": "Liz",
    "Margaret": "Peggy",
    "Patricia": "Pat",
    "Jennifer": "Jen",
    "Joseph": "Joe",
    "Thomas": "Tom",
    "Christopher": "Chris",
    "Daniel": "Dan",
    "Matthew": "Matt",
    "Anthony": "Tony",
    "Steven": "Steve",
    "Kimberly": "Kim",
    "Deborah": "Debbie",
    "Dorothy": "Dot",
    "Kenneth": "Ken",
    "Timothy": "Tim",
    "Andrew": "Andy",
}
SYLLABLES = [
    "ba",
    "be",
    "bo",
    "da",
    "de",
    "di",
    "ka",
    "ke",
    "ko",
    "la",
    "le",
    "li",
    "lo",
    "ma",
    "me",
    "mi",
    "mo",
    "na",
    "ne",
    "ni",
    "no",
    "ra",
    "re",
    "ri",
    "ro",
    "sa",
    "se",
    "si",
    "so",
    "ta",
    "te",
    "ti",
    "to",
    "va",
    "ve",
    "vi",
    "wa",
    "ya",
    "za",
    "zo",
    "bran",
    "dor",
    "fen",
    "gal",
    "har",
    "jor",
    "kel",
    "lin",
    "mar",
    "nor",
    "pel",
    "quin",
    "ros",
    "sten",
    "tor",
    "wen",
]
ERROR_KINDS = (
    "typo_first",
    "typo_last",
    "swap_names",
    "nickname",
    "missing_first",
    "missing_dob",
    "missing_ssn",
    "dob_swap",
    "dob_digit",
    "ssn_last4",
    "ssn_digit",
    "ssn_transpose",
    "compound_last",
    "formatting",
)


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    dob: date
    ssn: str


@dataclass
class SyntheticData:
    enrollments: list[dict[str, Any]]
    cohort: list[dict[str, Any]]
    links: list[set[str]]
    """For each cohort member, the enrollment ids of the same person (empty for none)."""
    errors: list[list[str]] = field(default_factory=list)
    """For each cohort member, the kinds of error put into it."""


class Generator:
    """Deterministic for a seed; ``error_rate`` is the chance that a cohort member has errors."""

    def __init__(self, seed: int = 0, *, error_rate: float = 0.5) -> None:
        self.random = random.Random(seed)  # noqa: S311 (synthetic data, not secrets)
        self.error_rate = error_rate
        self.first_names = self._vocabulary(COMMON_FIRST, 3000)
        self.last_names = self._vocabulary(COMMON_LAST, 20000)
        self.used_ssns: set[str] = set()

    def _vocabulary(self, common: list[str], invented: int) -> tuple[list[str], list[float]]:
        names = list(common)
        while len(names) < len(common) + invented:
            parts = self.random.randint(2, 3)
            names.append("".join(self.random.choice(SYLLABLES) for _ in range(parts)).title())
        cumulative = list(itertools.accumulate(1 / (rank + 10) for rank in range(len(names))))
        return names, cumulative

    def _name(self, vocabulary: tuple[list[str], list[float]]) -> str:
        names, cumulative = vocabulary
        return self.random.choices(names, cum_weights=cumulative)[0]

    def _ssn(self) -> str:
        while True:
            area = self.random.randint(1, 899)
            if area == 666:
                continue
            ssn = f"{area:03d}{self.random.randint(1, 99):02d}{self.random.randint(1, 9999):04d}"
            if ssn not in self.used_ssns and len(set(ssn)) > 1:
                self.used_ssns.add(ssn)
                return ssn

    def person(self) -> Person:
        dob = date(1940, 1, 1) + timedelta(days=self.random.randint(0, 365 * 65))
        return Person(self._name(self.first_names), self._name(self.last_names), dob, self._ssn())

    def people(self, count: int) -> Iterator[Person]:
        for _ in range(count):
            yield self.person()

    def enrollments_of(
        self, person: Person, client_id: str, first_number: int
    ) -> list[dict[str, Any]]:
        """One to three enrollments of one client, as a provider records them."""
        rows = []
        entry = date(2018, 1, 1) + timedelta(days=self.random.randint(0, 2400))
        for number in range(first_number, first_number + self.random.choice((1, 1, 1, 2, 3))):
            stay = self.random.randint(5, 300)
            exited = self.random.random() < 0.8
            exit_date = entry + timedelta(days=stay) if exited else None
            rows.append(
                {
                    "client_id": client_id,
                    "enrollment_id": f"E{number}",
                    "first_name": person.first_name,
                    "last_name": person.last_name,
                    "dob": person.dob.isoformat(),
                    "ssn": person.ssn if self.random.random() < 0.9 else person.ssn[-4:],
                    "entry_date": entry.isoformat(),
                    "exit_date": exit_date.isoformat() if exit_date else None,
                    "income_at_entry": float(self.random.choice((0, 0, 450, 900, 1200))),
                    "income_at_exit": float(self.random.choice((0, 450, 900, 1500))),
                    "exit_destination": self.random.choice(DESTINATION_CODES) if exited else None,
                }
            )
            entry = (exit_date or entry) + timedelta(days=self.random.randint(30, 400))
        return rows

    def question(self, person: Person) -> tuple[dict[str, Any], list[str]]:
        """What a utility knows of ``person``, with errors; and the kinds of error put in."""
        values: dict[str, Any] = {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "dob": person.dob,
            "ssn": person.ssn,
        }
        kinds: list[str] = []
        if self.random.random() < self.error_rate:
            kinds = self.random.sample(ERROR_KINDS, self.random.choice((1, 1, 2)))
            for kind in kinds:
                getattr(self, f"_{kind}")(values)
        if isinstance(values["dob"], date):
            values["dob"] = values["dob"].isoformat()
        return {key: value for key, value in values.items() if value is not None}, kinds

    def dataset(self, *, clients: int, cohort: int, linked_share: float = 0.5) -> SyntheticData:
        """``clients`` people with their enrollments and a cohort of which ``linked_share`` are
        among them."""
        people = list(self.people(clients))
        enrollments: list[dict[str, Any]] = []
        enrollment_ids: list[list[str]] = []
        for number, person in enumerate(people):
            rows = self.enrollments_of(person, f"C{number}", len(enrollments))
            enrollments.extend(rows)
            enrollment_ids.append([row["enrollment_id"] for row in rows])
        data = SyntheticData(enrollments, [], [], [])
        linked = self.random.sample(range(clients), int(cohort * linked_share))
        members = [(people[i], set(enrollment_ids[i])) for i in linked]
        members += [(self.person(), set()) for _ in range(cohort - len(linked))]
        self.random.shuffle(members)
        for person, ids in members:
            question, kinds = self.question(person)
            closed = date(2017, 6, 1) + timedelta(days=self.random.randint(0, 2000))
            data.cohort.append({**question, "account_closed_on": closed.isoformat()})
            data.links.append(ids)
            data.errors.append(kinds)
        return data

    # One method per kind of error; each changes the question in place.

    def _typo(self, name: str) -> str:
        position = self.random.randrange(len(name))
        letter = self.random.choice("abcdefghijklmnopqrstuvwxyz")
        operation = self.random.choice(("replace", "delete", "insert", "transpose"))
        if operation == "replace" or len(name) < 4:
            return name[:position] + letter + name[position + 1 :]
        if operation == "delete":
            return name[:position] + name[position + 1 :]
        if operation == "insert":
            return name[:position] + letter + name[position:]
        position = min(position, len(name) - 2)
        return name[:position] + name[position + 1] + name[position] + name[position + 2 :]

    def _typo_first(self, values: dict[str, Any]) -> None:
        if values.get("first_name"):
            values["first_name"] = self._typo(values["first_name"])

    def _typo_last(self, values: dict[str, Any]) -> None:
        values["last_name"] = self._typo(values["last_name"])

    def _swap_names(self, values: dict[str, Any]) -> None:
        if values.get("first_name"):
            values["first_name"], values["last_name"] = values["last_name"], values["first_name"]

    def _nickname(self, values: dict[str, Any]) -> None:
        first = values.get("first_name")
        values["first_name"] = NICKNAMES.get(first, first) if first else first

    def _missing_first(self, values: dict[str, Any]) -> None:
        values["first_name"] = None

    def _missing_dob(self, values: dict[str, Any]) -> None:
        values["dob"] = None

    def _missing_ssn(self, values: dict[str, Any]) -> None:
        values["ssn"] = None

    def _dob_swap(self, values: dict[str, Any]) -> None:
        dob = values.get("dob")
        if isinstance(dob, date) and dob.day <= 12 and dob.day != dob.month:
            values["dob"] = dob.replace(month=dob.day, day=dob.month)

    def _dob_digit(self, values: dict[str, Any]) -> None:
        dob = values.get("dob")
        if isinstance(dob, date) and (dob.month, dob.day) != (2, 29):
            values["dob"] = dob.replace(year=dob.year + 1 if dob.year % 10 != 9 else dob.year - 1)

    def _ssn_last4(self, values: dict[str, Any]) -> None:
        if values.get("ssn"):
            values["ssn"] = values["ssn"][-4:]

    def _ssn_digit(self, values: dict[str, Any]) -> None:
        ssn = values.get("ssn")
        if ssn and len(ssn) == 9:
            position = self.random.randrange(5, 9)
            digit = str((int(ssn[position]) + self.random.randint(1, 8)) % 10)
            candidate = ssn[:position] + digit + ssn[position + 1 :]
            values["ssn"] = candidate if not candidate.endswith("0000") else ssn

    def _ssn_transpose(self, values: dict[str, Any]) -> None:
        ssn = values.get("ssn")
        if ssn and len(ssn) == 9:
            position = self.random.randrange(5, 8)
            values["ssn"] = ssn[:position] + ssn[position + 1] + ssn[position] + ssn[position + 2 :]

    def _compound_last(self, values: dict[str, Any]) -> None:
        values["last_name"] = f"{values['last_name']}-{self._name(self.last_names)}"

    def _formatting(self, values: dict[str, Any]) -> None:
        values["last_name"] = values["last_name"].upper().replace("'", " ")
        if values.get("first_name"):
            values["first_name"] = f"  {values['first_name'].lower()} "
