"""POST /matching/matches, the original's /matching/return_user_info, and outcome reports."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from common.database import DbSession
from common.problems import documented_problem
from matching.dependencies import Asker, MatchingSettings
from matching.jobs.dependencies import Jobs
from matching.jobs.routes import accepted
from matching.jobs.schemas import JobOut
from matching.matches.cohorts import MEMBERS, PEOPLE, CohortShape, cohort_people, first_people
from matching.matches.schemas import (
    CohortMember,
    MatchResults,
    OutcomeReport,
    PersonQuery,
    ReturnUserInfoRequest,
    ReturnUserInfoResponse,
)
from matching.matches.service import MatchingService, matching_service

Responses = dict[int | str, dict[str, Any]]
router = APIRouter(prefix="/matching", tags=["matches"])
BULK_PROBLEMS: Responses = {
    413: documented_problem("The body is larger than the bulk limit"),
    422: documented_problem("A person is not valid (named by its index), or too many people"),
}
COHORT_PROBLEMS: Responses = {
    **BULK_PROBLEMS,
    202: {
        "description": "More people than one request answers: a job, at the Location given",
        "model": JobOut,
    },
    400: documented_problem("The CSV cannot be read (encoding, header, an endless record)"),
    415: documented_problem("The body is neither application/json nor text/csv"),
}


def cohort_body(shape: CohortShape) -> dict[str, Any]:
    """``openapi_extra`` of a cohort route: a JSON body, or CSV with the same columns."""
    columns = ",".join(shape.columns.fields)
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string", "example": columns}},
            },
        }
    }


async def _matching_service(session: DbSession, settings: MatchingSettings) -> MatchingService:
    return matching_service(session, settings)


Matching = Annotated[MatchingService, Depends(_matching_service)]


@router.post(
    "/matches",
    summary="Complete and partial matches of each person among all enrollments (utility, admin)",
    description='JSON `{"people": [...]}`, or `text/csv` with the columns first_name, '
    "last_name, dob, ssn (header line, UTF-8). More people than MATCHING_MAX_PEOPLE_PER_REQUEST "
    "run as a job: 202 with its Location.",
    response_model=MatchResults,
    responses=COHORT_PROBLEMS,
    openapi_extra=cohort_body(PEOPLE),
)
async def match_people(
    request: Request, caller: Asker, matching: Matching, jobs: Jobs, settings: MatchingSettings
) -> MatchResults | Response:
    people = cohort_people(request, PEOPLE)
    first, everyone = await first_people(people, settings.max_people_per_request)
    if everyone is not None:
        return accepted(await jobs.submit("matches", caller, everyone), jobs)
    questions = [PersonQuery.model_validate(person) for person in first]
    return MatchResults(results=await matching.matches(questions, caller))


@router.post(
    "/return_user_info",
    summary="The original's request: last names and SSNs, answered in the original's shape",
    responses=BULK_PROBLEMS,
)
async def return_user_info(
    data: ReturnUserInfoRequest, caller: Asker, matching: Matching
) -> ReturnUserInfoResponse:
    return await matching.return_user_info(data.last_name, data.ssn, caller)


@router.post(
    "/reports/outcomes",
    summary="What became of a cohort of ex-customers, small counts suppressed (utility, admin)",
    description='JSON `{"cohort": [...]}`, or `text/csv` with the columns first_name, '
    "last_name, dob, ssn, account_closed_on. A cohort larger than "
    "MATCHING_MAX_PEOPLE_PER_REQUEST runs as a job: 202 with its Location; the done job "
    "carries the report.",
    response_model=OutcomeReport,
    responses=COHORT_PROBLEMS,
    openapi_extra=cohort_body(MEMBERS),
)
async def outcome_report(
    request: Request, caller: Asker, matching: Matching, jobs: Jobs, settings: MatchingSettings
) -> OutcomeReport | Response:
    members = cohort_people(request, MEMBERS)
    first, everyone = await first_people(members, settings.max_people_per_request)
    if everyone is not None:
        return accepted(await jobs.submit("outcome_report", caller, everyone), jobs)
    cohort = [CohortMember.model_validate(member) for member in first]
    closed_on = [member.account_closed_on for member in cohort]
    return await matching.outcome_report(cohort, closed_on, caller)
