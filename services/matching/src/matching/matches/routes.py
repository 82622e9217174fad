"""POST /matching/matches, the original's /matching/return_user_info, and outcome reports.

Their bodies are read as they stream in (matching/json_lists.py) and each person validated on
its own: a person that cannot be matched gets an error in their own result, and every other
person is answered.
"""

import asyncio
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from common.database import DbSession
from common.docs import documented_body
from common.errors import Unprocessable
from common.problems import documented_problem
from matching.dependencies import Asker, Clock, Hasher, MatchingSettings
from matching.json_lists import read_json_lists
from matching.matches.model import FellegiSunterModel
from matching.matches.schemas import (
    MatchRequest,
    MatchResults,
    OutcomeReport,
    OutcomeRequest,
    ReturnUserInfoRequest,
    ReturnUserInfoResponse,
)
from matching.matches.service import MatchingRules, MatchingService
from matching.probes.service import ProbeGuard, ProbeLimits

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


@cache
def _model() -> FellegiSunterModel:
    return FellegiSunterModel.default()


async def _matching_service(
    session: DbSession, hasher: Hasher, settings: MatchingSettings, now: Clock
) -> MatchingService:
    rules = MatchingRules(
        partial_min_weight=settings.partial_min_weight,
        max_partial_matches=settings.max_partial_matches,
        report_min_count=settings.report_min_count,
        report_rounding=settings.report_rounding,
    )
    guard = ProbeGuard(session, hasher, ProbeLimits.of(settings), now)
    return MatchingService(session, hasher, _model(), rules, guard)


Matching = Annotated[MatchingService, Depends(_matching_service)]


async def _json_response(model: BaseModel) -> Response:
    """The answer rendered in a thread: a batch's JSON is CPU work the event loop need not do."""
    return Response(await asyncio.to_thread(model.model_dump_json), media_type="application/json")


@router.post(
    "/matches",
    summary="Complete and partial matches of each person among all enrollments (utility, admin)",
    response_model=MatchResults,
    responses=BULK_PROBLEMS,
    openapi_extra=documented_body(MatchRequest),
)
async def match_people(
    request: Request, caller: Asker, matching: Matching, settings: MatchingSettings
) -> Response:
    body = await read_json_lists(request.stream(), {"people": settings.max_people_per_request})
    results = await matching.matches(body["people"], caller)
    return await _json_response(MatchResults(results=results))


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
    answer = await matching.return_user_info(body["last_name"], body["ssn"], caller)
    return await _json_response(answer)


@router.post(
    "/reports/outcomes",
    summary="What became of a cohort of ex-customers, small counts suppressed (utility, admin)",
    response_model=OutcomeReport,
    responses=BULK_PROBLEMS,
    openapi_extra=documented_body(OutcomeRequest),
)
async def outcome_report(
    request: Request, caller: Asker, matching: Matching, settings: MatchingSettings
) -> Response:
    body = await read_json_lists(request.stream(), {"cohort": settings.max_people_per_request})
    return await _json_response(await matching.outcome_report(body["cohort"], caller))
