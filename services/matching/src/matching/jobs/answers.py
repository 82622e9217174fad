"""What a job keeps of each person it matches: their answer as it will be given (a matches job),
or what the outcome report needs of them (a report job, whose report is made at the end)."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from common.auth import Principal
from matching.audit.service import Tally
from matching.matches.reports import CohortOutcome, MatchedStay
from matching.matches.responses import cohort_members, cohort_report, person_results
from matching.matches.schemas import CohortMember, PersonError
from matching.matches.service import MatchingRules, MatchingService
from matching.offload import INLINE_PEOPLE, off_the_loop


def _member_json(member: CohortOutcome | PersonError) -> dict[str, Any]:
    """What a report job keeps of one member until the report is made."""
    if isinstance(member, PersonError):
        return {"error": member.model_dump(mode="json")}
    return {
        "closed_on": member.closed_on.isoformat(),
        "stays": [
            [
                stay.entry_date.isoformat(),
                stay.exit_date.isoformat() if stay.exit_date else None,
                stay.exit_destination,
            ]
            for stay in member.stays
        ],
    }


def _member_of(stored: dict[str, Any]) -> CohortOutcome | PersonError:
    if "error" in stored:
        return PersonError.model_validate(stored["error"])
    return CohortOutcome(
        date.fromisoformat(stored["closed_on"]),
        [
            MatchedStay(
                date.fromisoformat(entry), date.fromisoformat(left) if left else None, destination
            )
            for entry, left, destination in stored["stays"]
        ],
    )


async def answer_chunk(
    matching: MatchingService, kind: str, owner: Principal, people: Sequence[object]
) -> tuple[list[dict[str, Any]], Tally]:
    """What a job of ``kind`` keeps of each person of a chunk, and the chunk's counts."""
    if kind == "matches":
        answers = await matching.answers(people, owner)
        results = await off_the_loop(
            lambda: person_results(answers), len(answers.found), INLINE_PEOPLE
        )
        return [result.model_dump(mode="json") for result in results], answers.tally()
    answers = await matching.answers(people, owner, CohortMember)
    return [_member_json(member) for member in cohort_members(answers)], answers.tally()


def report_json(stored: Sequence[dict[str, Any]], rules: MatchingRules) -> dict[str, Any]:
    """The outcome report of a cohort from what the job kept of each member, in cohort order."""
    return cohort_report([_member_of(member) for member in stored], rules).model_dump(mode="json")
