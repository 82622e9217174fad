"""POST /matching/matches, the original's /matching/return_user_info, and outcome reports."""

from datetime import timedelta
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from common.database import DbSession
from common.problems import documented_problem
from matching.dependencies import Asker, Clock, Hasher, MatchingSettings
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
    422: documented_problem("A person is not valid (named by its index), or too many people"),
    429: documented_problem(
        "The caller's hourly or daily budget of people is spent; see Retry-After"
    ),
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
        max_people=settings.max_people_per_request,
        report_min_count=settings.report_min_count,
        report_rounding=settings.report_rounding,
    )
    limits = ProbeLimits(
        window=timedelta(seconds=settings.probe_window_seconds),
        max_ssn_variants=settings.max_ssn_variants,
        max_dob_variants=settings.max_dob_variants,
        max_variants_per_name=settings.max_variants_per_name,
        people_per_hour=settings.people_per_hour,
        people_per_day=settings.people_per_day,
    )
    guard = ProbeGuard(session, hasher, limits, now)
    return MatchingService(session, hasher, _model(), rules, guard)


Matching = Annotated[MatchingService, Depends(_matching_service)]


@router.post(
    "/matches",
    summary="Complete and partial matches of each person among all enrollments (utility, admin)",
    responses=BULK_PROBLEMS,
)
async def match_people(data: MatchRequest, caller: Asker, matching: Matching) -> MatchResults:
    return MatchResults(results=await matching.matches(data.people, caller))


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
    responses=BULK_PROBLEMS,
)
async def outcome_report(data: OutcomeRequest, caller: Asker, matching: Matching) -> OutcomeReport:
    closed_on = [member.account_closed_on for member in data.cohort]
    return await matching.outcome_report(data.cohort, closed_on, caller)
