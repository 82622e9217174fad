"""POST /matching/matches, the original's /matching/return_user_info, and outcome reports.

Their bodies are read as they stream in (matching/json_lists.py; matches and reports also take
CSV, matches/cohorts.py) and each person validated on its own: a person that cannot be matched
gets an error in their own result, and every other person is answered. A cohort larger than one
request runs as a job (matching/jobs/).
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from common.docs import documented_body
from common.errors import Unprocessable
from common.problems import documented_problem
from matching.dependencies import Asker, MatchingSettings
from matching.jobs.dependencies import Jobs
from matching.jobs.routes import accepted
from matching.jobs.schemas import JobOut
from matching.json_lists import read_json_lists
from matching.matches.cohorts import MEMBERS, PEOPLE, cohort_people, first_people
from matching.matches.dependencies import Matching
from matching.matches.responses import (
    cohort_members,
    cohort_report,
    original_answer,
    person_results,
)
from matching.matches.schemas import (
    MatchRequest,
    MatchResults,
    OutcomeReport,
    OutcomeRequest,
    ReturnUserInfoRequest,
    ReturnUserInfoResponse,
)
from matching.offload import INLINE_PEOPLE, off_the_loop

Responses = dict[int | str, dict[str, Any]]
router = APIRouter(prefix="/matching", tags=["matches"])
BULK_PROBLEMS: Responses = {
    413: documented_problem("The body is larger than the bulk limit"),
    422: documented_problem(
        "The body is not a JSON object of the documented lists, or a list is empty or too long "
        "(refused as it is read); a person that cannot be matched is an error in its own result"
    ),
    429: documented_problem("The caller's budget of people per hour or day is spent; Retry-After"),
}


COHORT_PROBLEMS: Responses = {
    **BULK_PROBLEMS,
    202: {
        "description": "More people than one request answers: a job, at the Location given",
        "model": JobOut,
    },
    400: documented_problem("The CSV cannot be read (encoding, header, a ragged or endless row)"),
    415: documented_problem("The body is neither application/json nor text/csv"),
}


async def _json_response(shape: Callable[[], BaseModel], people: int) -> Response:
    """The answer of ``people`` shaped and rendered, in a thread for a batch: its models and
    JSON are CPU work the event loop need not do (offload.py)."""
    body = await off_the_loop(lambda: shape().model_dump_json(), people, INLINE_PEOPLE)
    return Response(body, media_type="application/json")


@router.post(
    "/matches",
    summary="Complete and partial matches of each person among all enrollments (utility, admin)",
    description='JSON `{"people": [...]}`, or `text/csv` with the columns first_name, '
    "last_name, dob, ssn (a header line, UTF-8; any may be left out). More people than "
    "MATCHING_MAX_PEOPLE_PER_REQUEST run as a job: 202 with its Location. (The CSV body is "
    "described here, not in the request body's schema: client generators cannot handle a body "
    "of two media types.)",
    response_model=MatchResults,
    responses=COHORT_PROBLEMS,
    openapi_extra=documented_body(MatchRequest),
)
async def match_people(
    request: Request, caller: Asker, matching: Matching, jobs: Jobs, settings: MatchingSettings
) -> Response:
    people = await cohort_people(request, PEOPLE, settings.max_people_per_job)
    first, everyone = await first_people(people, settings.max_people_per_request)
    if everyone is not None:
        return accepted(await jobs.submit("matches", caller, everyone), jobs)
    answers = await matching.matches(first, caller)
    return await _json_response(lambda: MatchResults(results=person_results(answers)), len(first))


@router.post(
    "/return_user_info",
    summary="The original's request: last names and SSNs, answered in the original's shape",
    response_model=ReturnUserInfoResponse,
    responses=BULK_PROBLEMS,
    openapi_extra=documented_body(ReturnUserInfoRequest),
)
async def return_user_info(
    request: Request, caller: Asker, matching: Matching, settings: MatchingSettings
) -> Response:
    limit = settings.max_people_per_request
    body = await read_json_lists(request.stream(), {"last_name": limit, "ssn": limit})
    if len(body["last_name"]) != len(body["ssn"]):
        raise Unprocessable("last_name and ssn must be lists of the same length")
    answers = await matching.return_user_info(body["last_name"], body["ssn"], caller)
    return await _json_response(lambda: original_answer(answers), len(answers.found))


@router.post(
    "/reports/outcomes",
    summary="What became of a cohort of ex-customers, small counts suppressed (utility, admin)",
    description='JSON `{"cohort": [...]}`, or `text/csv` with the columns first_name, '
    "last_name, dob, ssn, account_closed_on. A cohort larger than "
    "MATCHING_MAX_PEOPLE_PER_REQUEST runs as a job: 202 with its Location; the done job "
    "carries the report.",
    response_model=OutcomeReport,
    responses=COHORT_PROBLEMS,
    openapi_extra=documented_body(OutcomeRequest),
)
async def outcome_report(
    request: Request, caller: Asker, matching: Matching, jobs: Jobs, settings: MatchingSettings
) -> Response:
    members = await cohort_people(request, MEMBERS, settings.max_people_per_job)
    first, everyone = await first_people(members, settings.max_people_per_request)
    if everyone is not None:
        return accepted(await jobs.submit("outcome_report", caller, everyone), jobs)
    answers = await matching.outcome_report(first, caller)
    return await _json_response(
        lambda: cohort_report(cohort_members(answers), matching.rules), len(first)
    )
