"""The per-request objects the /matching/matches routes ask for."""

from functools import cache
from typing import Annotated

from fastapi import Depends

from common.database import DbSession
from matching.dependencies import Clock, Hasher, MatchingSettings
from matching.matches.fellegi_sunter import FellegiSunterModel
from matching.matches.service import MatchingRules, MatchingService
from matching.probes.service import ProbeGuard, ProbeLimits


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
